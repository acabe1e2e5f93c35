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

A record that names no format, or another one, is not understood: the reader raises ValueError.

A schedule being moved to another group or region also holds, as "replaces", the schedules it
replaces, until they are removed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .config import SCHEDULER_NAME
from .config_values import REGION_RE
from .history import pauses_from_json, pauses_to_json
from .model import Hold, Pause, PauseRecord, Schedule, Scope, Setting, parse_iso
from .targets import kind_of, scope_of, setting_of
from .targets.kind import UnknownTarget

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
    for key in sorted({*record.saved, *record.schedules}):
        target: dict[str, Any] = {}
        if key in record.saved:
            target["saved"] = setting_to_json(record.saved[key])
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


def pause_from_json(data: Any, where: str) -> tuple[PauseRecord, Warnings]:
    """A pause record read back from `where` (the state file, an item of state_table), checked;
    ValueError says what makes it unusable as a whole (a format other than FORMAT among it). A
    saved setting that is not one its target can have, or the entry of a key no kind of target
    makes, is left out with a warning (the setting on AWS, else the kind's default, is used
    instead)."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    warnings = Warnings()
    written = data.get("format")
    if written is None:
        raise ValueError("it names no format of the pause record")
    if written != FORMAT:
        raise ValueError(f"written in an unknown format {written!r} of the pause record")
    pauser = data.get("pauser")
    if pauser is not None and not isinstance(pauser, str):
        raise ValueError("'pauser' is not a name")
    scopes = _mapping(data, "scopes")
    holds: dict[Scope, Hold] = {}
    saved: dict[str, Setting] = {}
    schedules: dict[str, Schedule] = {}
    history: list[Pause] = []
    for scope, entry in scopes.items():
        if not isinstance(entry, dict):
            raise ValueError(f"scope {scope!r} is not an object")
        if "paused_at" in entry or "ignored" in entry or "alarm" in entry:
            holds[scope] = _hold(entry, scope)
        for key, target in _mapping(entry, "targets").items():
            _target(key, target, where, saved, schedules, warnings)
        history += _pauses(scope, entry, where, warnings)
    return (
        PauseRecord(
            pauser=pauser,
            holds=holds,
            saved=saved,
            schedules=schedules,
            clusters=_clusters(data),
            clusters_tag=_text(data, "clusters_tag"),
            fresh=False,
            history=tuple(sorted(history, key=lambda p: (p.began, p.scope))),
        ),
        warnings,
    )


def _pauses(scope: Scope, entry: Mapping[str, Any], where: str, warnings: Warnings) -> list[Pause]:
    """A scope's history of pauses; one that cannot be understood is left out with a warning
    (a resume needs none of it)."""
    try:
        return pauses_from_json(scope, entry.get("pauses", []))
    except ValueError as e:
        warnings.append(f"ignored the history of pauses of {scope!r} in {where}: {e}")
        return []


def _target(
    key: str,
    target: Any,
    where: str,
    saved: dict[str, Setting],
    schedules: dict[str, Schedule],
    warnings: Warnings,
) -> None:
    try:
        kind_of(key)
    except UnknownTarget as e:
        warnings.append(f"ignored {where}'s entry for {key!r}: {e}")
        return
    if not isinstance(target, dict):
        raise ValueError(f"the entry of {key!r} is not an object")
    if "saved" in target:
        _saved(key, target["saved"], where, saved, warnings)
    if "schedule" in target:
        schedules[key] = _schedule(key, target["schedule"])


def _saved(key: str, value: Any, where: str, saved: dict[str, Setting], warnings: Warnings) -> None:
    """The saved setting of a key read back into `saved`; one its target cannot have is left
    out with a warning."""
    setting = setting_of(key, value)
    if setting is None:
        warnings.append(
            f"ignored the saved setting of {key} in {where}: {value!r} is not a setting it can "
            "have; the one on AWS, else the default, is used"
        )
    else:
        saved[key] = setting


def _hold(entry: Mapping[str, Any], scope: str) -> Hold:
    check_times(entry, ("paused_at", "last_seen"), f"{scope}: ")
    alarm = entry.get("alarm")
    if alarm is not None and not isinstance(alarm, str):
        raise ValueError(f"{scope}: 'alarm' is not a text")
    return Hold(
        paused_at=entry.get("paused_at"),
        last_seen=entry.get("last_seen"),
        holding=_ids(entry, "holding"),
        ignored=_ids(entry, "ignored"),
        alarm=alarm,
    )


def _schedule(key: str, data: Any) -> Schedule:
    if not isinstance(data, dict) or parse_iso(data.get("due")) is None:
        raise ValueError(f"the schedule of {key!r} has no due time like 2026-01-31T23:59:00Z")
    group, region, name = data.get("group"), data.get("region"), data.get("name")
    if not isinstance(group, str) or not SCHEDULER_NAME.fullmatch(group):
        raise ValueError(f"the schedule of {key!r} has no group")
    if not isinstance(region, str) or not REGION_RE.fullmatch(region):
        raise ValueError(f"the schedule of {key!r} has no region")
    if name is not None and not (isinstance(name, str) and SCHEDULER_NAME.fullmatch(name)):
        raise ValueError(f"the schedule of {key!r} has a name no schedule can have")
    if not isinstance(data.get("unset", False), bool):
        raise ValueError(f"the schedule of {key!r} has an 'unset' that is not true or false")
    replaces = data.get("replaces", [])
    if not isinstance(replaces, list) or not all(isinstance(s, dict) for s in replaces):
        raise ValueError(f"the schedule of {key!r} replaces no list of schedules")
    earlier = tuple(_schedule(key, {**s, "replaces": []}) for s in replaces)  # one level only
    return Schedule(data["due"], group, region, name, data.get("unset", False), earlier)


def _clusters(data: Mapping[str, Any]) -> dict[str, tuple[str, ...] | None]:
    clusters = {}
    for cluster, tables in _mapping(data, "clusters").items():
        if tables is not None and (
            not isinstance(tables, list) or not all(isinstance(t, str) for t in tables)
        ):
            raise ValueError(f"the tables of cluster {cluster!r} are not a list of names")
        clusters[str(cluster)] = None if tables is None else tuple(tables)
    return clusters


def check_times(data: Mapping[str, Any], names: tuple[str, ...], where: str = "") -> None:
    """Each of the fields named that is set is a time as iso() writes it; else ValueError."""
    for name in names:
        if data.get(name) is not None and parse_iso(data[name]) is None:
            raise ValueError(f"{where}{name!r} is not a time like 2026-01-31T23:59:00Z")


def _mapping(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ValueError(f"{name!r} is not an object")
    return value


def _ids(data: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = data.get(name, [])
    if not isinstance(value, list):
        raise ValueError(f"{name!r} is not a list")
    return tuple(map(str, value))


def _text(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name!r} is not a text")
    return value
