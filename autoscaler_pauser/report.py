"""What a run says: one line per target, before → after and why. A line is a lookup of the
change's reason, never a second copy of decide's reasoning."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from .decide import Plan
from .model import FLAG_WORDS, Change, Failure, Observed, Setting, Suspension, TargetView, Why

# why -> (done, dry run, failed), and the line's shape
VERBS = {
    Why.PAUSE: ("paused", "would pause", "could not pause"),
    Why.RESUME: ("resumed", "would resume", "could not resume"),
    Why.RESUME_DEFAULT: ("resumed", "would resume", "could not resume"),
    Why.KEEP_EARLIER: ("kept", "would keep", "could not keep"),
    Why.CLEAR: ("cleared", "would clear", "could not clear"),
    Why.SAVE: ("saved", "would save", "could not save"),
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
}


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
    reason = plan.verdict.reason
    same = [t for t in observed.targets if t.key not in changes]
    each_same = dry_run or len(same) == 1
    lines, left = [], 0
    for target in observed.targets:
        change, failure = changes.get(target.key), failures.get(target.key)
        line = target_line(target, change, reason, dry_run, failure)
        if change is None:
            level = logging.INFO if each_same else logging.DEBUG
        elif failure is not None and failure.left:
            left, level = left + 1, logging.DEBUG
        else:
            level = logging.ERROR if failure else logging.INFO
        lines.append((level, line))
    if same and not each_same:
        lines.append((logging.INFO, unchanged_line(same, reason)))
    if left:
        lines.append(
            (
                logging.WARNING,
                f"the run's time for writes was spent: {left:,} of {len(plan.changes):,} "
                "changes are left for the next run",
            )
        )
    return lines


def unchanged_line(same: list[TargetView], reason: str) -> str:
    paused = sum(t.current == t.paused_value for t in same)
    if paused == len(same):
        how = "paused"
    elif paused == 0:
        how = "running"
    else:
        how = f"as they are ({paused:,} paused, {len(same) - paused:,} running)"
    return f"no change: {len(same):,} targets stay {how}: {reason}"
