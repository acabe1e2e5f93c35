"""`status`: what the last run recorded, and whether it is recent."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from . import EXIT_OK
from .config import Config
from .report import format_setting
from .state import State, parse_iso, paused_seconds, read_state, state_to_json


def duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h {seconds % 3600 // 60}m"


def status_report(state: State, config: Config, now: datetime) -> dict[str, Any]:
    """The state file, with how old the last run is: recent means within three intervals."""
    if state.fresh:
        return {"never_ran": True, "state_file": config.state_file}
    data = state_to_json(state, config)
    last = parse_iso(state.last_run_at)
    age = (now - last).total_seconds() if last else None
    data["never_ran"] = False
    data["last_run_age_seconds"] = age
    data["recent"] = age is not None and age <= max(3 * config.interval, 180)
    data["paused_seconds"] = paused_seconds(state, now)
    return data


def cmd_status(config: Config, as_json: bool, now: datetime, out: Any) -> int:
    state = read_state(config.state_file, now, move_aside=False)
    data = status_report(state, config, now)
    if as_json:
        out.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
        return EXIT_OK
    if state.fresh:
        out.write(f"never ran: no state in {config.state_file} yet\n")
        return EXIT_OK
    if state.paused:
        head = f"PAUSED since {state.paused_at} ({duration(data['paused_seconds'] or 0)})"
    else:
        head = "running (not paused)"
    age = data["last_run_age_seconds"]
    when = f"{state.last_run_at}, {duration(age)} ago" if age is not None else "unknown"
    stale = "" if data["recent"] else "  <- NOT RECENT: is the timer running?"
    lines = [
        f"autoscaler:   {head}",
        f"last run:     {when}: {state.last_result}{stale}",
        f"last action:  {state.last_action} at {state.last_action_at or 'never'}",
    ]
    for c in state.active_clusters:
        held = "ignored" if c.get("id") in state.ignored_clusters else "holding"
        lines.append(
            f"{held + ':':14}{c.get('id')} {c.get('name')} ({c.get('state')}, "
            f"prefix {c.get('prefix')!r})"
        )
    for key, value in state.saved.items():
        lines.append(f"saved:        {key} = {format_setting(value)}")
    if state.alarm:
        lines.append(f"ALARM:        {state.alarm}")
    if state.last_error:
        lines.append(f"last error:   {state.last_error}")
    out.write("\n".join(lines) + "\n")
    return EXIT_OK
