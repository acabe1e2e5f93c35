"""What the autoscaler should look like now, and the writes that get it there.

Pure: the clock comes in as `now`, nothing here reads or writes anything. First the verdict
(which clusters hold the pause, the resume grace, the stuck-pause alarm), then one step per
target, for a pause or for a resume; then the records the run leaves behind.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import NamedTuple

from .config import Config
from .model import (
    SUSPENDED,
    Change,
    Cluster,
    Failure,
    Observed,
    PauseRecord,
    RunRecord,
    Setting,
    TargetView,
    Why,
    iso,
    parse_iso,
    paused_seconds,
)


@dataclass(frozen=True)
class Verdict:
    pause: bool  # whether the autoscaler should be paused after this run
    reason: str
    holding: tuple[str, ...] = ()  # ids of the clusters that hold the pause
    ignored: tuple[str, ...] = ()  # ids of active clusters that no longer may
    alarm: str | None = None  # the pause is over max_pause_minutes


@dataclass(frozen=True)
class Plan:
    verdict: Verdict
    changes: tuple[Change, ...]
    saved: Mapping[str, Setting]  # pre-pause settings to record once the changes are made


class Step(NamedTuple):
    change: Change | None
    saved: Setting | None  # the target's pre-pause setting to record, if any


NOTHING = Step(None, None)


def decide(observed: Observed, record: PauseRecord, config: Config, now: datetime) -> Plan:
    verdict = judge(observed.clusters, record, config, now)
    step = pause_step if verdict.pause else resume_step
    changes, saved = [], {}
    for target in observed.targets:
        known = target.saved if target.saved is not None else record.saved.get(target.key)
        change, pre_pause = step(target, known, record)
        if change is not None:
            changes.append(change)
        if pre_pause is not None:
            saved[target.key] = pre_pause
    if verdict.pause:  # a target this run did not read (the service's scaling target) keeps its
        seen = {target.key for target in observed.targets}
        saved.update({k: v for k, v in record.saved.items() if k not in seen})
    return Plan(verdict, tuple(changes), saved)


# --- the verdict -------------------------------------------------------------------------------


def judge(
    clusters: Sequence[Cluster], record: PauseRecord, config: Config, now: datetime
) -> Verdict:
    """Whether the autoscaler should be paused, and why.

    | matching clusters | the pause so far                     | verdict                         |
    |-------------------|--------------------------------------|---------------------------------|
    | none              | none, or no cluster seen within grace | resume                         |
    | none              | one was seen less than grace ago     | pause (grace)                   |
    | only ignored ones | any                                  | as if there were none           |
    | some              | under max_pause_minutes (or 0)       | pause                           |
    | some              | over it                              | pause, alarm                    |
    | some              | over it, force_resume_after_max_pause | resume, alarm; they are ignored |
    """
    ignored = {c.id for c in clusters if c.id in record.ignored_clusters}
    holding = tuple(c for c in clusters if c.id not in ignored)
    reason = describe_clusters(holding, config.emr_prefix)
    if ignored:
        reason += f" ({len(ignored)} more held a pause past max_pause_minutes and are ignored)"
    if not holding:
        return _without_clusters(record, config, now, reason, tuple(sorted(ignored)))
    held = tuple(c.id for c in holding)
    over = _over_limit(record, config, now, reason)
    if over is None:
        return Verdict(True, reason, held, tuple(sorted(ignored)))
    if not config.force_resume_after_max_pause:
        alarm = over + "; a stuck backup cluster? the autoscaler stays paused"
        return Verdict(True, reason, held, tuple(sorted(ignored)), alarm)
    alarm = (
        over + "; resumed anyway (force_resume_after_max_pause), and these clusters hold no "
        "further pause"
    )
    return Verdict(False, alarm, (), tuple(sorted(ignored | set(held))), alarm)


def _without_clusters(
    record: PauseRecord, config: Config, now: datetime, reason: str, ignored: tuple[str, ...]
) -> Verdict:
    """No cluster holds a pause: resume, unless the last one was seen within the grace."""
    last_seen = parse_iso(record.last_seen_active_at)
    if not (record.paused and last_seen and config.resume_grace_seconds):
        return Verdict(False, reason, (), ignored)
    quiet = (now - last_seen).total_seconds()
    if quiet >= config.resume_grace_seconds:
        return Verdict(False, reason, (), ignored)
    waiting = (
        f"; the last was seen {quiet:.0f}s ago, resume waits "
        f"{config.resume_grace_seconds:g}s (resume_grace_seconds)"
    )
    return Verdict(True, reason + waiting, (), ignored)


def _over_limit(record: PauseRecord, config: Config, now: datetime, reason: str) -> str | None:
    """The alarm's text when the pause has lasted longer than max_pause_minutes, else None."""
    seconds = paused_seconds(record, now)
    if seconds is None or not config.max_pause_minutes:
        return None
    minutes = seconds / 60
    if minutes <= config.max_pause_minutes:
        return None
    return (
        f"paused for {minutes:.0f} min since {record.paused_at}, over max_pause_minutes="
        f"{config.max_pause_minutes:g}: {reason}"
    )


def describe_clusters(clusters: Sequence[Cluster], prefixes: Sequence[str]) -> str:
    match = ", ".join(repr(p) for p in prefixes)
    if not clusters:
        return f"no active cluster matches {match}"
    ids = ", ".join(c.id for c in clusters[:10]) + (", …" if len(clusters) > 10 else "")
    used = ", ".join(repr(p) for p in dict.fromkeys(c.prefix for c in clusters))
    noun = "cluster matches" if len(clusters) == 1 else "clusters match"
    return f"{len(clusters)} active {noun} {used} ({ids})"


# --- one step per target -------------------------------------------------------------------------


def pause_step(target: TargetView, known: Setting | None, record: PauseRecord) -> Step:
    """One target while the autoscaler is to be paused. `known`: its pre-pause setting as
    recorded, on AWS first, else in the pause record.

    | the target now | its pre-pause setting            | change                      | recorded |
    |----------------|----------------------------------|-----------------------------|----------|
    | not paused     | not known                        | pause, saving the setting   | setting  |
    | not paused     | known (lifted during the backup) | pause, saving it where gone | known    |
    | paused         | known on AWS                     | none                        | known    |
    | paused         | known, its record on AWS gone    | save it on AWS again        | known    |
    | paused         | not known: paused before ours    | keep earlier: save it       | setting  |
    | paused         | not known, otherwise             | none                        | nothing  |
    """
    if target.current != target.paused_value:
        pre_pause = known if known is not None else target.current
        save = pre_pause if target.saved != pre_pause else None
        pause = Change(
            target.key, target.label, Why.PAUSE, target.current, target.paused_value, save=save
        )
        return Step(pause, pre_pause)
    if known is not None:
        if not target.saves_on_aws or target.saved is not None:
            return Step(None, known)
        save = Change(target.key, target.label, Why.SAVE, target.current, None, save=known)
        return Step(save, known)
    if paused_by_someone_else(target, known, record):
        earlier = Change(
            target.key, target.label, Why.KEEP_EARLIER, target.current, None, save=target.current
        )
        return Step(earlier, target.current)
    return NOTHING


def resume_step(target: TargetView, known: Setting | None, record: PauseRecord) -> Step:
    """One target while the autoscaler is to run. `known` as for pause_step.

    | the target now | its pre-pause setting               | change                             |
    |----------------|-------------------------------------|------------------------------------|
    | paused         | not known: someone else paused it   | none: it stays paused              |
    | paused         | known                               | resume to it; forget it on AWS     |
    | paused         | not known anywhere                  | resume to the kind's default       |
    | paused         | known, and the same as now          | clear the record on AWS, if any    |
    | not paused     | still recorded on AWS (or garbled)  | clear that record                  |
    | not paused     | not recorded on AWS                 | none                               |
    """
    if target.current != target.paused_value:
        return Step(_clear(target), None) if target.recorded else NOTHING
    if paused_by_someone_else(target, known, record):
        return NOTHING
    goal = known if known is not None else target.resume_default
    if goal == target.current:
        return Step(_clear(target), None) if target.recorded else NOTHING
    why = Why.RESUME if known is not None else Why.RESUME_DEFAULT
    resume = Change(target.key, target.label, why, target.current, goal, forget=target.recorded)
    return Step(resume, None)


def _clear(target: TargetView) -> Change:
    return Change(target.key, target.label, Why.CLEAR, target.current, None, forget=True)


def paused_by_someone_else(target: TargetView, known: Setting | None, record: PauseRecord) -> bool:
    """A target of a kind that keeps earlier pauses, found paused with nothing recorded while
    no pause of ours was on (and an earlier run would have known of one)."""
    return target.keeps_earlier_pause and known is None and not record.fresh and not record.paused


# --- the records the run leaves ------------------------------------------------------------------


def next_pause_record(
    before: PauseRecord, plan: Plan, failures: Mapping[str, Failure], now: datetime
) -> PauseRecord:
    """The pause record after the plan was carried out. A pre-pause setting is dropped only once
    its resume succeeded; a failed resume is retried as one."""
    stamp = iso(now)
    saved = dict(plan.saved)
    for key in failures:
        if key in before.saved:
            saved.setdefault(key, before.saved[key])
    undone = any(not failure.changed for failure in failures.values())
    paused = plan.verdict.pause or undone
    began = before.paused_at if before.paused and before.paused_at else stamp
    return PauseRecord(
        paused=paused,
        paused_at=began if paused else None,
        last_seen_active_at=stamp if plan.verdict.holding else before.last_seen_active_at,
        ignored_clusters=plan.verdict.ignored,
        alarm=plan.verdict.alarm,
        saved=saved,
        failsafe=before.failsafe,
        fresh=False,
    )


def intent_record(before: PauseRecord, plan: Plan, now: datetime) -> PauseRecord | None:
    """The pause record to write before acting, when the plan saves a pre-pause setting the
    record does not hold yet: the record as if every change succeeds, so that a run that dies
    between its changes and its record leaves them recorded. Else None."""
    if not plan.verdict.pause:
        return None
    if all(before.saved.get(key) == value for key, value in plan.saved.items()):
        return None
    return next_pause_record(before, plan, {}, now)


@dataclass(frozen=True)
class FailsafePlan:
    arm: Mapping[str, Setting]  # target key -> the setting its schedule restores
    disarm: tuple[str, ...]  # target keys whose schedules go
    due: str  # when the armed schedules fire


def failsafe_plan(
    record: PauseRecord, minutes: float, now: datetime, paused: Collection[str] = ()
) -> FailsafePlan:
    """The failsafe schedules to set and to remove after a run that leaves `record`, having
    paused the targets of `paused` (a schedule of theirs may have fired: set it again).

    | the target in the record               | its schedule               | step                  |
    |----------------------------------------|----------------------------|-----------------------|
    | paused, with a setting to restore      | none, or due within half   | set, due `minutes` on |
    | paused by this run                     | any                        | set, due `minutes` on |
    | paused, with a setting to restore      | due later than that        | none                  |
    | not paused, or nothing to restore      | any                        | remove                |
    | any, the failsafe off (`minutes` 0)    | any                        | remove                |
    """
    due = iso(now + timedelta(minutes=minutes))
    wanted = {
        key: setting
        for key, setting in record.saved.items()
        if record.paused and minutes > 0 and setting not in (0, SUSPENDED)
    }
    soon = now + timedelta(minutes=minutes / 2)
    arm = {
        key: setting
        for key, setting in wanted.items()
        if key in paused
        or key not in record.failsafe
        or (parse_iso(record.failsafe[key]) or now) < soon
    }
    disarm = tuple(key for key in record.failsafe if key not in wanted)
    return FailsafePlan(arm, disarm, due)


def merge_pause_records(theirs: PauseRecord, ours: PauseRecord, plan: Plan) -> PauseRecord:
    """Another run wrote the pause record while this one acted: theirs stands, with the
    pre-pause setting of each target this run changed added where theirs has none, so that no
    setting this run saved is lost."""
    saved = dict(theirs.saved)
    for change in plan.changes:
        if change.key in ours.saved:
            saved.setdefault(change.key, ours.saved[change.key])
    return replace(theirs, saved=saved)


def next_run_record(
    before: RunRecord,
    plan: Plan,
    observed: Observed,
    failures: Mapping[str, Failure],
    now: datetime,
    warnings: Sequence[str] = (),
) -> RunRecord:
    """This host's record of a run that got as far as acting."""
    stamp = iso(now)
    action = _action(plan, failures)
    failed = [c for c in plan.changes if c.key in failures and not failures[c.key].left]
    wrote = action != "none"
    return RunRecord(
        last_action=action if wrote else before.last_action,  # the last write, and when
        last_action_at=stamp if wrote else before.last_action_at,
        last_run_at=stamp,
        last_result="error" if failed else "ok",
        last_error="; ".join(failures[c.key].error for c in failed) or None,
        last_success_at=before.last_success_at if failed else stamp,
        active_clusters=observed.clusters,
        failed_targets=tuple(c.label for c in failed),
        warnings=tuple(warnings),
        planned=len([c for c in plan.changes if c.after is not None]),
        pending=len([f for f in failures.values() if f.left]),
    )


def _action(plan: Plan, failures: Mapping[str, Failure]) -> str:
    """pause or resume when a setting was written, else none."""
    for change in plan.changes:
        failure = failures.get(change.key)
        if change.after is not None and (failure is None or failure.changed):
            return "pause" if plan.verdict.pause else "resume"
    return "none"


def failsafe_errors(run: RunRecord, before: RunRecord, errors: Sequence[str]) -> RunRecord:
    """The run record of a run whose failsafe schedules could not all be set."""
    last_error = "; ".join([*([run.last_error] if run.last_error else []), *errors])
    return replace(
        run, last_result="error", last_error=last_error, last_success_at=before.last_success_at
    )


def failed_run_record(before: RunRecord, error: str, now: datetime) -> RunRecord:
    """This host's record of a run that failed before it could act."""
    return replace(before, last_run_at=iso(now), last_result="error", last_error=error, warnings=())
