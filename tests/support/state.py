"""The state file as tests read it: the run record's fields, and the pause record's in one
view (every scope's pause together, the saved settings and schedules by key)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def flat(data: dict[str, Any]) -> dict[str, Any]:
    """A state file's content in one mapping: the run record's fields, `saved_desired_count`
    (the saved count of the ECS service, if the record holds one), and of the pause record
    `pauser`, `paused` (any scope), `paused_at` (the oldest),
    `last_seen_active_at` (the latest), `ignored_clusters`, `alarm`, `holds` (by scope),
    `saved` and `failsafe` (key -> due) and `schedules` (key -> schedule), and `pauses` (each
    scope's history of pauses)."""
    pause = data["pause"]
    beside = ("targets", "pauses")  # what a scope's entry holds besides its hold
    holds = {s: {k: v for k, v in e.items() if k not in beside} for s, e in pause["scopes"].items()}
    holds = {s: h for s, h in holds.items() if h}
    targets = {k: v for e in pause["scopes"].values() for k, v in e.get("targets", {}).items()}
    began = [h["paused_at"] for h in holds.values() if h.get("paused_at")]
    seen = [h["last_seen"] for h in holds.values() if h.get("last_seen")]
    alarms = [h["alarm"] for h in holds.values() if h.get("alarm")]
    return {
        **data["run"],
        "version": data["version"],
        "saved_desired_count": next(
            (t["saved"] for k, t in targets.items() if k.startswith("ecs:") and "saved" in t), None
        ),
        "pauser": pause["pauser"],
        "paused": bool(began),
        "paused_at": min(began, default=None),
        "last_seen_active_at": max(seen, default=None),
        "ignored_clusters": sorted({c for h in holds.values() for c in h.get("ignored", [])}),
        "alarm": alarms[0] if alarms else None,
        "holds": holds,
        "saved": {k: t["saved"] for k, t in targets.items() if "saved" in t},
        "schedules": {k: t["schedule"] for k, t in targets.items() if "schedule" in t},
        "failsafe": {k: t["schedule"]["due"] for k, t in targets.items() if "schedule" in t},
        "pauses": {s: e["pauses"] for s, e in pause["scopes"].items() if "pauses" in e},
    }


def read(path: Path | str) -> dict[str, Any]:
    return flat(json.loads(Path(path).read_text()))


def whole(path: Path | str) -> dict[str, Any]:
    """The state file, which must be complete: valid JSON with every field, ended by a newline;
    as flat() gives it."""
    from autoscaler_pauser.model import State
    from autoscaler_pauser.state_file import state_to_json

    text = Path(path).read_text()
    data = json.loads(text)
    assert set(data) == set(state_to_json(State())), text
    assert text.endswith("}\n"), text
    return flat(data)
