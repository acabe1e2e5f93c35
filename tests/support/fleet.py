"""A fleet's pause record: thousands of targets of long-named tables and indexes, paused, each
with its failsafe schedule, and as full a history as the record keeps, and what the pauser's
config names, as the tool would keep them; and the size of a DynamoDB item."""

from __future__ import annotations

import random
import string
from dataclasses import replace
from typing import Any

from autoscaler_pauser.history import KEEP_PAUSES
from autoscaler_pauser.model import SCALING, Ended, Hold, Pause, PauseRecord, Schedule
from autoscaler_pauser.records import schedule_name
from autoscaler_pauser.table_record import named_of

SIDES = ("read", "write")

CHARACTERS = string.ascii_letters + string.digits + "-_."  # what a table's name may hold


def names(count: int, length: int, seed: int) -> list[str]:
    """Names as unlike each other as names can be: random, so compression gains the least."""
    rng = random.Random(seed)
    return ["".join(rng.choice(CHARACTERS) for _ in range(length)) for _ in range(count)]


def fleet_tables(targets: int, table_length: int, index_length: int) -> list[tuple[str, str]]:
    """(table, index) pairs: each table with one index, read and write: four targets a table."""
    count = targets // 4
    return list(zip(names(count, table_length, 1), names(count, index_length, 2), strict=True))


CLUSTER = ("j-1ABCDEFGHIJK", "nightly-backup-fleet-2026-11-26")


def fleet_record(targets: int, table_length: int, index_length: int) -> PauseRecord:
    """Every target of the fleet paused by a cluster, its pre-pause setting and schedule kept;
    each table's pause in the history, and the last night's pauses, as many as it keeps."""
    holds, saved, schedules, history = {}, {}, {}, []
    tables = fleet_tables(targets, table_length, index_length)
    for table, _ in tables[:KEEP_PAUSES]:
        night = Pause(table, "2026-11-25T01:00:00Z", "2026-11-25T03:10:00Z", dict([CLUSTER]))
        history.append(replace(night, ended_by=Ended.CLUSTERS))
    for table, index in tables:
        holds[table] = Hold("2026-11-26T01:00:00Z", "2026-11-26T01:05:00Z", (CLUSTER[0],))
        history.append(Pause(table, "2026-11-26T01:00:00Z", None, dict([CLUSTER])))
        for resource in (f"table/{table}", f"table/{table}/index/{index}"):
            for side in SIDES:
                key = f"dynamodb:us-east-1/{resource}:{side}"
                saved[key] = SCALING
                name = schedule_name("autoscaler-pauser", key)
                schedules[key] = Schedule(
                    "2026-11-26T01:35:00Z", "autoscaler-pauser", "us-east-1", name
                )
    history.sort(key=lambda p: (p.began, p.scope))
    record = PauseRecord("autoscaler-pauser", holds, saved, schedules, fresh=False)
    named = named_of(f"dynamodb:us-east-1/table/{t}:{s}" for t, _ in tables for s in SIDES)
    return replace(record, history=tuple(history), named=named)


def item_bytes(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it against its 400 KB: each attribute's name and value
    (UTF-8 strings, binary, numbers taken at their digits)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        [(kind, data)] = value.items()
        if kind == "B":
            size += len(data)
        elif kind in ("S", "N"):
            size += len(str(data).encode())
        else:
            size += len(str(data).encode())
    return size
