"""The records a run leaves, and the failsafe schedules it sets and removes.

Pure, like decide: the pause record as it must be before the run acts (write-ahead) and after
it, the failsafe's plan, the pause record merged after a lost race, and this host's run record.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .decide import NO_HOLD, Plan
from .model import (
    Failure,
    Hold,
    Observed,
    PauseRecord,
    RunRecord,
    Schedule,
    Setting,
    iso,
    parse_iso,
)


def next_pause_record(
    before: PauseRecord, plan: Plan, failures: Mapping[str, Failure], now: datetime
) -> PauseRecord:
    """The pause record after the plan was carried out. A pre-pause setting is dropped only once
    its resume succeeded; a scope whose resume failed stays paused, and is resumed again."""
    stamp = iso(now)
    saved, created, unknown = kept_targets(before, plan, failures)
    undone = {c.scope for c in plan.changes if c.key in failures and not failures[c.key].changed}
    holds = {}
    for scope, verdict in plan.verdicts.items():
        earlier = before.holds.get(scope, NO_HOLD)
        paused = verdict.pause or scope in undone
        hold = Hold(
            paused_at=(earlier.paused_at or stamp) if paused else None,
            last_seen=stamp if verdict.holding else earlier.last_seen,
            holding=verdict.holding,
            ignored=verdict.ignored,
            alarm=verdict.alarm,
        )
        if paused or hold.ignored or hold.alarm:
            holds[scope] = hold
    return replace(
        before,
        holds=holds,
        saved=saved,
        clusters=dict(plan.clusters or {}),
        clusters_tag=plan.clusters_tag,
        fresh=False,
        created=created,
        unknown=unknown,
    )


def kept_targets(
    before: PauseRecord, plan: Plan, failures: Mapping[str, Failure]
) -> tuple[dict[str, Setting], dict[str, float], frozenset[str]]:
    """What the record holds of its targets after the plan: the plan's, and what the record held
    of each target whose change failed (or is not made yet)."""
    saved, created, unknown = dict(plan.saved), dict(plan.created), set(plan.unknown)
    for key in failures:
        if key in before.saved and key not in saved:
            saved[key] = before.saved[key]
            if key in before.created:
                created[key] = before.created[key]
        if key in before.unknown:
            unknown.add(key)
    return saved, created, frozenset(unknown)


NOT_YET = Failure("not made yet")  # a change, as the record before it is made has it


def intent_record(
    before: PauseRecord,
    plan: Plan,
    now: datetime,
    armed: Mapping[str, Schedule] | None = None,
) -> PauseRecord | None:
    """The pause record to write before acting (write-ahead), when the plan saves a pre-pause
    setting the record does not hold yet, or the run is to set failsafe schedules (`armed`, by
    target): the record with what the changes save, each schedule to set recorded as not yet
    known to be set, and what they restore or give back still held, as if those changes were
    not made yet: a run that dies between its writes and its record leaves nothing it saved or
    set unrecorded, and nothing it was to restore forgotten. Else None."""
    new_saved = plan.pause and any(before.saved.get(k) != v for k, v in plan.saved.items())
    if not new_saved and not armed:
        return None
    not_yet = {c.key: NOT_YET for c in plan.changes}
    intended = next_pause_record(before, plan, not_yet, now)
    unset = {key: replace(s, unset=True) for key, s in (armed or {}).items()}
    return replace(intended, schedules={**intended.schedules, **unset})


@dataclass(frozen=True)
class FailsafePlan:
    arm: Mapping[str, Setting]  # target key -> the setting its schedule restores
    disarm: Mapping[str, Schedule]  # target key -> its schedule, to delete
    forget: tuple[str, ...]  # schedules whose time has passed: they fired, or will; dropped
    due: str  # when the armed schedules fire

    def __bool__(self) -> bool:
        return bool(self.arm or self.disarm or self.forget)


def failsafe_plan(
    record: PauseRecord,
    minutes: float,
    group: str,
    now: datetime,
    paused: Collection[str] = (),
    *,
    region: Callable[[str], str],
    lead: float,
    pausing: Callable[[str], Setting],
) -> FailsafePlan:
    """The failsafe schedules to set, move and remove after a run that leaves `record`, having
    paused the targets of `paused` (a schedule of theirs may have fired: set it again). A
    target's schedule belongs in `group` and in `region(key)`. `soon`: half of `minutes` on, or
    `lead` seconds on if later (timing.failsafe_lead: a schedule due before then might fire
    before the next run moves it). `pausing(key)`: the setting that pauses the
    target of a key (its kind's).

    | the target in the record            | its schedule                  | step                  |
    |-------------------------------------|-------------------------------|-----------------------|
    | paused, with a setting to restore   | none, or due before `soon`    | set, due `minutes` on |
    | paused by this run                  | any                           | set, due `minutes` on |
    | paused, with a setting to restore   | due later than that           | none                  |
    | paused, with a setting to restore   | recorded, not known to be set | set, due `minutes` on |
    | paused, with a setting to restore   | in another group or region    | set where it belongs, |
    |                                     |                               | then the old removed  |
    | not paused, or nothing to restore   | due later than now            | remove                |
    | not paused, or nothing to restore   | due already                   | forget: it fired      |
    | any, the failsafe off (`minutes` 0) | as the two rows above         | remove or forget      |

    A schedule set in another place replaces the old one (Schedule.replaces, set by the
    failsafe), which is removed once the new one is set, in the same write.
    """
    due = iso(now + timedelta(minutes=minutes))
    wanted = {} if minutes <= 0 else _restorable(record.saved, pausing)
    soon = now + timedelta(seconds=max(minutes * 30, lead))
    arm = {
        key: setting
        for key, setting in wanted.items()
        if key in paused
        or _to_set(record.schedules.get(key), soon)
        or _elsewhere(record.schedules[key], group, region(key))
    }
    leaving = {key: s for key, s in record.schedules.items() if key not in wanted}
    fired = tuple(key for key, s in leaving.items() if _past(s, now))
    disarm = {key: s for key, s in leaving.items() if key not in fired}
    return FailsafePlan(arm, disarm, fired, due)


def _past(schedule: Schedule, now: datetime) -> bool:
    """Whether a schedule, and every one it replaces, is due already."""
    for each in (schedule, *schedule.replaces):
        due = parse_iso(each.due)
        if due is not None and due > now:
            return False
    return True


def _restorable(
    saved: Mapping[str, Setting], pausing: Callable[[str], Setting]
) -> dict[str, Setting]:
    """The saved settings a schedule would restore: not those of a target paused before ours."""
    return {key: setting for key, setting in saved.items() if setting != pausing(key)}


def _to_set(schedule: Schedule | None, soon: datetime) -> bool:
    """Whether a wanted schedule is to be set (again): none, not known to be set (or what it
    replaces not known to be removed), or due before `soon`."""
    if schedule is None or schedule.unset or schedule.replaces:
        return True
    due = parse_iso(schedule.due)
    return due is None or due < soon


def _elsewhere(schedule: Schedule, group: str, region: str) -> bool:
    return (schedule.group, schedule.region) != (group, region)


def merge_pause_records(theirs: PauseRecord, ours: PauseRecord, plan: Plan) -> PauseRecord:
    """Another run wrote the pause record while this one acted: theirs stands, with the
    pre-pause setting and the schedule of each target this run changed added where theirs has
    none, so that nothing this run saved or set is lost."""
    saved, schedules = dict(theirs.saved), dict(theirs.schedules)
    created = dict(theirs.created)
    for key in [c.key for c in plan.changes] + list(ours.schedules):
        if key in ours.saved and key not in saved:
            saved[key] = ours.saved[key]
            if key in ours.created:
                created[key] = ours.created[key]
        if key in ours.schedules:
            schedules.setdefault(key, ours.schedules[key])
    unknown = theirs.unknown | (ours.unknown - saved.keys())
    return replace(theirs, saved=saved, schedules=schedules, created=created, unknown=unknown)


def next_run_record(
    before: RunRecord,
    plan: Plan,
    observed: Observed,
    failures: Mapping[str, Failure],
    now: datetime,
    warnings: Sequence[str] = (),
    writes: int = 0,
) -> RunRecord:
    """This host's record of a run that got as far as acting. `writes`: the writes it was to
    make, failsafe schedules included; `failures` holds those it did not make."""
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
        planned=max(writes, len([c for c in plan.changes if c.after is not None])),
        pending=len([f for f in failures.values() if f.left]),
    )


def _action(plan: Plan, failures: Mapping[str, Failure]) -> str:
    """pause or resume when a setting was written, else none."""
    for change in plan.changes:
        failure = failures.get(change.key)
        if change.after is not None and (failure is None or failure.changed):
            return "pause" if plan.verdict(change.scope).pause else "resume"
    return "none"


def changed(plan: Plan, failures: Mapping[str, Failure]) -> int:
    """The targets whose setting the plan's changes set, less those that failed to."""
    unchanged = {key for key, failure in failures.items() if not failure.changed}
    return len([c for c in plan.changes if c.after is not None and c.key not in unchanged])


def failsafe_errors(run: RunRecord, before: RunRecord, errors: Sequence[str]) -> RunRecord:
    """The run record of a run whose failsafe schedules could not all be set."""
    last_error = "; ".join([*([run.last_error] if run.last_error else []), *errors])
    return replace(
        run, last_result="error", last_error=last_error, last_success_at=before.last_success_at
    )


def failed_run_record(before: RunRecord, error: str, now: datetime) -> RunRecord:
    """This host's record of a run that failed before it could act."""
    return replace(before, last_run_at=iso(now), last_result="error", last_error=error, warnings=())


def schedule_prefix(pauser: str) -> str:
    """How the name of each failsafe schedule of a pauser starts: a digest of the pauser's name,
    so that a run can list its own among those of the pausers sharing a group."""
    return hashlib.sha256(pauser.encode()).hexdigest()[:10] + "-"


def schedule_name(pauser: str, key: str) -> str:
    """A failsafe schedule's name: the pauser's prefix, the target's key made a name, and a
    digest of both; 64 characters at most, as Scheduler takes."""
    readable = re.sub(r"[^0-9a-zA-Z_.-]+", "-", key).strip("-")[:40]
    digest = hashlib.sha256(f"{pauser}\n{key}".encode()).hexdigest()[:12]
    return f"{schedule_prefix(pauser)}{readable}-{digest}"
