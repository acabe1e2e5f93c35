"""What a run says: one line per target, before → after and why. A line is a lookup of the
change's reason, never a second copy of decide's reasoning."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from .decide import Plan
from .model import (
    FLAG_WORDS,
    Change,
    Failure,
    Observed,
    Schedule,
    Setting,
    Suspension,
    TargetView,
    Why,
)
from .records import FailsafePlan

# why -> (done, dry run, failed), and the line's shape
VERBS = {
    Why.PAUSE: ("paused", "would pause", "could not pause"),
    Why.RESUME: ("resumed", "would resume", "could not resume"),
    Why.RESUME_DEFAULT: ("resumed", "would resume", "could not resume"),
    Why.KEEP_EARLIER: ("kept", "would keep", "could not keep"),
    Why.CLEAR: ("cleared", "would clear", "could not clear"),
    Why.SAVE: ("saved", "would save", "could not save"),
    Why.GIVE_BACK: ("gave back", "would give back", "could not give back"),
}
LINES = {
    Why.PAUSE: "{verb} {label} {before} → {after}: {reason}",
    Why.RESUME: "{verb} {label} {before} → {after}: {reason}",
    Why.RESUME_DEFAULT: (
        "{verb} {label} {before} → {after}: {reason}; its setting before the pause is not "
        "known anywhere, so {default}"
    ),
    Why.KEEP_EARLIER: "{verb} {label} at {before} after the pause too: it was paused before it",
    Why.CLEAR: "{verb} the leftover saved setting of {label}, at {before}: {reason}",
    Why.SAVE: "{verb} the pre-pause setting of {label}, {save}, on AWS again: its record was gone",
    Why.GIVE_BACK: (
        "{verb} {label} {before} → {after}, its setting from before the pause: the config no "
        "longer names it"
    ),
}
# A resume to a default is a guess: someone may have paused the target on purpose.
LEVELS = {Why.RESUME_DEFAULT: logging.WARNING}


def format_setting(value: Setting | None) -> str:
    if isinstance(value, Suspension):
        if all(value):
            return "suspended"
        if not any(value):
            return "scaling"
        return "suspended " + "+".join(n for n, v in zip(FLAG_WORDS, value, strict=True) if v)
    return str(value)


def target_line(
    target: TargetView,
    change: Change | None,
    reason: str,
    dry_run: bool,
    failure: Failure | None,
) -> str:
    if change is None:
        mode = "paused" if target.current == target.paused_value else "running"
        line = f"no change: {target.label} stays at {format_setting(target.current)} ({mode})"
        line += f": {reason}"
    else:
        done, would, could_not = VERBS[change.why]
        verb = could_not if failure and not failure.changed else would if dry_run else done
        line = LINES[change.why].format(
            verb=verb,
            label=target.label,
            before=format_setting(change.before),
            after=format_setting(change.after),
            save=format_setting(change.save),
            reason=reason,
            default=target.default_name,
        )
    return line if failure is None else f"{line}; {failure.error}"


def run_lines(
    plan: Plan,
    observed: Observed,
    dry_run: bool = False,
    failures: Mapping[str, Failure] | None = None,
) -> list[tuple[int, str]]:
    """What a run logs, with each line's level: one line for each target that changed or failed
    to; for the targets that did not change, one line in all (a line each under debug, in a dry
    run, or when there is only one); for changes left for the next run, one warning."""
    failures = failures or {}
    changes = {c.key: c for c in plan.changes}
    same = [t for t in observed.targets if t.key not in changes]
    each_same = dry_run or len(same) == 1
    lines = []
    for target in observed.targets:
        change, failure = changes.get(target.key), failures.get(target.key)
        reason = plan.verdict(target.scope).reason
        line = target_line(target, change, reason, dry_run, failure)
        lines.append((_level(change, failure, each_same), line))
    if same and not each_same:
        lines.append((logging.INFO, unchanged_line(same, same_reason(plan, same))))
    if plan.forgotten:
        lines.append((logging.INFO, forgotten_line(plan.forgotten)))
    left = len([f for f in failures.values() if f.left])
    if left:
        lines.append(
            (
                logging.WARNING,
                f"the run's time for writes was spent: {left:,} of {len(plan.changes):,} "
                "changes are left for the next run",
            )
        )
    return lines


def same_reason(plan: Plan, same: list[TargetView]) -> str:
    """Why the targets that stay as they are do: their one reason, or, where their tables are
    held by different clusters, the clusters of the run."""
    reasons = {plan.verdict(t.scope).reason for t in same}
    if len(reasons) == 1:
        return reasons.pop()
    if not any(plan.verdict(t.scope).pause for t in same):
        return f"no active cluster backs up their tables ({plan.reason})"
    return plan.reason


def _level(change: Change | None, failure: Failure | None, each_same: bool) -> int:
    """A target's line is info when it changed, error when it failed to, debug when it was left
    for the next run (one warning says so) or when it stays as it is among many."""
    if change is None:
        return logging.INFO if each_same else logging.DEBUG
    if failure is not None:
        return logging.DEBUG if failure.left else logging.ERROR
    return LEVELS.get(change.why, logging.INFO)


def forgotten_line(keys: tuple[str, ...]) -> str:
    shown = ", ".join(keys[:10]) + (", …" if len(keys) > 10 else "")
    return f"forgot the pre-pause settings of {len(keys):,} targets AWS no longer has: {shown}"


def unchanged_line(same: list[TargetView], reason: str) -> str:
    paused = sum(t.current == t.paused_value for t in same)
    if paused == len(same):
        how = "paused"
    elif paused == 0:
        how = "running"
    else:
        how = f"as they are ({paused:,} paused, {len(same) - paused:,} running)"
    return f"no change: {len(same):,} targets stay {how}: {reason}"


def failsafe_lines(
    plan: FailsafePlan | None,
    unset: Mapping[str, Failure],
    labels: Mapping[str, str],
    before: Mapping[str, Schedule],
    armed: Mapping[str, Schedule] | None = None,
) -> tuple[list[str], list[str]]:
    """What the failsafe's writes say: an error for each schedule that could not be set (or
    moved: `armed`, the schedules set, say from where), and one warning for those that could
    not be removed (they stay recorded until their time has passed). A write left for the next
    run says nothing here: it is pending."""
    if plan is None:
        return [], []
    armed = armed or {}
    errors = [
        _not_set(labels.get(key, key), armed.get(key), failure)
        for key, failure in unset.items()
        if key in plan.arm and not failure.left
    ]
    kept = [
        (key, failure) for key, failure in unset.items() if key in plan.disarm and not failure.left
    ]
    if not kept:
        return errors, []
    named = ", ".join(
        f"{before[key].name} in {_place(before[key])}, due {before[key].due}"
        for key, _ in kept[:10]
    ) + (", …" if len(kept) > 10 else "")
    warning = (
        f"could not remove {len(kept):,} failsafe schedules, kept in the pause record until they "
        f"are due: {named}; {kept[0][1].error}"
    )
    return errors, [warning]


def _not_set(label: str, schedule: Schedule | None, failure: Failure) -> str:
    if schedule is None or not schedule.replaces:
        return f"could not set the failsafe of {label}: {failure.error}"
    return (
        f"could not move the failsafe of {label} from {_places(schedule.replaces)} to "
        f"{_place(schedule)}: {failure.error}"
    )


def moved_line(moved: Mapping[str, Schedule]) -> str | None:
    """The failsafe schedules set in another place than before (each with those it replaced,
    now removed): one line, from where to where."""
    moved = {key: s for key, s in moved.items() if s.replaces}
    if not moved:
        return None
    old = [r for s in moved.values() for r in s.replaces]
    count = f"{len(moved):,} target" + ("s" if len(moved) != 1 else "")
    return f"moved the failsafe of {count} from {_places(old)} to {_places(list(moved.values()))}"


def _place(schedule: Schedule) -> str:
    return f"{schedule.group} ({schedule.region})"


def _places(schedules: list[Schedule] | tuple[Schedule, ...]) -> str:
    """The groups and regions of the schedules, each once."""
    return ", ".join(sorted({_place(s) for s in schedules}))
