"""What a run says: one line per target, before → after and why."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .decide import Observed, Plan

if TYPE_CHECKING:
    from .aws import AwsError


def format_setting(value: Any) -> str:
    if isinstance(value, tuple):
        if all(value):
            return "suspended"
        if not any(value):
            return "scaling"
        names = ("in", "out", "scheduled")
        return "suspended " + "+".join(n for n, v in zip(names, value, strict=True) if v)
    return str(value)


def plan_lines(
    plan: Plan,
    observed: Observed,
    dry_run: bool = False,
    failed: Mapping[str, AwsError] | None = None,
) -> list[str]:
    """One line per target, before -> after and why; `would` in front for a dry run. A target
    whose change failed gets the error after it, and `could not` in front unless its setting
    was changed all the same."""
    failed = failed or {}
    changes = {c.key: c for c in plan.changes}
    verb = (
        ("would pause" if dry_run else "paused")
        if plan.pause
        else ("would resume" if dry_run else "resumed")
    )
    lines = []
    for t in observed.targets:
        c = changes.get(t.key)
        error = failed.get(t.key)
        undone = error is not None and not error.changed
        if c is not None and c.after is not None:
            do = ("could not pause" if plan.pause else "could not resume") if undone else verb
            line = (
                f"{do} {t.label} {format_setting(c.before)} → "
                f"{format_setting(c.after)}: {plan.reason}"
            )
        elif c is not None and c.save is not None:
            do = "could not keep" if undone else ("would keep" if dry_run else "kept")
            line = (
                f"{do} {t.label} at {format_setting(t.current)} after the pause too: "
                "it was paused before it"
            )
        elif c is not None:
            do = "could not clear" if undone else ("would clear" if dry_run else "cleared")
            line = (
                f"{do} the leftover saved setting of {t.label}, at "
                f"{format_setting(t.current)}: {plan.reason}"
            )
        else:
            mode = "paused" if t.current == t.paused_value else "running"
            line = (
                f"no change: {t.label} stays at {format_setting(t.current)} ({mode}): {plan.reason}"
            )
        lines.append(line if error is None else f"{line}; {error}")
    return lines
