"""The state file: this host's run record and its copy of the pause record, read (a file that
cannot be understood is moved aside) and written whole or not at all.

Its content: {"version": 2, "pause": <the pause record, as state_table holds it>, "run": <this
host's last run>}. A file of another version, or of none, cannot be understood.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .config import Config
from .model import Cluster, RunRecord, Scan, State
from .record_format import Warnings, check_times, pause_from_json, pause_to_json

log = logging.getLogger("autoscaler-pauser")

STATE_VERSION = 2


class StateFileError(Exception):
    """The state file's path cannot be used at all (not a bad file: that is moved aside), or
    it holds another pauser's pause record: exit 2, before any AWS call."""


class UnusableState(ValueError):
    """The state file is there, but its content cannot be understood."""


def state_to_json(state: State) -> dict[str, Any]:
    """The state file's content."""
    return {
        "version": STATE_VERSION,
        "pause": pause_to_json(state.pause),
        "run": dataclasses.asdict(state.run),
    }


def state_from_json(data: Any, where: str) -> tuple[State, Warnings]:
    """The state file's content, checked; ValueError says what makes it unusable."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    version = data.get("version")
    if version is None:
        raise ValueError("it names no version of the state format")
    if version != STATE_VERSION:
        raise ValueError(f"written by an unknown version {version!r} of the state format")
    if not isinstance(data.get("pause"), dict) or not isinstance(data.get("run"), dict):
        raise ValueError("'pause' or 'run' is not an object")
    pause, warnings = pause_from_json(data["pause"], where)
    return State(pause, run_from_json(data["run"])), warnings


RUN_TIMES = ("last_action_at", "last_success_at", "last_run_at", "scanned_at")


def run_from_json(data: Mapping[str, Any]) -> RunRecord:
    check_times(data, RUN_TIMES)
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
        active_clusters=tuple(_cluster(c) for c in clusters),
        failed_targets=tuple(map(str, failed)),
        warnings=tuple(map(str, warnings)),
        planned=_count(data, "planned"),
        pending=_count(data, "pending"),
        scan=_scan(data.get("scan")),
        scanned_at=data.get("scanned_at"),
    )


def _cluster(data: Mapping[str, Any]) -> Cluster:
    tables = data.get("tables")
    if tables is not None and not (
        isinstance(tables, list) and all(isinstance(t, str) for t in tables)
    ):
        raise ValueError("a cluster's 'tables' is not a list of names")
    fields = (str(data.get(f, "")) for f in ("id", "name", "state", "prefix"))
    tables = None if tables is None else tuple(tables)
    return Cluster(*fields, tables=tables, unread=data.get("unread") is True)


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


def load_state(config: Config) -> tuple[State, Warnings]:
    """The state file as it is: missing is a fresh state; content that cannot be understood
    raises UnusableState, a path that cannot be read StateFileError."""
    path = config.state_file
    try:
        with open(path, "rb") as f:
            content = f.read()
    except FileNotFoundError:
        return State(), Warnings()
    except IsADirectoryError:
        raise StateFileError(f"state_file: {path} is a directory") from None
    except OSError as e:
        raise StateFileError(f"state_file: cannot read {path}: {e.strerror}") from None
    try:
        return state_from_json(json.loads(content.decode("utf-8")), f"state file {path}")
    except (ValueError, UnicodeDecodeError) as e:
        raise UnusableState(str(e)) from None


def read_state(config: Config, now: datetime) -> tuple[State, Warnings]:
    """The state file for a run: one that cannot be understood is moved aside, with a warning,
    and the run goes on from AWS. One that holds another pauser's pause record stops the run."""
    path = config.state_file
    try:
        state, warnings = load_state(config)
    except UnusableState as e:
        aside = f"{path}.bad-{now.strftime('%Y%m%dT%H%M%SZ')}"
        os.replace(path, aside)
        log.warning(
            "state file %s is not usable (%s); moved it to %s and went on from AWS", path, e, aside
        )
        return State(), Warnings()
    check_pauser(state, config)
    return state, warnings


def check_state(config: Config) -> None:
    """For check-config: the state file, if there is one, holds no other pauser's record (one
    that cannot be understood is a run's to move aside)."""
    with contextlib.suppress(UnusableState):
        check_pauser(load_state(config)[0], config)


def check_pauser(state: State, config: Config) -> None:
    """A state file holds one pauser's pause record: another pauser's, with a pause or saved
    settings in it, is StateFileError. An empty one, or one that names no pauser, is taken
    over."""
    theirs, ours = state.pause.pauser, config.pauser_name
    if theirs is None or theirs == ours or state.pause.empty:
        return
    raise StateFileError(
        f"state_file: {config.state_file} holds the pause record of the pauser {theirs!r}, and "
        f"this config is the pauser {ours!r}: give each pauser its own state_file (and, with "
        f"state_table, its own name); if this is {theirs!r} with a changed config, set its "
        f"name: {theirs!r}"
    )


def check_files(config: Config, create: bool = True) -> None:
    """Before any AWS call: the state, lock and metrics files are three files; a new state file
    (and metrics file) can be made, and the lock file opens. Otherwise a run would change the
    autoscaler and then fail to record it, or wait out a lock file it cannot open and be skipped
    on every run with exit 0. With `create` the folders and the lock file are made;
    without it (check-config) nothing is left behind."""
    _check_distinct(config)
    _check_file(config.state_file, "state_file", create)
    lock = config.lock_path
    there = os.path.lexists(lock)
    if not there:
        _check_folder(lock, "lock_file", create)
    if there or create:
        try:
            os.close(os.open(lock, os.O_RDWR | (os.O_CREAT if create else 0), 0o600))
        except OSError as e:
            raise StateFileError(f"lock_file: cannot open {lock}: {e.strerror}") from None
    if config.metrics_file:
        # node_exporter, another user, reads the metrics: their folder is not the state's 0700.
        _check_file(config.metrics_file, "metrics_file", create, folder_mode=0o755)


def _check_distinct(config: Config) -> None:
    """Three files, compared as their paths resolve (symbolic links followed): a lock taken on
    the state file would be locked files' content (a lock library may open the file it locks with
    O_TRUNC), and metrics written over either would replace it."""
    state, lock, metrics = config.state_file, config.lock_path, config.metrics_file

    def same(a: str, b: str) -> bool:
        return os.path.realpath(a) == os.path.realpath(b)

    if same(lock, state):
        raise StateFileError(
            f"lock_file: {lock} is the state file: give the lock a file of its own, or leave "
            f"lock_file out ({state}.lock)"
        )
    for other, what in ((state, "state"), (lock, "lock")):
        if metrics and same(metrics, other):
            raise StateFileError(
                f"metrics_file: {metrics} is the {what} file: give the metrics a file of their own"
            )


def _check_file(path: str, key: str, create: bool, folder_mode: int = 0o700) -> None:
    """A file written whole at `path` (a temporary file beside it, then renamed) can be made."""
    if os.path.isdir(path):
        raise StateFileError(f"{key}: {path} is a directory")
    _check_folder(path, key, create, folder_mode)


def _check_folder(path: str, key: str, create: bool, mode: int = 0o700) -> None:
    """A file can be made beside `path`: its folder is made (with `create`), or could be."""
    folder = os.path.dirname(os.path.abspath(path))
    if create:
        try:
            os.makedirs(folder, mode=mode, exist_ok=True)
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


def write_json_atomic(path: str, data: Any, durable: bool = True) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n", durable=durable)


def write_text_atomic(path: str, text: str, mode: int = 0o600, durable: bool = True) -> None:
    """Write the whole file or nothing: temp file beside it, fsync, rename. `durable`: the
    rename too is on disk when this returns (the folder fsynced), as a record of what a resume
    needs must be; without it, a crash may leave the file before (whole, all the same)."""
    folder = os.path.dirname(os.path.abspath(path))
    prefix = "." + os.path.basename(path) + "."
    # A run killed between mkstemp and rename leaves its temp file; only the lock holder writes.
    for stale in os.listdir(folder):
        if stale.startswith(prefix) and stale.endswith(".tmp"):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, stale))
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
    if not durable:
        return
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
