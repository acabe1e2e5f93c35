"""What a run says: one line per target, before → after and why. A line is a lookup of the
change's reason, never a second copy of decide's reasoning."""

from __future__ import annotations

from collections.abc import Mapping

from .decide import Plan
from .model import Change, Failure, Observed, Setting, Suspension, TargetView, Why

# why -> (done, dry run, failed), and the line's shape
VERBS = {
    Why.PAUSE: ("paused", "would pause", "could not pause"),
    Why.RESUME: ("resumed", "would resume", "could not resume"),
    Why.RESUME_DEFAULT: ("resumed", "would resume", "could not resume"),
    Why.KEEP: ("kept", "would keep", "could not keep"),
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
    Why.KEEP: "{verb} {label} at {before} after the pause too: it was paused before it",
    Why.CLEAR: "{verb} the leftover saved setting of {label}, at {before}: {reason}",
    Why.SAVE: "{verb} the pre-pause setting of {label}, {save}, on AWS again: its record was gone",
}
FLAG_WORDS = ("in", "out", "scheduled")


def format_setting(value: Setting | None) -> str:
    if isinstance(value, Suspension):
        if all(value):
            return "suspended"
        if not any(value):
            return "scaling"
        return "suspended " + "+".join(n for n, v in zip(FLAG_WORDS, value, strict=True) if v)
    return str(value)


def plan_lines(
    plan: Plan,
    observed: Observed,
    dry_run: bool = False,
    failed: Mapping[str, Failure] | None = None,
) -> list[str]:
    """One line per target, before → after and why; `would` in front for a dry run. A target
    whose change failed gets the error after it, and `could not` in front unless its setting
    was changed all the same."""
    failed = failed or {}
    changes = {c.key: c for c in plan.changes}
    return [
        target_line(t, changes.get(t.key), plan.verdict.reason, dry_run, failed.get(t.key))
        for t in observed.targets
    ]


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
