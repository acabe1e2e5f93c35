"""The state file: this host's run record and its copy of the pause record, read field by field
(a file that is not a JSON object is moved aside) and written whole or not at all.

Its content: {"version": 2, "pause": <the pause record, as state_table holds it>, "run": <this
host's last run>}.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import tempfile
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .config import Config
from .model import Cluster, PauseRecord, RunRecord, Scan, State, parse_iso
from .record_format import LOOKED_FOR, Reader, Warnings, pause_from_json, pause_to_json

log = logging.getLogger("autoscaler-pauser")

STATE_VERSION = 2


class StateFileError(Exception):
    """The state file's path cannot be used at all (not a bad file: that is moved aside), or
    it holds another pauser's pause record: exit 2, before any change."""


class UnusableState(ValueError):
    """The state file is there, but it is not a JSON object: no field of it can be kept."""


def state_to_json(state: State) -> dict[str, Any]:
    """The state file's content."""
    return {
        "version": STATE_VERSION,
        "pause": pause_to_json(state.pause),
        "run": dataclasses.asdict(state.run),
    }


def state_from_json(data: Any, where: str) -> tuple[State, Warnings]:
    """The state file's content, checked field by field as the pause record is (record_format):
    a field that cannot be understood is set aside with a warning, the rest read. ValueError
    only for content that is not a JSON object, or holds no field of a state file: there is
    nothing in it to keep."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    if not {"version", "pause", "run"} & set(data):
        raise ValueError("no field of a state file in it")
    read = Reader(where)
    version = data.get("version")
    if version != STATE_VERSION:
        read.aside("the version", version, f"is not {STATE_VERSION}", f"read as {STATE_VERSION}")
    pause, run = data.get("pause"), data.get("run")
    try:
        record, warnings = pause_from_json(pause, where)
        read.warnings += warnings
    except ValueError as e:
        instead = "the settings on AWS are used, and " + LOOKED_FOR
        read.aside("the pause record", pause, f"is not understood ({e})", instead)
        record = PauseRecord(sweep=True)
    if not isinstance(run, dict):
        read.aside("the run record", run, "is not an object", "read as no run yet")
        run = {}
    return State(record, run_from_json(run, read)), read.warnings


RUN_TIMES = ("last_action_at", "last_success_at", "last_run_at", "scanned_at", "skipped_at")
RUN_COUNTS = ("planned", "pending", "skipped")


def run_from_json(data: Mapping[str, Any], read: Reader) -> RunRecord:
    """This host's last run; a field not understood is read as before any run."""
    fields: dict[str, Any] = {}
    for name in RUN_TIMES:
        value = data.get(name)
        if value is not None and parse_iso(value) is None:
            read.aside(f"the run's {name!r}", value, "is not a time", "read as none")
            value = None
        fields[name] = value
    for name in RUN_COUNTS:
        value = data.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            read.aside(f"the run's {name!r}", value, "is not a count", "read as 0")
            value = 0
        fields[name] = value
    for name in ("failed_targets", "warnings"):
        value = data.get(name, [])
        if not isinstance(value, list):
            read.aside(f"the run's {name!r}", value, "is not a list", "read as none")
            value = []
        fields[name] = tuple(map(str, value))
    ahead = data.get("clock_ahead", 0.0)
    if isinstance(ahead, bool) or not isinstance(ahead, (int, float)) or not math.isfinite(ahead):
        read.aside("the run's 'clock_ahead'", ahead, "is not a number", "read as 0")
        ahead = 0.0
    return RunRecord(
        last_action=str(data.get("last_action", "none")),
        last_result=_optional_text(data.get("last_result")),
        last_error=_optional_text(data.get("last_error")),
        skipped_by=_optional_text(data.get("skipped_by")),
        active_clusters=_clusters(data.get("active_clusters", []), read),
        scan=_scan(data.get("scan"), read),
        clock_ahead=float(ahead),
        **fields,
    )


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _clusters(data: Any, read: Reader) -> tuple[Cluster, ...]:
    """The active clusters of the last run, for status; one not understood is left out."""
    if not isinstance(data, list):
        read.aside("the run's 'active_clusters'", data, "is not a list", "read as none")
        return ()
    clusters = []
    for entry in data:
        tables = entry.get("tables") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not (
            tables is None or (isinstance(tables, list) and all(isinstance(t, str) for t in tables))
        ):
            read.aside("an active cluster of the run", entry, "is not understood", "left out")
            continue
        fields = (str(entry.get(f, "")) for f in ("id", "name", "state", "prefix"))
        tables = None if tables is None else tuple(tables)
        clusters.append(Cluster(*fields, tables=tables, unread=entry.get("unread") is True))
    return tuple(clusters)


def _scan(data: Any, read: Reader) -> Scan | None:
    if data is None:
        return None
    ids = data.get("ids") if isinstance(data, dict) else None
    namespace = data.get("namespace") if isinstance(data, dict) else None
    if not isinstance(ids, list) or type(namespace) is not int:
        read.aside(
            "the run's 'scan'",
            data,
            "is not a list of resource ids and a count",
            "the next run reads the namespace again",
        )
        return None
    return Scan(tuple(map(str, ids)), namespace)


def load_state(config: Config) -> tuple[State, Warnings]:
    """The state file as it is: missing is a fresh state; content that is not a JSON object
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


def read_state(config: Config, now: datetime, dry_run: bool = False) -> tuple[State, Warnings]:
    """The state file for a run: one that is not a JSON object is moved aside, with a warning,
    and the run goes on from AWS, looking for the failsafe's schedules the file held (a dry run
    leaves it where it is). One that holds another pauser's pause record stops the run."""
    path = config.state_file
    try:
        state, warnings = load_state(config)
    except UnusableState as e:
        if dry_run:
            log.warning("state file %s is not usable (%s); a run would move it aside", path, e)
            return State(), Warnings()
        aside = f"{path}.bad-{now.strftime('%Y%m%dT%H%M%SZ')}"
        os.replace(path, aside)
        log.warning(
            "state file %s is not usable (%s); moved it to %s and went on from AWS (%s)",
            path,
            e,
            aside,
            LOOKED_FOR,
        )
        return State(PauseRecord(sweep=True)), Warnings()
    check_pauser(state, config)
    return state, warnings


def check_state(config: Config) -> None:
    """For check-config: the state file, if there is one, holds no other pauser's record (one
    that is not a JSON object is a run's to move aside)."""
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
