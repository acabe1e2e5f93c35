"""What the autoscaler should look like now, and the writes that get it there. Pure."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .config import Config
from .state import State, iso, parse_iso, paused_seconds

if TYPE_CHECKING:
    from .aws import AwsError


@dataclass(frozen=True)
class Cluster:
    id: str
    name: str
    state: str
    prefix: str


@dataclass(frozen=True)
class TargetView:
    """One thing the tool can pause, as observed, with its kind's rules as plain data."""

    key: str  # stable id in the state file
    label: str  # name in log lines
    current: Any  # the setting now: a desired count, or a (in, out, scheduled) suspension tuple
    saved: Any  # the pre-pause setting recorded on AWS itself, or None
    paused_value: Any  # the setting that means "paused"
    resume_default: Any  # the setting to resume to when no earlier one is known anywhere
    # Found already paused when a pause begins: someone else paused it, so it stays paused on
    # resume. (A service found at 0 is resumed to resume_count instead, as the original tool did.)
    keeps_earlier_pause: bool = False


@dataclass(frozen=True)
class Change:
    key: str
    label: str
    before: Any
    after: Any  # None: the setting is left as it is
    save: Any = None  # pre-pause setting to record on AWS before the change, or None
    forget: bool = False  # remove the record on AWS after the change


@dataclass(frozen=True)
class Observed:
    clusters: tuple[Cluster, ...]
    targets: tuple[TargetView, ...]


@dataclass(frozen=True)
class Plan:
    pause: bool  # whether the autoscaler should be paused after this run
    changes: tuple[Change, ...]
    saved: Mapping[str, Any]  # pre-pause settings to record once the changes are made
    reason: str
    holding: tuple[str, ...] = ()  # ids of the clusters that hold the pause
    ignored: tuple[str, ...] = ()  # ids of active clusters that no longer may
    alarm: str | None = None  # the pause is over max_pause_minutes


def describe_clusters(clusters: Sequence[Cluster], prefixes: Sequence[str]) -> str:
    match = ", ".join(repr(p) for p in prefixes)
    if not clusters:
        return f"no active cluster matches {match}"
    ids = ", ".join(c.id for c in clusters[:10]) + (", …" if len(clusters) > 10 else "")
    used = ", ".join(repr(p) for p in dict.fromkeys(c.prefix for c in clusters))
    noun = "cluster matches" if len(clusters) == 1 else "clusters match"
    return f"{len(clusters)} active {noun} {used} ({ids})"


def decide(observed: Observed, state: State, config: Config, now: datetime) -> Plan:
    """What the autoscaler should look like now, and the writes that get it there. Pure."""
    active = {c.id for c in observed.clusters}
    ignored = {cid for cid in state.ignored_clusters if cid in active}
    holding = tuple(c for c in observed.clusters if c.id not in ignored)
    reason = describe_clusters(holding, config.emr_prefix)
    if ignored:
        reason += f" ({len(ignored)} more held a pause past max_pause_minutes and are ignored)"
    pause, alarm = bool(holding), None
    last_seen = parse_iso(state.last_seen_active_at)
    if not pause and state.paused and last_seen and config.resume_grace_seconds:
        quiet = (now - last_seen).total_seconds()
        if quiet < config.resume_grace_seconds:
            pause = True
            reason += (
                f"; the last was seen {quiet:.0f}s ago, resume waits "
                f"{config.resume_grace_seconds:g}s (resume_grace_seconds)"
            )
    seconds = paused_seconds(state, now)
    if holding and seconds is not None and config.max_pause_minutes:
        minutes = seconds / 60
        if minutes > config.max_pause_minutes:
            over = (
                f"paused for {minutes:.0f} min since {state.paused_at}, over max_pause_minutes="
                f"{config.max_pause_minutes:g}: {reason}"
            )
            if config.force_resume_after_max_pause:
                ignored |= {c.id for c in holding}
                pause, holding = False, ()
                alarm = over + "; resumed anyway (force_resume_after_max_pause), and these "
                alarm += "clusters hold no further pause"
                reason = alarm
            else:
                alarm = over + "; a stuck backup cluster? the autoscaler stays paused"
    changes: list[Change] = []
    saved: dict[str, Any] = {}
    for t in observed.targets:
        known = t.saved if t.saved is not None else state.saved.get(t.key)
        if pause:
            if t.current != t.paused_value:
                # Someone may have lifted it during the backup: keep the first pre-pause setting.
                keep = known if known is not None else t.current
                changes.append(
                    Change(
                        t.key,
                        t.label,
                        t.current,
                        t.paused_value,
                        save=keep if t.saved != keep else None,
                    )
                )
                saved[t.key] = keep
            elif known is not None:
                saved[t.key] = known
            elif t.keeps_earlier_pause and not state.fresh and not state.paused:
                # Paused by someone else before this pause began: it stays so on resume.
                changes.append(Change(t.key, t.label, t.current, None, save=t.current))
                saved[t.key] = t.current
        elif t.current == t.paused_value:
            if known is None and t.keeps_earlier_pause and not (state.fresh or state.paused):
                continue  # paused by someone else while this tool was not pausing: leave it
            target = known if known is not None else t.resume_default
            changes.append(
                Change(
                    t.key,
                    t.label,
                    t.current,
                    target if target != t.current else None,
                    forget=t.saved is not None,
                )
            )
        elif t.saved is not None:
            # Resumed by someone else: only the leftover record goes.
            changes.append(Change(t.key, t.label, t.current, None, forget=True))
    return Plan(
        pause,
        tuple(changes),
        saved,
        reason,
        holding=tuple(c.id for c in holding),
        ignored=tuple(sorted(ignored)),
        alarm=alarm,
    )


def next_state(
    before: State,
    plan: Plan | None,
    observed: Observed | None,
    failures: Sequence[tuple[Change, AwsError]],
    error: str | None,
    now: datetime,
) -> State:
    """The state to record. A pre-pause setting is dropped only once its resume succeeded."""
    stamp = iso(now)
    if plan is None or observed is None:
        return dataclasses.replace(
            before, last_run_at=stamp, last_result="error", last_error=error, fresh=False
        )
    failed = {c.key for c, _ in failures}
    saved = dict(plan.saved)
    for key in failed:
        if key in before.saved:
            saved.setdefault(key, before.saved[key])
    undone = {c.key for c, e in failures if not e.changed}
    wrote = [c for c in plan.changes if c.after is not None and c.key not in undone]
    action = ("pause" if plan.pause else "resume") if wrote else "none"
    clusters = tuple(
        {"id": c.id, "name": c.name, "state": c.state, "prefix": c.prefix}
        for c in observed.clusters
    )
    resume_failed = bool(undone) and not plan.pause
    paused = plan.pause or resume_failed  # a failed resume is retried as one
    return State(
        paused=paused,
        paused_at=(before.paused_at if before.paused and before.paused_at else stamp)
        if paused
        else None,
        last_seen_active_at=stamp if plan.holding else before.last_seen_active_at,
        last_success_at=before.last_success_at if failures else stamp,
        ignored_clusters=plan.ignored,
        alarm=plan.alarm,
        saved=saved,
        last_action=action,
        last_action_at=stamp if wrote else before.last_action_at,
        last_run_at=stamp,
        last_result="error" if failures else "ok",
        last_error="; ".join(str(e) for _, e in failures) or None,
        active_clusters=clusters,
        failed_targets=tuple(c.label for c, _ in failures),
        fresh=False,
    )
