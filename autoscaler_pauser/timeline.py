"""`history`: the pauses the pause record keeps (history.py), as a timeline a person can scan: one
line a pause, newest first, the longest gap between pauses marked; or as JSON. Read from the
state file, or from state_table by any host that may read its item (GetItem, and BatchGetItem for
a record over several items): a host's own pauser, another host's, or the Lambda stack's.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from . import Exit
from .aws import Aws, AwsError
from .config import Config
from .history import lasted, scope_label, scope_text
from .model import Ended, Pause, PauseRecord, parse_iso
from .record_format import pause_from_json
from .state_file import UnusableState, load_state
from .status import duration

SINCE = re.compile(r"([1-9][0-9]{0,5})([mhdw])")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def since_option(text: str) -> timedelta:
    """--since: a number of minutes, hours, days or weeks (90m, 12h, 7d, 2w); ValueError if
    not."""
    found = SINCE.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"--since takes a time like 90m, 12h, 7d or 2w, got {text!r}")
    return timedelta(**{UNITS[found[2]]: int(found[1])})


def cmd_history(
    config: Config,
    aws_factory: Callable[[Config], Aws],
    as_json: bool,
    since: timedelta | None,
    table: str | None,
    now: datetime,
    out: Any,
) -> Exit:
    """Print the pauses the record keeps: those on and those that ended within `since`, of
    `table` only if given."""
    try:
        record, where = read_record(config, aws_factory)
    except (AwsError, UnusableState) as e:
        print(f"autoscaler-pauser: history: {e}", file=sys.stderr)
        return Exit.FAILURE
    pauses = chosen(record.history, since, table, now)
    gap = longest_gap(pauses, now)
    if as_json:
        data = history_json(config.pauser_name, where, pauses, gap, now)
        out.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    else:
        out.write("\n".join(history_lines(config.pauser_name, where, pauses, gap, now)) + "\n")
    return Exit.OK


def read_record(config: Config, aws_factory: Callable[[Config], Aws]) -> tuple[PauseRecord, str]:
    """The pause record, and where it was read: state_table's item, without its lease, else
    the state file."""
    if not config.state_table:
        return load_state(config)[0].pause, f"state file {config.state_file}"
    from .lease import LeasedItem

    region = config.record_region
    if not region:
        raise AwsError("state_table_region: required to read state_table (or autoscaler_region)")
    dynamodb = aws_factory(config).client("dynamodb", region)
    item = LeasedItem(dynamodb, config.state_table, config.pauser_name, "history", 0)
    where = f"the pause record {config.pauser_name!r} in {config.state_table}"
    found = item.read()
    if found.data is None:
        return PauseRecord(), where
    try:
        return pause_from_json(found.data, where)[0], where
    except ValueError as e:
        raise AwsError(f"{where} is not understood ({e})") from e


def chosen(
    history: Sequence[Pause], since: timedelta | None, table: str | None, now: datetime
) -> list[Pause]:
    """The pauses shown, newest first: those on, and those that ended within `since`; of one
    table, if named."""
    start = now - since if since else None
    shown = [
        p
        for p in history
        if (table is None or p.scope == table)
        and (start is None or p.ended is None or (parse_iso(p.ended) or now) >= start)
    ]
    return sorted(shown, key=lambda p: (p.began, p.scope), reverse=True)


def longest_gap(pauses: Sequence[Pause], now: datetime) -> tuple[str, str] | None:
    """The longest time between pauses, when nothing of those shown was paused: from the end
    of one to the start of the next; None with fewer than two apart."""
    spans = sorted((p.began, p.ended or "~") for p in pauses)  # "~" sorts after any time
    best: tuple[str, str] | None = None
    end = None
    for began, ended in spans:
        longer = end is not None and began > end
        if longer and (best is None or _seconds(end, began) > _seconds(*best)):
            best = (end, began)
        end = ended if end is None else max(end, ended)
    return best


def _seconds(start: str, end: str) -> float:
    a, b = parse_iso(start), parse_iso(end)
    return (b - a).total_seconds() if a and b else 0.0


def history_lines(
    pauser: str,
    where: str,
    pauses: Sequence[Pause],
    gap: tuple[str, str] | None,
    now: datetime,
) -> list[str]:
    """A line a pause, its columns aligned, and a line for the longest gap where it falls."""
    if not pauses:
        return [f"no pause of {pauser} in {where}"]
    rows = [pause_columns(pause, now) for pause in pauses]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"pauses of {pauser}, newest first, times in UTC ({where}):"]
    for pause, row in zip(pauses, rows, strict=True):
        if gap is not None and pause.began < gap[1]:  # the first pause before the gap
            lines.append(
                f"  ── {duration(_seconds(*gap))} without a pause, the longest gap "
                f"({_when(gap[0])} → {_when(gap[1])}) ──"
            )
            gap = None
        lines.append(
            f"{row[0]:{widths[0]}} → {row[1]:{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}"
        )
    return lines


# What a line says of a pause that no cluster's end ended.
ENDINGS = {
    Ended.FAILSAFE: "ended by the failsafe",
    Ended.FORCED: "resumed by force_resume_after_max_pause",
    Ended.CONFIG: "given back: the config no longer names it",
}


def pause_columns(pause: Pause, now: datetime) -> tuple[str, str, str, str]:
    """`2026-11-28 01:00:00`, `03:12:00`, `2h 12m`, `table orders: j-1ABC nightly-backup-orders`:
    when it began and ended (its time only, on the day it began), how long it lasted, and what
    was paused, held by which clusters."""
    ended = "on now" if pause.ended is None else _when(pause.ended, pause.began)
    clusters = ", ".join(f"{i} {n}".strip() for i, n in pause.clusters.items()) or "no cluster"
    what = f"{scope_text(pause.scope)}: {clusters}"
    ending = ENDINGS.get(pause.ended_by) if pause.ended_by else None
    what = f"{what} ({ending})" if ending else what
    return _when(pause.began), ended, duration(lasted(pause, now)), what


def _when(stamp: str, since: str | None = None) -> str:
    """A time as a line shows it: `2026-11-28 01:00:00`, or only its time on the day of
    `since`."""
    text = stamp.replace("T", " ").removesuffix("Z")
    return text[11:] if since is not None and since[:10] == stamp[:10] else text


def history_json(
    pauser: str,
    where: str,
    pauses: Sequence[Pause],
    gap: tuple[str, str] | None,
    now: datetime,
) -> dict[str, Any]:
    return {
        "pauser": pauser,
        "read_from": where,
        "pauses": [
            {
                **dict(zip(("what", "table"), scope_label(p.scope), strict=True)),
                "began": p.began,
                "ended": p.ended,
                "seconds": round(lasted(p, now)),
                "ended_by": p.ended_by.value if p.ended_by else None,
                "clusters": [{"id": i, "name": n} for i, n in p.clusters.items()],
            }
            for p in pauses
        ],
        "longest_gap": (
            None
            if gap is None
            else {"from": gap[0], "to": gap[1], "seconds": round(_seconds(*gap))}
        ),
    }
