"""The pause record as JSON, as the state file and state_table hold it, and read back: checked
like any input, since a person or another version of the tool may have written it.

The record names its format (FORMAT) and its pauser, and groups the targets by scope, so that a
key stands once with everything known of its target (its pre-pause setting, its failsafe
schedule), and a table's name once beside the keys that repeat it, which compression then all
but removes:

    {"format": 2, "pauser": "…", "clusters": {"j-1": ["orders"]}, "clusters_tag": "…",
     "scopes": {"orders": {"paused_at": "…", "last_seen": "…", "holding": ["j-1"],
                           "targets": {"<a target's key, its kind's>":
                                       {"saved": [false, false, false],
                                        "schedule": {"due": "…", "group": "…", "region": "…",
                                                     "name": "…"}}},
                           "pauses": [{"began": "…", "ended": "…", "by": "clusters",
                                       "clusters": {"j-0": "nightly-backup-orders"}}]}}}

`pauses` is the scope's history (history.py), kept with the record but needed by no resume.

A target's `saved` is null when the pause holds it without knowing its setting from before (the
record was lost), and `created` says when AWS made it (Unix seconds) if that was after its
scope's pause began: a target made later still is another one, whose own setting is saved.

A record is read field by field: one that cannot be understood (another format among them) is
set aside with a warning naming it and what is used instead, and the rest is read. Where a
failsafe schedule may have been lost with it, the record says so (`sweep`), and the run looks
for this pauser's schedules that no record holds.

A schedule being moved to another group or region also holds, as "replaces", the schedules it
replaces, until they are removed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from .config import SCHEDULER_NAME
from .config_values import REGION_RE
from .history import pauses_from_json, pauses_to_json
from .model import Hold, Named, Pause, PauseRecord, Schedule, Scope, Setting, iso, parse_iso
from .targets import kind_of, scope_of, setting_of
from .targets.kind import UnknownTarget
from .timing import CLOCK_SLACK_SECONDS

FORMAT = 2


class Warnings(list[str]):
    """What was ignored while reading a record: a line each, naming where it came from."""


# --- writing -------------------------------------------------------------------------------------


def pause_to_json(record: PauseRecord) -> dict[str, Any]:
    """The pause record as JSON data, as pause_from_json reads it."""
    scopes: dict[Scope, dict[str, Any]] = {}
    for scope, hold in record.holds.items():
        scopes[scope] = _hold_to_json(hold)
    for scope, pauses in pauses_to_json(record.history).items():
        scopes.setdefault(scope, {})["pauses"] = pauses
    for key in sorted({*record.saved, *record.unknown, *record.schedules}):
        target: dict[str, Any] = {}
        if key in record.saved:
            target["saved"] = setting_to_json(record.saved[key])
        elif key in record.unknown:
            target["saved"] = None
        if key in record.created:
            target["created"] = record.created[key]
        if key in record.schedules:
            target["schedule"] = _schedule_to_json(record.schedules[key])
        scopes.setdefault(scope_of(key), {}).setdefault("targets", {})[key] = target
    data: dict[str, Any] = {"format": FORMAT, "pauser": record.pauser, "scopes": scopes}
    if record.clusters:
        data["clusters"] = {
            c: list(t) if t is not None else None for c, t in record.clusters.items()
        }
    if record.clusters_tag:
        data["clusters_tag"] = record.clusters_tag
    if record.sweep:
        data["sweep"] = True
    if record.named is not None:
        data["named"] = {"ids": sorted(record.named.ids), "names": list(record.named.names)}
    return data


def setting_to_json(setting: Setting) -> Any:
    return list(setting) if isinstance(setting, tuple) else setting


def _hold_to_json(hold: Hold) -> dict[str, Any]:
    data: dict[str, Any] = {"paused_at": hold.paused_at, "last_seen": hold.last_seen}
    for name in ("holding", "ignored"):
        if getattr(hold, name):
            data[name] = list(getattr(hold, name))
    if hold.alarm:
        data["alarm"] = hold.alarm
    return data


def _schedule_to_json(schedule: Schedule) -> dict[str, Any]:
    data: dict[str, Any] = {"due": schedule.due, "group": schedule.group, "region": schedule.region}
    if schedule.name:
        data["name"] = schedule.name
    if schedule.unset:
        data["unset"] = True
    if schedule.replaces:
        data["replaces"] = [_schedule_to_json(s) for s in schedule.replaces]
    return data


# --- reading -------------------------------------------------------------------------------------

# The due time of a schedule whose own is not understood: never past, so the schedule is removed
# where it was made rather than forgotten, and recorded as not known to be set, so that it is set
# again if it is still wanted.
UNKNOWN_DUE = "9999-12-31T23:59:59Z"
LOOKED_FOR = "the failsafe's schedules of this pauser are looked for and those it lacks removed"


class Reader:
    """What a record's reading set aside: a warning for each field, naming it, where it came
    from and what is used instead; `lost`: a failsafe schedule may have been in it."""

    def __init__(self, where: str):
        self.where, self.warnings, self.lost = where, Warnings(), False

    def aside(self, field: str, value: Any, problem: str, instead: str, lost: bool = False) -> None:
        self.warnings.append(
            f"ignored {field} in {self.where}: {_shown(value)} {problem}; {instead}"
        )
        self.lost = self.lost or lost


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def pause_from_json(data: Any, where: str) -> tuple[PauseRecord, Warnings]:
    """A pause record read back from `where` (the state file, an item of state_table), checked
    field by field: a field that cannot be understood is set aside with a warning naming it and
    what is used instead, and the rest is read; a target's saved setting is kept whatever else
    is wrong. Where a failsafe schedule may have been lost, the record is marked `sweep`.
    ValueError only for data that is not a JSON object, or has no field of a pause record:
    nothing in it to keep. Times are read as they are: times_as_of checks them against AWS's
    clock."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    if not {"format", "pauser", "scopes"} & set(data):
        raise ValueError("no field of a pause record in it")
    read = Reader(where)
    written = data.get("format")
    if written != FORMAT:
        read.aside("the format", written, f"is not {FORMAT}", f"read as format {FORMAT}")
    pauser = data.get("pauser")
    if pauser is not None and not isinstance(pauser, str):
        read.aside("the pauser", pauser, "is not a name", "read as this pauser's record")
        pauser = None
    holds: dict[Scope, Hold] = {}
    targets = _Targets()
    history: list[Pause] = []
    lost = "every pause and saved setting in it is lost: the settings on AWS are used, and "
    scopes = _mapping(data, "scopes", read, "the scopes", lost + LOOKED_FOR, True)
    for scope, entry in scopes.items():
        if not isinstance(entry, dict):
            read.aside(f"scope {scope!r}", entry, "is not an object", lost + LOOKED_FOR, True)
            continue
        if "paused_at" in entry or "ignored" in entry or "alarm" in entry:
            holds[scope] = _hold(entry, scope, read)
        what = f"the targets of scope {scope!r}"
        for key, target in _mapping(entry, "targets", read, what, lost + LOOKED_FOR, True).items():
            _target(key, target, read, targets)
        history += _pauses(scope, entry, read)
    sweep = data.get("sweep", False)
    return (
        PauseRecord(
            pauser=pauser,
            holds=holds,
            saved=targets.saved,
            schedules=targets.schedules,
            clusters=_clusters(data, read),
            clusters_tag=_text(data, "clusters_tag", read, "read again from the clusters' tags"),
            fresh=False,
            history=tuple(sorted(history, key=lambda p: (p.began, p.scope))),
            sweep=read.lost or sweep is not False,
            named=_named(data.get("named"), read),
            created=targets.created,
            unknown=frozenset(targets.unknown),
        ),
        read.warnings,
    )


def _pauses(scope: Scope, entry: Mapping[str, Any], read: Reader) -> list[Pause]:
    """A scope's history of pauses; one that cannot be understood is left out with a warning
    (a resume needs none of it)."""
    try:
        return pauses_from_json(scope, entry.get("pauses", []))
    except ValueError as e:
        read.warnings.append(f"ignored the history of pauses of {scope!r} in {read.where}: {e}")
        return []


@dataclass
class _Targets:
    """What a record holds of its targets, as it is read."""

    saved: dict[str, Setting] = field(default_factory=dict)
    schedules: dict[str, Schedule] = field(default_factory=dict)
    created: dict[str, float] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)  # held, their setting before not known


def _target(key: str, target: Any, read: Reader, targets: _Targets) -> None:
    try:
        kind_of(key)
    except UnknownTarget as e:
        had_schedule = not isinstance(target, dict) or "schedule" in target
        read.aside(
            f"the entry of {key!r}",
            target,
            f"is not understood ({e})",
            "it is left out",
            had_schedule,
        )
        return
    if not isinstance(target, dict):
        instead = "the setting on AWS, else the default, is used, and " + LOOKED_FOR
        read.aside(f"the entry of {key}", target, "is not an object", instead, True)
        targets.unknown.add(key)
        return
    if "saved" in target and not _saved(key, target["saved"], read, targets.saved):
        targets.unknown.add(key)  # held, its setting before not known
    created = target.get("created")
    if _number(created):
        targets.created[key] = float(created)
    elif created is not None:
        read.aside(f"when the target {key} was made", created, "is not a time", "read as not known")
    if "schedule" in target:
        schedule = _schedule(key, target["schedule"], read)
        if schedule is not None:
            targets.schedules[key] = schedule


def _saved(key: str, value: Any, read: Reader, saved: dict[str, Setting]) -> bool:
    """The saved setting of a key read back into `saved`; False for null (the target held
    without it) and, with a warning, for one its target cannot have."""
    if value is None:
        return False
    setting = setting_of(key, value)
    if setting is None:
        read.warnings.append(
            f"ignored the saved setting of {key} in {read.where}: {value!r} is not a setting it "
            "can have; the one on AWS, else the default, is used"
        )
        return False
    saved[key] = setting
    return True


def _number(value: Any) -> bool:
    """A finite JSON number (not true or false)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _hold(entry: Mapping[str, Any], scope: str, read: Reader) -> Hold:
    """A scope's pause. A time that is not one is kept as text, for times_as_of to read as now."""
    times = []
    for name in ("paused_at", "last_seen"):
        value = entry.get(name)
        times.append(None if value is None else value if isinstance(value, str) else str(value))
    alarm = _text(entry, "alarm", read, "raised again if it still holds", f"scope {scope!r}'s ")
    return Hold(
        paused_at=times[0],
        last_seen=times[1],
        holding=_ids(entry, "holding", read, scope),
        ignored=_ids(entry, "ignored", read, scope),
        alarm=alarm,
    )


def _schedule(key: str, data: Any, read: Reader) -> Schedule | None:
    """A target's schedule. One whose group or region is not understood cannot be found where
    it was made: it is left out and looked for. A due time not understood is read as
    UNKNOWN_DUE, a name as the one made today, an `unset` as true: the schedule is set again,
    or removed."""
    field = f"the schedule of {key}"
    if not isinstance(data, dict):
        read.aside(field, data, "is not an object", LOOKED_FOR, True)
        return None
    group, region, name = data.get("group"), data.get("region"), data.get("name")
    for part, value, pattern in (("group", group, SCHEDULER_NAME), ("region", region, REGION_RE)):
        if not isinstance(value, str) or not pattern.fullmatch(value):
            read.aside(field, data, f"has no {part}", LOOKED_FOR, True)
            return None
    due, unset = data.get("due"), data.get("unset", False)
    if parse_iso(due) is None:
        instead = "it is set again if its target is still paused, else removed"
        read.aside(
            f"the due time of {field}", due, "is not a time like 2026-01-31T23:59:00Z", instead
        )
        due, unset = UNKNOWN_DUE, True
    if name is not None and not (isinstance(name, str) and SCHEDULER_NAME.fullmatch(name)):
        read.aside(f"the name of {field}", name, "is a name no schedule can have", LOOKED_FOR, True)
        name = None
    if not isinstance(unset, bool):
        instead = "read as true: it is set again"
        read.aside(f"'unset' of {field}", unset, "is not true or false", instead)
        unset = True
    return Schedule(due, group, region, name, unset, _replaced(key, data.get("replaces", []), read))


def _replaced(key: str, replaces: Any, read: Reader) -> tuple[Schedule, ...]:
    """The schedules a schedule being moved replaces (one level only); one that cannot be found
    where it was made is left out and looked for."""
    if not isinstance(replaces, list):
        read.aside(
            f"the schedules the schedule of {key} replaces",
            replaces,
            "are not a list",
            LOOKED_FOR,
            True,
        )
        return ()
    earlier = (
        _schedule(key, {**s, "replaces": []} if isinstance(s, dict) else s, read) for s in replaces
    )
    return tuple(s for s in earlier if s is not None)


def _clusters(data: Mapping[str, Any], read: Reader) -> dict[str, tuple[str, ...] | None]:
    again = "read again from its tags"
    clusters = {}
    for cluster, tables in _mapping(data, "clusters", read, "the clusters", again).items():
        if tables is not None and (
            not isinstance(tables, list) or not all(isinstance(t, str) for t in tables)
        ):
            read.aside(
                f"the tables of cluster {cluster!r}", tables, "are not a list of names", again
            )
            continue
        clusters[str(cluster)] = None if tables is None else tuple(tables)
    return clusters


def _named(data: Any, read: Reader) -> Named | None:
    if data is None:
        return None
    ids, names = (data.get(k) if isinstance(data, dict) else None for k in ("ids", "names"))
    if not _strings(ids) or not _strings(names):
        read.aside("what its pauser names", data, "is not understood", "read as not known")
        return None
    return Named(frozenset(ids), tuple(names))


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def times_as_of(record: PauseRecord, now: datetime, where: str) -> tuple[PauseRecord, Warnings]:
    """The record with each scope's `paused_at` and `last_seen` that is not a time, or is later
    than `now` (AWS's clock) by more than two hosts' clocks may differ, read as now: a pause
    that began in 2099 would never raise its alarm. A warning for each."""
    warnings, holds = Warnings(), dict(record.holds)
    latest = now + timedelta(seconds=CLOCK_SLACK_SECONDS)
    for scope, hold in record.holds.items():
        for name in ("paused_at", "last_seen"):
            value = getattr(hold, name)
            moment = parse_iso(value)
            if value is None or (moment is not None and moment <= latest):
                continue
            problem = (
                "is not a time like 2026-01-31T23:59:00Z" if moment is None else "is later than now"
            )
            warnings.append(
                f"ignored the {name} of scope {scope!r} in {where}: {_shown(value)} {problem}; "
                f"read as now, {iso(now)} (AWS's clock)"
            )
            holds[scope] = hold = replace(hold, **{name: iso(now)})
    return (replace(record, holds=holds) if warnings else record), warnings


def _mapping(
    data: Mapping[str, Any], name: str, read: Reader, field: str, instead: str, lost: bool = False
) -> Mapping[str, Any]:
    """The object `name` of `data`; one that is not an object is set aside (`lost`: a failsafe
    schedule may have been in it)."""
    value = data.get(name, {})
    if not isinstance(value, dict):
        read.aside(field, value, "is not an object", instead, lost)
        return {}
    return value


def _ids(data: Mapping[str, Any], name: str, read: Reader, scope: str) -> tuple[str, ...]:
    value = data.get(name, [])
    if not isinstance(value, list):
        read.aside(f"scope {scope!r}'s {name!r}", value, "is not a list", "read as none")
        return ()
    return tuple(map(str, value))


def _text(
    data: Mapping[str, Any], name: str, read: Reader, instead: str, field: str = ""
) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        read.aside(f"{field}{name!r}", value, "is not a text", instead)
        return None
    return value
