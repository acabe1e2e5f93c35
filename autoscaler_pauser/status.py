"""`status`: what the last run recorded, and whether it is recent; `status --check` for a
container's health check."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from . import Exit
from .config import Config
from .history import scope_label
from .model import EVERY_TABLE, State, parse_iso, paused_seconds
from .report import format_setting
from .state_file import UnusableState, load_state, state_to_json
from .targets import label_of, scope_of

SHOWN = 20  # saved settings listed by name; status --json has them all


def duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h {seconds % 3600 // 60}m"


def status_report(state: State, config: Config, now: datetime) -> dict[str, Any]:
    """The state file, with how old the last run is by the clock the runs went by (AWS's: this
    host's, less how far it was ahead at the last run): recent means within three intervals (at
    least three minutes); `skipping`: the runs since then were skipped, the last of them
    recent; healthy means recent and successful."""
    if state.pause.fresh:
        return {"never_ran": True, "state_file": config.state_file, "healthy": False}
    data = state_to_json(state)
    run, now = state.run, now - timedelta(seconds=state.run.clock_ahead)
    window = max(3 * config.interval, 180)
    age, skip_age = (_age(t, now) for t in (run.last_run_at, run.skipped_at))
    data["never_ran"] = False
    data["last_run_age_seconds"] = age
    data["recent"] = age is not None and age <= window
    data["skipping"] = not data["recent"] and skip_age is not None and skip_age <= window
    data["healthy"] = data["recent"] and state.run.last_result == "ok"
    data["paused"] = state.pause.paused
    data["paused_seconds"] = paused_seconds(state.pause, now)
    data["pauses"] = [
        {
            **dict(zip(("what", "table"), scope_label(scope), strict=True)),
            "kinds": scope_kinds(state, scope),
            "since": hold.paused_at,
            "held_by": list(hold.holding),
        }
        for scope, hold in sorted(state.pause.holds.items())
        if hold.paused_at
    ]
    return data


def scope_kinds(state: State, scope: str) -> list[str]:
    """The kinds of the targets a scope's pause holds saved settings of, by their labels."""
    keys = (key for key in state.pause.saved if scope_of(key) == scope)
    return sorted({label_of(key) for key in keys})


def _age(stamp: str | None, now: datetime) -> float | None:
    moment = parse_iso(stamp)
    return (now - moment).total_seconds() if moment else None


def cmd_status(config: Config, as_json: bool, check: bool, now: datetime, out: Any) -> Exit:
    """Print the status; with `check`, exit 1 unless the last run is recent and succeeded."""
    try:
        state, unusable = load_state(config)[0], None
    except UnusableState as e:
        state, unusable = State(), str(e)
    data = status_report(state, config, now)
    if unusable is not None:
        data.update(never_ran=False, unusable=unusable)
    if as_json:
        out.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    else:
        out.write("\n".join(status_lines(state, config, data)) + "\n")
    return Exit.FAILURE if check and not data["healthy"] else Exit.OK


def status_lines(state: State, config: Config, data: dict[str, Any]) -> list[str]:
    if "unusable" in data:
        return [
            f"state file {config.state_file} is not usable ({data['unusable']}): the next run "
            "moves it aside and goes on from AWS"
        ]
    if data["never_ran"]:
        return [f"never ran: no state in {config.state_file} yet"]
    pause, run = state.pause, state.run
    if pause.paused:
        head = f"PAUSED since {pause.paused_at} ({duration(data['paused_seconds'] or 0)})"
    else:
        head = "running (not paused)"
    age = data["last_run_age_seconds"]
    when = f"{run.last_run_at}, {duration(age)} ago" if age is not None else "unknown"
    stale = "" if data["recent"] else "  <- NOT RECENT: is the timer running?"
    if data["skipping"]:
        stale = (
            f"  <- SKIPPED since: {run.skipped:,} runs, the last at {run.skipped_at}, found "
            f"the pause record held by {run.skipped_by}"
        )
    action = f"{run.last_action} at {run.last_action_at}" if run.last_action_at else "none yet"
    lines = [
        f"autoscaler:   {head}",
        f"last run:     {when}: {run.last_result}{stale}",
        f"last action:  {action}",
    ]
    if run.pending:
        doing = "pausing" if pause.paused else "resuming"
        done = run.planned - run.pending
        lines.append(f"{doing + ':':14}{done:,} of {run.planned:,} done; the rest next run")
    return lines + detail_lines(state)


def detail_lines(state: State) -> list[str]:
    """What holds each pause, what is saved, and what went wrong."""
    pause, run = state.pause, state.run
    lines = cluster_lines(state) + saved_lines(state)
    if pause.schedules:
        first = min(s.due for s in pause.schedules.values())
        lines.append(
            f"failsafe:     {len(pause.schedules):,} schedules restore the settings above from "
            f"{first} unless a run moves them"
        )
    lines += [f"ALARM:        {alarm}" for alarm in dict.fromkeys(pause.alarms)]
    if run.last_error:
        lines.append(f"last error:   {run.last_error}")
    return lines + [f"warning:      {warning}" for warning in run.warnings]


def cluster_lines(state: State) -> list[str]:
    """Each active cluster and the tables it backs up; each pause and the clusters holding it."""
    pause, lines = state.pause, []
    for c in state.run.active_clusters:
        ignored = any(c.id in hold.ignored for hold in pause.holds.values())
        held = "ignored" if ignored else "active"
        tables = "every table" if c.tables is None else ", ".join(c.tables) or "no table"
        tables += " (its tags were not read)" if c.unread else ""
        lines.append(f"{held + ':':14}{c.id} {c.name} ({c.state}, prefix {c.prefix!r}): {tables}")
    for scope, hold in sorted(pause.holds.items()):
        if hold.paused_at:
            kinds = ", ".join(scope_kinds(state, scope))
            what = f"the autoscaler ({kinds})" if scope == EVERY_TABLE else scope
            by = ", ".join(hold.holding) or "none now (resume grace)"
            lines.append(f"paused:       {what} since {hold.paused_at}, held by {by}")
    return lines


def saved_lines(state: State) -> list[str]:
    saved = sorted(state.pause.saved.items())
    lines = [f"saved:        {key} = {format_setting(v)}" for key, v in saved[:SHOWN]]
    if len(saved) > SHOWN:
        lines.append(f"saved:        … and {len(saved) - SHOWN:,} more (status --json lists all)")
    return lines
