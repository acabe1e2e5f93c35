"""The state file: what the last run recorded, read (a bad file is moved aside) and written
whole or not at all."""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .config import Config

log = logging.getLogger("autoscaler-pauser")

STATE_VERSION = 1


@dataclass(frozen=True)
class State:
    """What the last run recorded. `fresh` is true when there was no usable earlier state."""

    paused: bool = False
    saved: Mapping[str, Any] = field(default_factory=dict)  # target key -> pre-pause setting
    last_action: str = "none"
    last_action_at: str | None = None
    last_run_at: str | None = None
    last_result: str | None = None
    last_error: str | None = None
    active_clusters: tuple[Mapping[str, str], ...] = ()
    failed_targets: tuple[str, ...] = ()
    paused_at: str | None = None  # when the current pause began
    last_seen_active_at: str | None = None  # when a cluster holding the pause was last seen
    last_success_at: str | None = None
    ignored_clusters: tuple[str, ...] = ()  # held a pause past max_pause_minutes: hold no more
    alarm: str | None = None
    fresh: bool = True


class StateFileError(Exception):
    """The state file's path cannot be used at all (not a bad file: that is moved aside)."""


def _check_state(data: Any) -> State:
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    version = data.get("version", STATE_VERSION)
    if version != STATE_VERSION:
        raise ValueError(f"written by an unknown version {version!r} of the state format")
    saved = data.get("saved", {})
    if not isinstance(data.get("paused", False), bool) or not isinstance(saved, dict):
        raise ValueError("'paused' or 'saved' has the wrong type")
    clean = {}
    for k, v in saved.items():
        if isinstance(v, list):
            v = tuple(v)
        if not (isinstance(v, int) and not isinstance(v, bool)) and not (
            isinstance(v, tuple) and len(v) == 3 and all(isinstance(b, bool) for b in v)
        ):
            raise ValueError(f"saved setting of {k!r} is not understood")
        clean[k] = v
    clusters = data.get("active_clusters", [])
    if not isinstance(clusters, list) or not all(isinstance(c, dict) for c in clusters):
        raise ValueError("'active_clusters' is not a list of objects")
    failed = data.get("failed_targets", [])
    ignored = data.get("ignored_clusters", [])
    if not isinstance(failed, list) or not isinstance(ignored, list):
        raise ValueError("'failed_targets' or 'ignored_clusters' is not a list")
    times = {}
    for name in ("paused_at", "last_seen_active_at", "last_success_at", "last_run_at"):
        if data.get(name) is not None and parse_iso(data[name]) is None:
            raise ValueError(f"{name!r} is not a time like 2026-01-31T23:59:00Z")
        times[name] = data.get(name)
    return State(
        paused=data.get("paused", False),
        failed_targets=tuple(map(str, failed)),
        ignored_clusters=tuple(map(str, ignored)),
        paused_at=times["paused_at"],
        last_seen_active_at=times["last_seen_active_at"],
        last_success_at=times["last_success_at"],
        alarm=data.get("alarm"),
        saved=clean,
        last_action=str(data.get("last_action", "none")),
        last_action_at=data.get("last_action_at"),
        last_run_at=data.get("last_run_at"),
        last_result=data.get("last_result"),
        last_error=data.get("last_error"),
        active_clusters=tuple(clusters),
        fresh=False,
    )


def read_state(path: str, now: datetime, move_aside: bool = True) -> State:
    """The state file; missing is a fresh state, unreadable content is moved aside and warned of."""
    try:
        with open(path, "rb") as f:
            content = f.read()
    except FileNotFoundError:
        return State()
    except IsADirectoryError:
        raise StateFileError(f"state_file: {path} is a directory") from None
    except OSError as e:
        raise StateFileError(f"state_file: cannot read {path}: {e.strerror}") from None
    try:
        return _check_state(json.loads(content.decode("utf-8")))
    except (ValueError, UnicodeDecodeError) as e:
        if not move_aside:
            log.warning("state file %s is not usable (%s)", path, e)
            return State()
        aside = f"{path}.bad-{now.strftime('%Y%m%dT%H%M%SZ')}"
        os.replace(path, aside)
        log.warning(
            "state file %s is not usable (%s); moved it to %s and went on from AWS", path, e, aside
        )
        return State()


def ensure_state_dir(path: str, key: str = "state_file") -> None:
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError as e:
        raise StateFileError(f"{key}: cannot create folder {folder}: {e.strerror}") from None


def check_files(config: Config) -> None:
    """Before any AWS call: a new state file can be made, and the lock file opens. Otherwise a
    run would change the autoscaler and then fail to record it, or (filelock waits out a lock
    file it cannot create) be skipped on every run with exit 0."""
    ensure_state_dir(config.state_file)
    ensure_state_dir(config.lock_path, "lock_file")
    folder = os.path.dirname(os.path.abspath(config.state_file))
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise StateFileError(f"state_file: cannot write in {folder}: {e.strerror}") from None
    try:
        os.close(os.open(config.lock_path, os.O_RDWR | os.O_CREAT, 0o600))
    except OSError as e:
        raise StateFileError(f"lock_file: cannot open {config.lock_path}: {e.strerror}") from None


def write_json_atomic(path: str, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_text_atomic(path: str, text: str, mode: int = 0o600) -> None:
    """Write the whole file or nothing: temp file beside it, fsync, rename."""
    folder = os.path.dirname(os.path.abspath(path))
    prefix = "." + os.path.basename(path) + "."
    # A run killed between mkstemp and rename leaves its temp file; only the lock holder writes.
    for stale in glob.glob(os.path.join(glob.escape(folder), glob.escape(prefix) + "*.tmp")):
        with contextlib.suppress(OSError):
            os.unlink(stale)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def state_to_json(state: State, config: Config) -> dict[str, Any]:
    data = dataclasses.asdict(state)
    data.pop("fresh")
    data["version"] = STATE_VERSION  # tuples in it are written as JSON arrays
    data["saved_desired_count"] = (
        state.saved.get(ecs_key(config.autoscaler_cluster, config.autoscaler_service))
        if config.has_ecs
        else None
    )
    return data


def ecs_key(cluster: str, service: str) -> str:
    return f"ecs-service:{cluster}/{service}"


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def paused_seconds(state: State, now: datetime) -> float | None:
    """How long the current pause has lasted, or None when there is none (or its start is not
    known)."""
    since = parse_iso(state.paused_at) if state.paused else None
    return (now - since).total_seconds() if since else None


def parse_iso(text: Any) -> datetime | None:
    """A time as iso() writes it, or None."""
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None
