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
from datetime import datetime
from typing import Any

from .config import Config
from .model import (
    Cluster,
    PauseRecord,
    RunRecord,
    Scan,
    Setting,
    State,
    Suspension,
    parse_iso,
)

log = logging.getLogger("autoscaler-pauser")

STATE_VERSION = 1


class StateFileError(Exception):
    """The state file's path cannot be used at all (not a bad file: that is moved aside)."""


PAUSE_TIMES = ("paused_at", "last_seen_active_at")
RUN_TIMES = ("last_success_at", "last_run_at", "scanned_at")


def state_from_json(data: Any) -> State:
    """The state file's content, checked; ValueError says what is wrong with it."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    version = data.get("version", STATE_VERSION)
    if version != STATE_VERSION:
        raise ValueError(f"written by an unknown version {version!r} of the state format")
    return State(pause_from_json(data), run_from_json(data))


def _check_times(data: Mapping[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        if data.get(name) is not None and parse_iso(data[name]) is None:
            raise ValueError(f"{name!r} is not a time like 2026-01-31T23:59:00Z")


def pause_from_json(data: Mapping[str, Any]) -> PauseRecord:
    """A pause record, from the state file or state_table, checked; ValueError says what is
    wrong with it."""
    _check_times(data, PAUSE_TIMES)
    saved = data.get("saved", {})
    if not isinstance(data.get("paused", False), bool) or not isinstance(saved, dict):
        raise ValueError("'paused' or 'saved' has the wrong type")
    failsafe = data.get("failsafe", {})
    if not isinstance(failsafe, dict) or any(parse_iso(v) is None for v in failsafe.values()):
        raise ValueError("'failsafe' is not a mapping of targets to times")
    ignored = data.get("ignored_clusters", [])
    if not isinstance(ignored, list):
        raise ValueError("'ignored_clusters' is not a list")
    return PauseRecord(
        paused=data.get("paused", False),
        paused_at=data.get("paused_at"),
        last_seen_active_at=data.get("last_seen_active_at"),
        ignored_clusters=tuple(map(str, ignored)),
        alarm=data.get("alarm"),
        saved={key: setting_from_json(key, value) for key, value in saved.items()},
        failsafe={str(key): str(due) for key, due in failsafe.items()},
        fresh=False,
    )


def setting_from_json(key: str, value: Any) -> Setting:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, list) and len(value) == 3 and all(isinstance(b, bool) for b in value):
        return Suspension(*value)
    raise ValueError(f"saved setting of {key!r} is not understood")


def run_from_json(data: Mapping[str, Any]) -> RunRecord:
    _check_times(data, RUN_TIMES)
    clusters = data.get("active_clusters", [])
    if not isinstance(clusters, list) or not all(isinstance(c, dict) for c in clusters):
        raise ValueError("'active_clusters' is not a list of objects")
    failed, warnings = data.get("failed_targets", []), data.get("warnings", [])
    if not isinstance(failed, list) or not isinstance(warnings, list):
        raise ValueError("'failed_targets' or 'warnings' is not a list")
    return RunRecord(
        last_action=str(data.get("last_action", "none")),
        last_action_at=data.get("last_action_at"),
        last_run_at=data.get("last_run_at"),
        last_result=data.get("last_result"),
        last_error=data.get("last_error"),
        last_success_at=data.get("last_success_at"),
        active_clusters=tuple(
            Cluster(*(str(c.get(f, "")) for f in ("id", "name", "state", "prefix")))
            for c in clusters
        ),
        failed_targets=tuple(map(str, failed)),
        warnings=tuple(map(str, warnings)),
        planned=_count(data, "planned"),
        pending=_count(data, "pending"),
        scan=_scan(data.get("scan")),
        scanned_at=data.get("scanned_at"),
    )


def _scan(data: Any) -> Scan | None:
    if data is None:
        return None
    ids = data.get("ids") if isinstance(data, dict) else None
    namespace = data.get("namespace") if isinstance(data, dict) else None
    if not isinstance(ids, list) or type(namespace) is not int:
        raise ValueError("'scan' is not a list of resource ids and a count")
    return Scan(tuple(map(str, ids)), namespace)


def _count(data: Mapping[str, Any], name: str) -> int:
    value = data.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name!r} is not a count")
    return value


class UnusableState(ValueError):
    """The state file is there, but its content cannot be understood."""


def load_state(path: str) -> State:
    """The state file as it is: missing is a fresh state; content that cannot be understood
    raises UnusableState, a path that cannot be read StateFileError."""
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
        return state_from_json(json.loads(content.decode("utf-8")))
    except (ValueError, UnicodeDecodeError) as e:
        raise UnusableState(str(e)) from None


def read_state(path: str, now: datetime) -> State:
    """The state file for a run: one that cannot be understood is moved aside, with a warning,
    and the run goes on from AWS."""
    try:
        return load_state(path)
    except UnusableState as e:
        aside = f"{path}.bad-{now.strftime('%Y%m%dT%H%M%SZ')}"
        os.replace(path, aside)
        log.warning(
            "state file %s is not usable (%s); moved it to %s and went on from AWS", path, e, aside
        )
        return State()


def check_files(config: Config, create: bool = True) -> None:
    """Before any AWS call: a new state file can be made, and the lock file opens. Otherwise a
    run would change the autoscaler and then fail to record it, or (filelock waits out a lock
    file it cannot create) be skipped on every run with exit 0. With `create` the folders and
    the lock file are made; without it (check-config) nothing is left behind."""
    if os.path.isdir(config.state_file):
        raise StateFileError(f"state_file: {config.state_file} is a directory")
    _check_folder(config.state_file, "state_file", create)
    lock = config.lock_path
    there = os.path.lexists(lock)
    if not there:
        _check_folder(lock, "lock_file", create)
    if there or create:
        try:
            os.close(os.open(lock, os.O_RDWR | (os.O_CREAT if create else 0), 0o600))
        except OSError as e:
            raise StateFileError(f"lock_file: cannot open {lock}: {e.strerror}") from None


def _check_folder(path: str, key: str, create: bool) -> None:
    """A file can be made beside `path`: its folder is made (with `create`), or could be."""
    folder = os.path.dirname(os.path.abspath(path))
    if create:
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
        except OSError as e:
            raise StateFileError(f"{key}: cannot create folder {folder}: {e.strerror}") from None
    _check_writable(_nearest_folder(folder, key), key)


def _nearest_folder(folder: str, key: str) -> str:
    """The folder, or where it would be made: its nearest ancestor that is there."""
    while not os.path.lexists(folder):
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        raise StateFileError(f"{key}: cannot create a folder under {folder}: Not a directory")
    return folder


def _check_writable(folder: str, key: str) -> None:
    """A file can be made in the folder. (An unnamed temporary file: Linux leaves no entry.)"""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise StateFileError(f"{key}: cannot write in {folder}: {e.strerror}") from None


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


def state_to_json(state: State, service_key: str | None = None) -> dict[str, Any]:
    """The state file's content: both records in one object, and the saved count of the ECS
    service of `service_key`, if any."""
    data = {**pause_to_json(state.pause), **dataclasses.asdict(state.run), "version": STATE_VERSION}
    data["saved_desired_count"] = state.pause.saved.get(service_key) if service_key else None
    return data


def pause_to_json(record: PauseRecord) -> dict[str, Any]:
    """The pause record as JSON data (tuples are written as arrays), as pause_from_json reads it."""
    data = dataclasses.asdict(record)
    del data["fresh"]
    return data
