"""The history of pauses, kept with the pause record: each scope's pauses, when each began and
ended, the clusters that held it and what ended it; and what a run has to tell of it (events.py
tells it). Pure, like records.py: the history after a run is made from the record before the run
and after it, kept bounded (KEEP_PAUSES, KEEP_DAYS), and written beside each scope in the
record's JSON (record_format.py), whose name it does not repeat.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .decide import Plan
from .model import (
    EVERY_TABLE,
    Cluster,
    Ended,
    Failure,
    Pause,
    PauseRecord,
    Scope,
    Setting,
    TargetView,
    iso,
    parse_iso,
)

if TYPE_CHECKING:
    from .config import Config

KEEP_PAUSES = 200  # the pauses that ended, the newest; a pause that is on is always kept
KEEP_DAYS = 90  # and none that ended longer ago than this


def scope_label(scope: Scope) -> tuple[str, str | None]:
    """What a scope is, as `status --json`, `history --json` and the events say it: the
    autoscaler (what every matching cluster holds: the ECS service, rules, groups), or a table,
    and its name."""
    return ("autoscaler", None) if scope == EVERY_TABLE else ("table", scope)


def scope_text(scope: Scope) -> str:
    """A scope in a line: `the autoscaler`, `table orders`."""
    what, table = scope_label(scope)
    return f"the {what}" if table is None else f"{what} {table}"


# --- what a run found and did ----------------------------------------------------------------


@dataclass(frozen=True)
class Restored:
    """A target a failsafe schedule restored: found at its setting from before the pause, its
    schedule's time past."""

    key: str
    label: str
    setting: Setting
    due: str  # when its schedule was due


def failsafe_restored(
    before: PauseRecord, targets: Sequence[TargetView], now: datetime
) -> dict[Scope, tuple[Restored, ...]]:
    """The targets of each paused scope that a failsafe schedule restored: the record holds the
    target's setting from before the pause and a schedule due by now, and the target is found at
    that setting, not paused."""
    found: dict[Scope, list[Restored]] = {}
    for target in targets:
        schedule, saved = before.schedules.get(target.key), before.saved.get(target.key)
        hold = before.holds.get(target.scope)
        if schedule is None or saved is None or hold is None or not hold.paused_at:
            continue
        due = parse_iso(schedule.due)
        if due is None or due > now or target.current == target.paused_value:
            continue
        if target.current == saved:
            restored = Restored(target.key, target.label, saved, schedule.due)
            found.setdefault(target.scope, []).append(restored)
    return {scope: tuple(these) for scope, these in found.items()}


@dataclass(frozen=True)
class Story:
    """What a run did, as its events tell it (events.py): the record before and after it, its
    plan and the changes that failed, the active clusters, the targets the failsafe restored,
    and when."""

    config: Config
    before: PauseRecord
    after: PauseRecord
    plan: Plan
    failures: Mapping[str, Failure]
    clusters: Sequence[Cluster]
    restored: Mapping[Scope, Sequence[Restored]]
    now: datetime

    @property
    def told(self) -> bool:
        """Whether it has anything to tell: a run that changed nothing has not."""
        return bool(to_tell(self.before, self.after, self.restored))


class Told(enum.Enum):
    """What a run tells of a scope: the event's detail-type."""

    PAUSED = "Autoscaler Paused"
    RESUMED = "Autoscaler Resumed"
    STUCK = "Pause Stuck"
    FAILSAFE = "Pause Ended By Failsafe"


def to_tell(
    before: PauseRecord, after: PauseRecord, restored: Mapping[Scope, object]
) -> list[tuple[Told, Scope]]:
    """What a run has to tell, by scope, from the pause record before it and the one it leaves:
    nothing, for a run that changed nothing.

    | the scope, before → after        | its failsafe schedules | told                  |
    |----------------------------------|------------------------|-----------------------|
    | not paused → paused              | -                      | paused                |
    | paused → not paused              | none restored it       | resumed               |
    | paused → either                  | restored a target      | ended by failsafe     |
    | paused → paused, newly over max_pause_minutes | -         | stuck (once)          |
    """
    told = []
    for scope in sorted({*before.holds, *after.holds}):
        was, now = _paused(before, scope), _paused(after, scope)
        if was and scope in restored:
            told.append((Told.FAILSAFE, scope))
        elif now and not was:
            told.append((Told.PAUSED, scope))
        elif was and not now:
            told.append((Told.RESUMED, scope))
        if now and after.holds[scope].alarm and not (was and before.holds[scope].alarm):
            told.append((Told.STUCK, scope))
    return told


def _paused(record: PauseRecord, scope: Scope) -> bool:
    hold = record.holds.get(scope)
    return hold is not None and hold.paused_at is not None


# --- the history after a run -------------------------------------------------------------------


def with_history(
    before: PauseRecord,
    after: PauseRecord,
    clusters: Sequence[Cluster],
    restored: Mapping[Scope, Sequence[Restored]],
    named: Collection[Scope],
    now: datetime,
) -> PauseRecord:
    """`after`, the record a run leaves, with its history made from that of `before`: the pause of
    each scope paused after the run is on, with the clusters that hold it added (one missing,
    as after a run that died between its write-ahead and its record, begins when the scope's
    pause did); a pause on in the history of a scope no longer paused ends. `named`: the scopes
    the config names; `clusters`: the active ones, for their names.

    | the pause of a scope that is no longer paused | ended                      | by         |
    |------------------------------------------------|---------------------------|------------|
    | a failsafe schedule restored one of its targets | when the first was due   | failsafe   |
    | over max_pause_minutes, resumed all the same    | now                      | forced     |
    | the config no longer names the scope            | now                      | config     |
    | no cluster holds it                             | now                      | clusters   |
    """
    names = {c.id: c.name for c in clusters}
    on = {p.scope: p for p in before.history if p.ended is None}
    history = [p for p in before.history if p.ended is not None]
    for scope, hold in sorted(after.holds.items()):
        if not hold.paused_at:
            continue
        pause = on.pop(scope, None) or Pause(scope, hold.paused_at)
        held = {c: names.get(c, pause.clusters.get(c, "")) for c in hold.holding}
        history.append(replace(pause, clusters={**pause.clusters, **held}))
    for scope, pause in on.items():
        history.append(_ended(pause, after, restored.get(scope, ()), named, now))
    return replace(after, history=bounded(history, now))


def _ended(
    pause: Pause,
    after: PauseRecord,
    restored: Sequence[Restored],
    named: Collection[Scope],
    now: datetime,
) -> Pause:
    if restored:
        return replace(pause, ended=min(r.due for r in restored), ended_by=Ended.FAILSAFE)
    hold = after.holds.get(pause.scope)
    if hold is not None and hold.alarm:
        by = Ended.FORCED
    elif pause.scope not in named:
        by = Ended.CONFIG
    else:
        by = Ended.CLUSTERS
    return replace(pause, ended=iso(now), ended_by=by)


def bounded(history: Sequence[Pause], now: datetime) -> tuple[Pause, ...]:
    """Every pause that is on, and of those that ended, the last KEEP_PAUSES, none that ended
    more than KEEP_DAYS ago; oldest first."""
    oldest = iso(now - timedelta(days=KEEP_DAYS))
    ended = sorted(
        (p for p in history if p.ended is not None and p.ended >= oldest),
        key=lambda p: (p.ended, p.began, p.scope),
    )[-KEEP_PAUSES:]
    on = [p for p in history if p.ended is None]
    return tuple(sorted([*on, *ended], key=lambda p: (p.began, p.scope)))


def lasted(pause: Pause, now: datetime) -> float:
    """How long a pause lasted, or has lasted so far, in seconds."""
    began, ended = parse_iso(pause.began) or now, parse_iso(pause.ended) or now
    return max(0.0, (ended - began).total_seconds())


# --- as the record's JSON holds it ------------------------------------------------------------


def pauses_to_json(history: Sequence[Pause]) -> dict[Scope, list[dict[str, Any]]]:
    """Each scope's pauses, as the record's JSON holds them beside the scope."""
    by_scope: dict[Scope, list[dict[str, Any]]] = {}
    for pause in history:
        data: dict[str, Any] = {"began": pause.began}
        if pause.ended is not None:
            data["ended"] = pause.ended
        if pause.ended_by is not None:
            data["by"] = pause.ended_by.value
        if pause.clusters:
            data["clusters"] = dict(pause.clusters)
        by_scope.setdefault(pause.scope, []).append(data)
    return by_scope


ENDINGS = {e.value: e for e in Ended}


def pauses_from_json(scope: Scope, value: Any) -> list[Pause]:
    """A scope's pauses read back from the record, checked; ValueError says what is wrong."""
    if not isinstance(value, list) or not all(isinstance(p, dict) for p in value):
        raise ValueError("'pauses' is not a list of objects")
    pauses = []
    for data in value:
        began, ended, by = data.get("began"), data.get("ended"), data.get("by")
        if parse_iso(began) is None or (ended is not None and parse_iso(ended) is None):
            raise ValueError("a pause's 'began' or 'ended' is not a time")
        if by is not None and by not in ENDINGS:
            raise ValueError(f"a pause's 'by' is {by!r}, not one of {sorted(ENDINGS)}")
        clusters = data.get("clusters", {})
        if not isinstance(clusters, dict) or not all(isinstance(n, str) for n in clusters.values()):
            raise ValueError("a pause's 'clusters' is not a mapping of ids to names")
        pauses.append(Pause(scope, began, ended, dict(clusters), ENDINGS.get(by)))
    return pauses
