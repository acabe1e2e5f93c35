"""What on-call is told on EventBridge: an event (source `autoscaler-pauser`) on events_bus for
each scope whose pause a run began or ended, found stuck, or found ended by the failsafe
(history.to_tell says which), sent after the run's record is written. Telling never holds up or
undoes a pause: an event that cannot be sent is a warning, and the history keeps the pause.

The events go in PutEvents calls of at most MOST_ENTRIES entries and MOST_BYTES, on the write
pool (writes.py), none started after the deadline it is given.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .aws import AwsError, aws_error
from .history import Restored, Story, Told, lasted, scope_label, scope_text, to_tell
from .model import Cluster, Ended, Hold, Pause, Scope
from .report import format_setting
from .status import duration
from .writes import Job, write_jobs

SOURCE = "autoscaler-pauser"
# botocore's events model: PutEvents takes 1 to 10 Entries. EventBridge's user guide: their
# total size must be less than 256 KB, counted as entry_size does.
MOST_ENTRIES = 10
MOST_BYTES = 256 * 1024
TIME_BYTES = 14  # what an entry's Time counts for
# An event lists at most this many clusters (their names may be 256 characters each), and says
# how many more there were.
MOST_CLUSTERS = 50


# --- the events ----------------------------------------------------------------------------------


def event_detail(told: Told, scope: Scope, story: Story) -> dict[str, Any]:
    """An event's detail: what is paused, whose pause it is, and what happened, as a rule's
    pattern and an input transformer can read it."""
    what, table = scope_label(scope)
    hold, pause = story.after.holds.get(scope), _pause(story, scope)
    detail: dict[str, Any] = {
        "pauser": story.config.pauser_name,
        "scope": {"what": what, "table": table},
        "paused_at": pause.began if pause else hold.paused_at if hold else None,
    }
    if told is Told.STUCK:
        detail["max_pause_minutes"] = story.config.max_pause_minutes
        detail["alarm"] = hold.alarm if hold else None
    else:
        detail["targets"] = _targets(scope, story)
        detail["reason"] = story.plan.verdict(scope).reason
    if told is Told.FAILSAFE:
        detail.update(_restored(story.restored.get(scope, ()), hold))
    if pause is not None:
        detail.update(_lasted(told, pause, story.now))
    holding = hold.holding if hold and hold.paused_at else ()
    detail.update(_clusters(pause, holding, story.clusters))
    detail["summary"] = summary(told, scope, detail)
    return detail


def _restored(restored: Sequence[Restored], hold: Hold | None) -> dict[str, Any]:
    """What the failsafe restored, and what the run did after it."""
    return {
        "restored": [
            {"target": r.label, "key": r.key, "setting": format_setting(r.setting), "due": r.due}
            for r in restored
        ],
        "then": "paused again" if hold and hold.paused_at else "resumed",
    }


def _lasted(told: Told, pause: Pause, now: datetime) -> dict[str, Any]:
    """When a pause ended and what ended it, and how long it lasted (of a pause that began now,
    nothing)."""
    found: dict[str, Any] = {}
    if pause.ended is not None:
        found["ended_at"] = pause.ended
        found["ended_by"] = pause.ended_by.value if pause.ended_by else None
    if told is not Told.PAUSED:
        found["paused_seconds"] = round(lasted(pause, now))
    return found


def summary(told: Told, scope: Scope, detail: Mapping[str, Any]) -> str:
    """The event in a line, for a notification's text: the scope, what happened and the
    clusters' ids (no name, which may hold anything: a template puts the line into JSON)."""
    what = scope_text(scope)
    ids = ", ".join(c["id"] for c in detail["clusters"][:10])
    ids += ", …" if len(detail["clusters"]) > 10 or "more_clusters" in detail else ""
    held = f"held by {ids}" if ids else "held by no cluster"
    lasted = duration(detail.get("paused_seconds", 0))
    if told is Told.PAUSED:
        return f"paused {what} ({_count(detail['targets'], 'target')}), {held}"
    if told is Told.RESUMED:
        forced = detail.get("ended_by") == Ended.FORCED.value
        how = ", forced past max_pause_minutes" if forced else ""
        return f"resumed {what} after {lasted}{how}, {held}"
    if told is Told.STUCK:
        limit = detail["max_pause_minutes"]
        return f"{what} has been paused for {lasted}, over max_pause_minutes={limit:g}, {held}"
    then = "paused again" if detail["then"] == "paused again" else "it stays resumed"
    return f"the failsafe restored {_count(detail['restored'], 'target')} of {what}: {then}"


def _count(things: Sequence[Any], noun: str) -> str:
    return f"{len(things)} {noun}" + ("" if len(things) == 1 else "s")


def _pause(story: Story, scope: Scope) -> Pause | None:
    """The scope's latest pause in the history the run left: the one on, or the one it ended."""
    found = [p for p in story.after.history if p.scope == scope]
    return found[-1] if found else None


def _targets(scope: Scope, story: Story) -> list[dict[str, Any]]:
    """The scope's targets the run set, before → after; a change that failed says why."""
    targets = []
    for change in story.plan.changes:
        if change.scope != scope or change.after is None:
            continue
        target = {
            "target": change.label,
            "key": change.key,
            "before": format_setting(change.before),
            "after": format_setting(change.after),
        }
        failure = story.failures.get(change.key)
        if failure is not None and not failure.changed:
            target["error" if not failure.left else "pending"] = failure.error
        targets.append(target)
    return targets


def _clusters(
    pause: Pause | None, holding: Sequence[str], active: Sequence[Cluster]
) -> dict[str, Any]:
    """The clusters that held the pause (those holding it now first), each with its name."""
    names = {c.id: c.name for c in active}
    known = dict(pause.clusters) if pause else {}
    ids = list(dict.fromkeys([*holding, *known]))
    clusters = [{"id": i, "name": names.get(i) or known.get(i, "")} for i in ids]
    found: dict[str, Any] = {"clusters": clusters[:MOST_CLUSTERS]}
    if len(clusters) > MOST_CLUSTERS:
        found["more_clusters"] = len(clusters) - MOST_CLUSTERS
    return found


def entries(story: Story, told: Sequence[tuple[Told, Scope]]) -> list[dict[str, Any]]:
    """PutEvents' entries, one for each scope and what is told of it."""
    bus = story.config.events_bus
    return [
        {
            "Time": story.now,
            "Source": SOURCE,
            "DetailType": what.value,
            "Detail": json.dumps(event_detail(what, scope, story), ensure_ascii=False),
            "EventBusName": bus,
        }
        for what, scope in told
    ]


def entry_size(entry: Mapping[str, Any]) -> int:
    """An entry's size as EventBridge counts it against a call's MOST_BYTES."""
    size = TIME_BYTES if "Time" in entry else 0
    for name in ("Source", "DetailType", "Detail"):
        size += len(entry.get(name, "").encode())
    return size + sum(len(r.encode()) for r in entry.get("Resources", []))


def batches(found: Sequence[dict[str, Any]]) -> tuple[list[list[dict[str, Any]]], int]:
    """The entries in calls of at most MOST_ENTRIES and less than MOST_BYTES each, in order;
    and how many were left out, each too large for a call of its own."""
    calls: list[list[dict[str, Any]]] = []
    size, too_large = 0, 0
    for entry in found:
        this = entry_size(entry)
        if this >= MOST_BYTES:
            too_large += 1
            continue
        if not calls or len(calls[-1]) == MOST_ENTRIES or size + this >= MOST_BYTES:
            calls.append([])
            size = 0
        calls[-1].append(entry)
        size += this
    return calls, too_large


# --- sending them --------------------------------------------------------------------------------


class Call:
    """One PutEvents call: sent again (after a throttle), it sends only the entries that did
    not get through."""

    def __init__(self, events: Any, entries: list[dict[str, Any]]):
        self.events, self.entries = events, entries

    def __call__(self) -> None:
        try:
            answer = self.events.put_events(Entries=self.entries)
        except Exception as e:
            raise aws_error("PutEvents", e) from e
        failed = [
            (entry, result)
            for entry, result in zip(self.entries, answer.get("Entries", []), strict=False)
            if result.get("ErrorCode")
        ]
        if not failed:
            self.entries = []
            return
        self.entries = [entry for entry, _ in failed]
        code, message = failed[0][1]["ErrorCode"], failed[0][1].get("ErrorMessage", "")
        raise AwsError(f"PutEvents failed for {len(failed)} events: {code}: {message}", code=code)


def publish(events: Any, story: Story, deadline: float) -> list[str]:
    """Send the events of what the run has to tell (history.to_tell), none after `deadline`
    (time.monotonic()); a warning for those that could not be sent."""
    found = entries(story, to_tell(story.before, story.after, story.restored))
    batched, too_large = batches(found)
    calls = [Call(events, batch) for batch in batched]
    jobs = [Job(f"PutEvents {i}", f"events {i}", call) for i, call in enumerate(calls)]
    failures = write_jobs([], jobs, deadline, story.config.write_workers)
    unsent = too_large + sum(
        len(c.entries) for c, j in zip(calls, jobs, strict=True) if j.key in failures
    )
    if not unsent:
        return []
    errors = [f.error for f in failures.values() if not f.left]
    why = errors[0] if errors else "the run's time was spent"
    if too_large and not failures:
        why = f"{too_large} over {MOST_BYTES:,} bytes"
    return [
        f"could not tell events_bus {story.config.events_bus} of {unsent} of {len(found)} "
        f"changes: {why}; autoscaler-pauser history lists every pause"
    ]
