#!/usr/bin/env python3
"""Pause a DynamoDB throughput autoscaler while backup EMR clusters run.

One run: config -> lock -> state file -> observe (EMR, autoscaler) -> decide -> act -> record.
Exit codes: 0 done or skipped, 1 AWS or runtime failure, 2 bad config or usage, 3 paused for
longer than max_pause_minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import glob
import json
import logging
import math
import os
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

__version__ = "1.0.0"

log = logging.getLogger("autoscaler-pauser")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_STUCK = 0, 1, 2, 3

# EMR states that `aws emr list-clusters --active` asks for.
ACTIVE_STATES = ("STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING", "TERMINATING")
SAVED_COUNT_TAG = "autoscaler-pauser:saved-desired-count"
SAVED_SCALING_TAG = "autoscaler-pauser:saved-scaling"
# Application Auto Scaling's three kinds of scaling, in the order of a suspension tuple.
SUSPEND_FLAGS = (
    "DynamicScalingInSuspended",
    "DynamicScalingOutSuspended",
    "ScheduledScalingSuspended",
)
SUSPENDED, SCALING = (True, True, True), (False, False, False)
STATE_VERSION = 1
DEFAULT_STATE_FILE = "/var/lib/autoscaler-pauser/state.json"
CONFIG_ENV = "AUTOSCALER_PAUSER_CONFIG"


# --- config ------------------------------------------------------------------------------------


class ConfigError(Exception):
    """Every problem the user can fix, one line each, naming its key."""

    def __init__(self, problems: Sequence[str]):
        super().__init__("\n".join(problems))
        self.problems = list(problems)


REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
TABLE_RE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
ECS_KEYS = ("autoscaler_cluster", "autoscaler_region", "autoscaler_service")


@dataclass(frozen=True)
class Key:
    name: str
    kind: str  # "str", "prefixes", "tables", "region", "int", "number", "bool", "flag", "path"
    default: Any
    help: str
    required: bool = False  # "ecs" when required unless dynamodb_tables is set
    minimum: float | None = None
    example: Any = None  # the value config.example.yaml shows for a required key

    @property
    def env(self) -> str:
        return self.name.upper()

    @property
    def type_name(self) -> str:
        return {
            "prefixes": "string or list of strings",
            "tables": "list of strings",
            "region": "AWS region",
            "int": "integer",
            "number": "number",
            "flag": "boolean",
            "bool": "boolean",
            "path": "path",
        }.get(self.kind, "string")


# The single source for parsing, validation, environment names, config.example.yaml and the
# README's table (tests/test_config.py checks that both agree with it).
KEYS: tuple[Key, ...] = (
    Key(
        "emr_prefix",
        "prefixes",
        None,
        "EMR cluster name prefix that marks a backup cluster; "
        "a list (env: comma-separated) matches any of them",
        required=True,
        example="nightly-backup-",
    ),
    Key("emr_region", "region", None, "region of the EMR clusters", True, example="us-east-1"),
    Key(
        "autoscaler_cluster",
        "str",
        None,
        "ECS cluster of the autoscaler service",
        required="ecs",
        example="autoscaler",
    ),
    Key(
        "autoscaler_region",
        "region",
        None,
        "region of that ECS cluster",
        required="ecs",
        example="us-east-1",
    ),
    Key(
        "autoscaler_service",
        "str",
        None,
        "ECS service name of the autoscaler; if it is itself an Application Auto Scaling "
        "target, that target is suspended too while paused",
        required="ecs",
        example="ddb-scaler",
    ),
    Key(
        "dynamodb_tables",
        "tables",
        [],
        "DynamoDB tables whose native auto scaling (Application Auto Scaling, tables and their "
        "global secondary indexes) is suspended while paused; env: comma-separated",
    ),
    Key(
        "dynamodb_region",
        "region",
        None,
        "region of those tables; default: autoscaler_region",
    ),
    Key(
        "debug_output",
        "flag",
        False,
        "debug logging; in the environment, the variable being "
        "present turns it on, whatever its value",
    ),
    Key(
        "resume_count",
        "int",
        1,
        "desired count on resume when no earlier count is known",
        minimum=1,
    ),
    Key(
        "max_pause_minutes",
        "number",
        360,
        "a pause longer than this is an alarm: every run logs an ERROR naming the clusters that "
        "hold it and exits 3; 0 turns the alarm off",
        minimum=0,
    ),
    Key(
        "force_resume_after_max_pause",
        "bool",
        False,
        "resume instead once a pause is over max_pause_minutes; the clusters active then hold "
        "no further pause, a new matching cluster pauses again",
    ),
    Key(
        "resume_grace_seconds",
        "number",
        0,
        "resume only once no matching cluster has been seen for this long, so that backups "
        "run back to back do not resume the autoscaler in between; pauses are never delayed",
        minimum=0,
    ),
    Key(
        "metrics_file",
        "path",
        None,
        "Prometheus metrics file written after every run, for node_exporter's textfile "
        "collector (name it *.prom); default: none",
    ),
    Key(
        "interval",
        "number",
        60,
        "seconds between runs in --loop mode",
        minimum=1,
    ),
    Key("state_file", "path", DEFAULT_STATE_FILE, "JSON file recording the last action"),
    Key(
        "lock_file",
        "path",
        None,
        "lock taken for the whole run; default: the state file's path + .lock",
    ),
    Key(
        "lock_timeout",
        "number",
        10,
        "seconds to wait for another run's lock before skipping this run",
        minimum=0,
    ),
)
KEYS_BY_NAME = {k.name: k for k in KEYS}


def _yaml_value(value: Any) -> str:
    import yaml

    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("\n...").strip()


def _requirement(key: Key) -> str:
    if key.required == "ecs":
        return "required unless dynamodb_tables is set"
    return "required" if key.required else f"default: {_yaml_value(key.default)}"


def example_yaml() -> str:
    """config.example.yaml, made from KEYS."""
    out = [
        "# autoscaler-pauser configuration: every key, with its default.",
        "# Every key can also be set by the environment variable of the same name in upper case",
        "# (emr_prefix: EMR_PREFIX); the environment wins over this file.",
        "",
    ]
    for key in KEYS:
        out.append(f"# {key.help[0].upper()}{key.help[1:]}.")
        out.append(f"# {key.type_name}, {_requirement(key)}; env {key.env}")
        if key.example is not None:
            out.append(f"{key.name}: {_yaml_value(key.example)}")
        else:
            out.append(f"# {key.name}: {_yaml_value(key.default)}")
        out.append("")
    return "\n".join(out)


def readme_with_table(readme: str) -> str:
    """The README with its table of keys remade."""
    start, end = "<!-- keys: made by `make docs` from reconcile.KEYS -->\n", "<!-- /keys -->"
    head, rest = readme.split(start, 1)
    return head + start + config_table() + end + rest.split(end, 1)[1]


def config_table() -> str:
    """The README's table of keys, made from KEYS."""
    rows = ["| key | environment | type | default | meaning |", "|---|---|---|---|---|"]
    for key in KEYS:
        default = _requirement(key).removeprefix("default: ")
        default = default if key.required else f"`{default}`"
        rows.append(f"| `{key.name}` | `{key.env}` | {key.type_name} | {default} | {key.help} |")
    return "\n".join(rows) + "\n"


@dataclass(frozen=True)
class Config:
    emr_prefix: tuple[str, ...]
    emr_region: str
    autoscaler_cluster: str | None = None
    autoscaler_region: str | None = None
    autoscaler_service: str | None = None
    dynamodb_tables: tuple[str, ...] = ()
    dynamodb_region: str | None = None
    debug_output: bool = False
    resume_count: int = 1
    max_pause_minutes: float = 360
    force_resume_after_max_pause: bool = False
    resume_grace_seconds: float = 0
    metrics_file: str | None = None
    interval: float = 60
    state_file: str = DEFAULT_STATE_FILE
    lock_file: str | None = None
    lock_timeout: float = 10

    @property
    def lock_path(self) -> str:
        return self.lock_file or self.state_file + ".lock"

    @property
    def has_ecs(self) -> bool:
        return self.autoscaler_service is not None

    @property
    def tables_region(self) -> str | None:
        return self.dynamodb_region or self.autoscaler_region


def read_config_file(path: str) -> dict[str, Any]:
    """The YAML file as a mapping; any problem with it is a ConfigError."""
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except IsADirectoryError:
        raise ConfigError([f"config file {path}: is a directory"]) from None
    except OSError as e:
        raise ConfigError([f"config file {path}: cannot read: {e.strerror}"]) from None
    except UnicodeDecodeError as e:
        raise ConfigError([f"config file {path}: not UTF-8 text ({e.reason})"]) from None
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        what = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError([f"config file {path}: not valid YAML{at}: {what}"]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            [f"config file {path}: must be a mapping of keys to values, not {_yaml_type(data)}"]
        )
    return data


def _yaml_type(value: Any) -> str:
    return {
        list: "a list",
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "a boolean",
    }.get(type(value), type(value).__name__)


def _convert(key: Key, value: Any, from_env: bool) -> Any:
    """One key's value, converted and checked; raises ValueError with the reason."""
    if key.kind == "flag" and from_env:
        return True
    if key.kind == "bool" and from_env:
        word = value.strip().lower()
        if word not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"must be true or false, got {value!r}")
        return word in ("true", "1", "yes")
    if key.kind in ("flag", "bool"):
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, got {value!r}")
        return value
    if key.kind in ("prefixes", "tables"):
        items = value.split(",") if from_env and isinstance(value, str) else value
        if isinstance(items, str) and key.kind == "prefixes":
            items = [items]
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            what = "a string or a list" if key.kind == "prefixes" else "a list"
            raise ValueError(f"must be {what} of strings")
        items = [i.strip() for i in items]
        if key.kind == "tables":
            items = [i for i in items if i] if from_env else items
            bad = [i for i in items if not TABLE_RE.match(i)]
            if bad:
                raise ValueError(f"not a DynamoDB table name: {bad[0]!r}")
        elif not items or any(not i for i in items):
            raise ValueError("must not be blank")
        return tuple(dict.fromkeys(items))
    if key.kind in ("int", "number"):
        if from_env:
            try:
                value = int(value) if key.kind == "int" else float(value)
            except ValueError:
                kind = "a whole number" if key.kind == "int" else "a number"
                raise ValueError(f"must be {kind}, got {value!r}") from None
        elif isinstance(value, bool) or not isinstance(
            value, int if key.kind == "int" else (int, float)
        ):
            kind = "a whole number" if key.kind == "int" else "a number"
            raise ValueError(f"must be {kind}, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"must be a finite number, got {value!r}")
        if key.minimum is not None and value < key.minimum:
            raise ValueError(f"must be at least {key.minimum:g}, got {value!r}")
        return value
    # str, region, path
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {_yaml_type(value)}")
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    if key.kind == "region" and not REGION_RE.match(value):
        raise ValueError(f"is not a region name like us-east-1, got {value!r}")
    return value


def load_config(path: str | None, environ: Mapping[str, str]) -> Config:
    """File values merged with environment values (the environment wins), all checked at once."""
    raw: dict[str, tuple[Any, bool]] = {}
    problems: list[str] = []
    if path:
        for name, value in read_config_file(path).items():
            if name not in KEYS_BY_NAME:
                close = [
                    k
                    for k in KEYS_BY_NAME
                    if k.replace("_", "") == str(name).replace("_", "").replace("-", "").lower()
                ]
                hint = f" (did you mean {close[0]}?)" if close else ""
                problems.append(f"{name}: unknown key{hint}")
            else:
                raw[name] = (value, False)
    for key in KEYS:
        if key.env in environ:
            raw[key.name] = (environ[key.env], True)
    values: dict[str, Any] = {}
    for key in KEYS:
        if key.name not in raw or (raw[key.name][0] is None and not raw[key.name][1]):
            if key.required is True:
                problems.append(f"{key.name}: required (set it in the config file or {key.env})")
            continue
        value, from_env = raw[key.name]
        try:
            values[key.name] = _convert(key, value, from_env)
        except ValueError as e:
            source = f" (from {key.env})" if from_env else ""
            problems.append(f"{key.name}: {e}{source}")
    problems += _target_problems(values, {k for k, (v, _) in raw.items() if v is not None})
    if problems:
        raise ConfigError(problems)
    return Config(**values)


def _target_problems(values: Mapping[str, Any], given: set[str]) -> list[str]:
    """At least one target; the ECS keys come as a group."""
    # autoscaler_region alone is no ECS target: it may only give the tables their region.
    ecs_given = [k for k in ("autoscaler_cluster", "autoscaler_service") if k in given]
    tables_given = bool(values.get("dynamodb_tables")) or (
        "dynamodb_tables" in given and "dynamodb_tables" not in values  # already reported
    )
    problems = []
    if not ecs_given and not tables_given:
        problems += [
            f"{k}: required (set it in the config file or {k.upper()}), unless "
            "dynamodb_tables is set"
            for k in ECS_KEYS
        ]
    elif ecs_given:
        problems += [
            f"{k}: required with {ecs_given[0]} (set it in the config file or {k.upper()})"
            for k in ECS_KEYS
            if k not in given
        ]
    if values.get("dynamodb_tables") and not given & {"dynamodb_region", "autoscaler_region"}:
        problems.append(
            "dynamodb_region: required with dynamodb_tables when autoscaler_region is not set "
            "(set it in the config file or DYNAMODB_REGION)"
        )
    return problems


# --- state file ----------------------------------------------------------------------------------


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


# --- AWS reads (observe) -------------------------------------------------------------------------


class AwsError(Exception):
    """An AWS call failed: one line with the operation and the AWS error code. `changed`: the
    target's setting was changed all the same, only the record of it on AWS failed."""

    def __init__(self, message: str, changed: bool = False):
        super().__init__(message)
        self.changed = changed


def aws_error(operation: str, e: Exception) -> AwsError:
    from botocore.exceptions import ClientError

    if isinstance(e, ClientError):
        err = e.response.get("Error", {})
        code = err.get("Code", "Unknown")
        message = err.get("Message", "")
        return AwsError(f"{operation} failed: {code}: {message}".rstrip(": "))
    return AwsError(f"{operation} failed: {type(e).__name__}: {e}")


@dataclass(frozen=True)
class Cluster:
    id: str
    name: str
    state: str
    prefix: str


def list_matching_clusters(emr: Any, prefixes: Sequence[str]) -> tuple[Cluster, ...]:
    """Active EMR clusters whose name starts with any prefix, all pages, filtered by state."""
    found = []
    try:
        for page in emr.get_paginator("list_clusters").paginate(ClusterStates=list(ACTIVE_STATES)):
            for c in page.get("Clusters", []):
                name = c.get("Name", "")
                prefix = next((p for p in prefixes if name.startswith(p)), None)
                if prefix is not None:
                    found.append(Cluster(c["Id"], name, c["Status"]["State"], prefix))
    except Exception as e:
        raise aws_error("ListClusters", e) from e
    return tuple(sorted(found, key=lambda c: c.id))


@dataclass(frozen=True)
class TargetView:
    """One thing the tool can pause, as observed, with its kind's rules as plain data."""

    key: str  # stable id in the state file
    label: str  # name in log lines
    current: Any  # the setting now: a desired count, or a (in, out, scheduled) suspension tuple
    saved: Any  # the pre-pause setting recorded on AWS itself, or None
    paused_value: Any  # the setting that means "paused"
    resume_default: Any  # the setting to resume to when no earlier one is known anywhere
    # Found already paused when a pause begins: someone else paused it, so it stays paused on
    # resume. (A service found at 0 is resumed to resume_count instead, as the original tool did.)
    keeps_earlier_pause: bool = False


@dataclass(frozen=True)
class Change:
    key: str
    label: str
    before: Any
    after: Any  # None: the setting is left as it is
    save: Any = None  # pre-pause setting to record on AWS before the change, or None
    forget: bool = False  # remove the record on AWS after the change


class TargetKind(Protocol):
    """One kind of autoscaler: read every target of this kind in one call, then change each."""

    def observe(self) -> list[TargetView]: ...

    def apply(self, change: Change) -> None: ...


def ecs_key(cluster: str, service: str) -> str:
    return f"ecs-service:{cluster}/{service}"


class EcsService:
    """The custom autoscaler as an ECS service: paused at desired count 0.

    The pre-pause count is also kept on the service as a tag, so that a lost state file, a
    replaced host or a second host still resumes to it.
    """

    def __init__(self, ecs: Any, cluster: str, service: str, resume_count: int):
        self.ecs, self.cluster, self.service = ecs, cluster, service
        self.resume_count = resume_count
        self.key = ecs_key(cluster, service)
        self.arn: str | None = None
        self.saved_scaling: tuple[bool, bool, bool] | None = None

    def observe(self) -> list[TargetView]:
        try:
            resp = self.ecs.describe_services(
                cluster=self.cluster, services=[self.service], include=["TAGS"]
            )
        except Exception as e:
            raise aws_error("DescribeServices", e) from e
        services = resp.get("services", [])
        if not services:
            reason = (resp.get("failures") or [{}])[0].get("reason", "MISSING")
            raise AwsError(
                f"ECS service {self.service!r} not found in cluster {self.cluster!r} ({reason})"
            )
        svc = services[0]
        if svc.get("status") != "ACTIVE":
            raise AwsError(
                f"ECS service {self.service!r} in cluster {self.cluster!r} is "
                f"{svc.get('status')}, not ACTIVE"
            )
        self.arn = svc["serviceArn"]
        tags = {t.get("key"): t.get("value") for t in svc.get("tags") or []}
        saved = None
        if SAVED_COUNT_TAG in tags:
            raw = tags[SAVED_COUNT_TAG]
            if raw.isdigit() and int(raw) > 0:
                saved = int(raw)
            else:
                log.warning(
                    "ignored tag %s=%r on %s: not a count above 0",
                    SAVED_COUNT_TAG,
                    raw,
                    self.service,
                )
        if SAVED_SCALING_TAG in tags:
            self.saved_scaling = parse_flags(tags[SAVED_SCALING_TAG])
            if self.saved_scaling is None:
                log.warning(
                    "ignored tag %s=%r on %s: not understood",
                    SAVED_SCALING_TAG,
                    tags[SAVED_SCALING_TAG],
                    self.service,
                )
        return [
            TargetView(self.key, self.service, svc["desiredCount"], saved, 0, self.resume_count)
        ]

    def tag(self, key: str, value: str) -> None:
        try:
            self.ecs.tag_resource(resourceArn=self.arn, tags=[{"key": key, "value": value}])
        except Exception as e:
            raise aws_error("TagResource", e) from e

    def untag(self, key: str) -> None:
        try:
            self.ecs.untag_resource(resourceArn=self.arn, tagKeys=[key])
        except Exception as e:
            raise aws_error("UntagResource", e) from e

    def apply(self, change: Change) -> None:
        tag_error = None
        if change.save is not None:
            try:
                self.tag(SAVED_COUNT_TAG, str(change.save))
            except AwsError as e:
                tag_error = e  # pause all the same, to protect the backup
        if change.after is not None:
            try:
                self.ecs.update_service(
                    cluster=self.cluster, service=self.service, desiredCount=change.after
                )
            except Exception as e:
                raise aws_error("UpdateService", e) from e
        if tag_error is not None:
            raise AwsError(
                f"{tag_error} (the pre-pause count {change.save} is kept in the state file only)",
                changed=True,
            )
        if change.forget:
            try:
                self.untag(SAVED_COUNT_TAG)
            except AwsError as e:
                raise AwsError(str(e), changed=change.after is not None) from e


def suspension(target: Mapping[str, Any]) -> tuple[bool, bool, bool]:
    flags = target.get("SuspendedState") or {}
    return tuple(bool(flags.get(name, False)) for name in SUSPEND_FLAGS)  # type: ignore[return-value]


def register_suspension(aas: Any, target: Mapping[str, Any], value: Sequence[bool]) -> None:
    """Set only SuspendedState; MinCapacity and MaxCapacity are never passed, so never changed."""
    try:
        aas.register_scalable_target(
            ServiceNamespace=target["ServiceNamespace"],
            ResourceId=target["ResourceId"],
            ScalableDimension=target["ScalableDimension"],
            SuspendedState=dict(zip(SUSPEND_FLAGS, value, strict=True)),
        )
    except Exception as e:
        raise aws_error("RegisterScalableTarget", e) from e


def scaling_view(key: str, label: str, target: Mapping[str, Any], saved: Any) -> TargetView:
    return TargetView(
        key, label, suspension(target), saved, SUSPENDED, SCALING, keeps_earlier_pause=True
    )


class DynamoDbScaling:
    """DynamoDB's native auto scaling: every scalable target of the tables and their global
    secondary indexes, paused by suspending all three kinds of scaling.

    The targets are found with DescribeScalableTargets over the whole dynamodb namespace (one
    call per 50 targets in the region), since a table's index targets cannot be named up front.
    Their pre-pause suspensions are kept in the state file.
    """

    def __init__(self, aas: Any, tables: Sequence[str]):
        self.aas, self.tables = aas, tuple(tables)
        self.targets: dict[str, Mapping[str, Any]] = {}

    def _table(self, resource_id: str) -> str | None:
        for table in self.tables:
            if resource_id == f"table/{table}" or resource_id.startswith(f"table/{table}/index/"):
                return table
        return None

    def observe(self) -> list[TargetView]:
        found = []
        try:
            pages = self.aas.get_paginator("describe_scalable_targets")
            for page in pages.paginate(ServiceNamespace="dynamodb"):
                found += [
                    t for t in page.get("ScalableTargets", []) if self._table(t["ResourceId"])
                ]
        except Exception as e:
            raise aws_error("DescribeScalableTargets", e) from e
        covered = {self._table(t["ResourceId"]) for t in found}
        for table in self.tables:
            if table not in covered:
                log.warning(
                    "table %s has no Application Auto Scaling target (on-demand, or not auto "
                    "scaled): nothing to suspend",
                    table,
                )
        views = []
        for t in sorted(found, key=lambda t: (t["ResourceId"], t["ScalableDimension"])):
            key = f"aas:dynamodb:{t['ResourceId']}:{t['ScalableDimension']}"
            self.targets[key] = t
            side = "read" if "Read" in t["ScalableDimension"] else "write"
            views.append(scaling_view(key, f"{t['ResourceId']} {side}", t, None))
        return views

    def apply(self, change: Change) -> None:
        if change.after is not None:
            register_suspension(self.aas, self.targets[change.key], change.after)


FLAG_NAMES = ("in", "out", "scheduled")


def format_flags(value: Sequence[bool]) -> str:
    return " ".join(f"{n}={str(v).lower()}" for n, v in zip(FLAG_NAMES, value, strict=True))


def parse_flags(text: str) -> tuple[bool, bool, bool] | None:
    parts = dict(p.split("=", 1) for p in text.split() if "=" in p)
    if sorted(parts) != sorted(FLAG_NAMES) or not set(parts.values()) <= {"true", "false"}:
        return None
    return tuple(parts[n] == "true" for n in FLAG_NAMES)  # type: ignore[return-value]


class EcsServiceScaling:
    """The ECS service's own Application Auto Scaling target, if it has one: suspended with the
    service, or a scale-out alarm or scheduled action would lift desiredCount=0 again.

    Looked at only when the service is about to change (or a record of it is left over at
    resume), so a steady run makes no extra call. Its pre-pause suspension is kept as a tag on
    the service and in the state file.
    """

    def __init__(self, aas: Any, service: EcsService):
        self.aas, self.service = aas, service
        self.key = f"aas:ecs:service/{service.cluster}/{service.service}"
        self.target: Mapping[str, Any] = {}

    def needed(self, plan: Plan, state: State) -> bool:
        touched = any(c.key == self.service.key for c in plan.changes)
        recorded = self.service.saved_scaling is not None or self.key in state.saved
        return touched or (recorded and not plan.pause)

    def observe(self) -> list[TargetView]:
        resource = f"service/{self.service.cluster}/{self.service.service}"
        try:
            resp = self.aas.describe_scalable_targets(
                ServiceNamespace="ecs",
                ResourceIds=[resource],
                ScalableDimension="ecs:service:DesiredCount",
            )
        except Exception as e:
            raise aws_error("DescribeScalableTargets", e) from e
        targets = resp.get("ScalableTargets", [])
        if not targets:
            return []
        self.target = targets[0]
        label = f"{self.service.service}'s scaling target"
        return [scaling_view(self.key, label, self.target, self.service.saved_scaling)]

    def apply(self, change: Change) -> None:
        tag_error = None
        if change.save is not None:
            try:
                self.service.tag(SAVED_SCALING_TAG, format_flags(change.save))
            except AwsError as e:
                tag_error = e  # suspend all the same; the state file keeps the record
        if change.after is not None:
            register_suspension(self.aas, self.target, change.after)
        if tag_error is not None:
            raise AwsError(
                f"{tag_error} (the earlier suspension is kept in the state file only)",
                changed=True,
            )
        if change.forget:
            try:
                self.service.untag(SAVED_SCALING_TAG)
            except AwsError as e:
                raise AwsError(str(e), changed=change.after is not None) from e


@dataclass(frozen=True)
class Observed:
    clusters: tuple[Cluster, ...]
    targets: tuple[TargetView, ...]


def observe(
    emr: Any, kinds: Sequence[TargetKind], prefixes: Sequence[str]
) -> tuple[Observed, dict[str, TargetKind]]:
    """The run's reads, and which kind owns each target. EMR first: if it fails, nothing else is
    asked or changed."""
    clusters = list_matching_clusters(emr, prefixes)
    targets, owners = observe_targets(kinds)
    return Observed(clusters, targets), owners


def observe_targets(
    kinds: Sequence[TargetKind],
) -> tuple[tuple[TargetView, ...], dict[str, TargetKind]]:
    owners: dict[str, TargetKind] = {}
    targets = []
    for kind in kinds:
        for view in kind.observe():
            owners[view.key] = kind
            targets.append(view)
    return tuple(targets), owners


# --- decide --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    pause: bool  # whether the autoscaler should be paused after this run
    changes: tuple[Change, ...]
    saved: Mapping[str, Any]  # pre-pause settings to record once the changes are made
    reason: str
    holding: tuple[str, ...] = ()  # ids of the clusters that hold the pause
    ignored: tuple[str, ...] = ()  # ids of active clusters that no longer may
    alarm: str | None = None  # the pause is over max_pause_minutes


def describe_clusters(clusters: Sequence[Cluster], prefixes: Sequence[str]) -> str:
    match = ", ".join(repr(p) for p in prefixes)
    if not clusters:
        return f"no active cluster matches {match}"
    ids = ", ".join(c.id for c in clusters[:10]) + (", …" if len(clusters) > 10 else "")
    used = ", ".join(repr(p) for p in dict.fromkeys(c.prefix for c in clusters))
    noun = "cluster matches" if len(clusters) == 1 else "clusters match"
    return f"{len(clusters)} active {noun} {used} ({ids})"


def decide(observed: Observed, state: State, config: Config, now: datetime) -> Plan:
    """What the autoscaler should look like now, and the writes that get it there. Pure."""
    active = {c.id for c in observed.clusters}
    ignored = {cid for cid in state.ignored_clusters if cid in active}
    holding = tuple(c for c in observed.clusters if c.id not in ignored)
    reason = describe_clusters(holding, config.emr_prefix)
    if ignored:
        reason += f" ({len(ignored)} more held a pause past max_pause_minutes and are ignored)"
    pause, alarm = bool(holding), None
    last_seen = parse_iso(state.last_seen_active_at)
    if not pause and state.paused and last_seen and config.resume_grace_seconds:
        quiet = (now - last_seen).total_seconds()
        if quiet < config.resume_grace_seconds:
            pause = True
            reason += (
                f"; the last was seen {quiet:.0f}s ago, resume waits "
                f"{config.resume_grace_seconds:g}s (resume_grace_seconds)"
            )
    seconds = paused_seconds(state, now)
    if holding and seconds is not None and config.max_pause_minutes:
        minutes = seconds / 60
        if minutes > config.max_pause_minutes:
            over = (
                f"paused for {minutes:.0f} min since {state.paused_at}, over max_pause_minutes="
                f"{config.max_pause_minutes:g}: {reason}"
            )
            if config.force_resume_after_max_pause:
                ignored |= {c.id for c in holding}
                pause, holding = False, ()
                alarm = over + "; resumed anyway (force_resume_after_max_pause), and these "
                alarm += "clusters hold no further pause"
                reason = alarm
            else:
                alarm = over + "; a stuck backup cluster? the autoscaler stays paused"
    changes: list[Change] = []
    saved: dict[str, Any] = {}
    for t in observed.targets:
        known = t.saved if t.saved is not None else state.saved.get(t.key)
        if pause:
            if t.current != t.paused_value:
                # Someone may have lifted it during the backup: keep the first pre-pause setting.
                keep = known if known is not None else t.current
                changes.append(
                    Change(
                        t.key,
                        t.label,
                        t.current,
                        t.paused_value,
                        save=keep if t.saved != keep else None,
                    )
                )
                saved[t.key] = keep
            elif known is not None:
                saved[t.key] = known
            elif t.keeps_earlier_pause and not state.fresh and not state.paused:
                # Paused by someone else before this pause began: it stays so on resume.
                changes.append(Change(t.key, t.label, t.current, None, save=t.current))
                saved[t.key] = t.current
        elif t.current == t.paused_value:
            if known is None and t.keeps_earlier_pause and not (state.fresh or state.paused):
                continue  # paused by someone else while this tool was not pausing: leave it
            target = known if known is not None else t.resume_default
            changes.append(
                Change(
                    t.key,
                    t.label,
                    t.current,
                    target if target != t.current else None,
                    forget=t.saved is not None,
                )
            )
        elif t.saved is not None:
            # Resumed by someone else: only the leftover record goes.
            changes.append(Change(t.key, t.label, t.current, None, forget=True))
    return Plan(
        pause,
        tuple(changes),
        saved,
        reason,
        holding=tuple(c.id for c in holding),
        ignored=tuple(sorted(ignored)),
        alarm=alarm,
    )


def format_setting(value: Any) -> str:
    if isinstance(value, tuple):
        if all(value):
            return "suspended"
        if not any(value):
            return "scaling"
        names = ("in", "out", "scheduled")
        return "suspended " + "+".join(n for n, v in zip(names, value, strict=True) if v)
    return str(value)


def plan_lines(
    plan: Plan,
    observed: Observed,
    dry_run: bool = False,
    failed: Mapping[str, AwsError] | None = None,
) -> list[str]:
    """One line per target, before -> after and why; `would` in front for a dry run. A target
    whose change failed gets the error after it, and `could not` in front unless its setting
    was changed all the same."""
    failed = failed or {}
    changes = {c.key: c for c in plan.changes}
    verb = (
        ("would pause" if dry_run else "paused")
        if plan.pause
        else ("would resume" if dry_run else "resumed")
    )
    lines = []
    for t in observed.targets:
        c = changes.get(t.key)
        error = failed.get(t.key)
        undone = error is not None and not error.changed
        if c is not None and c.after is not None:
            do = ("could not pause" if plan.pause else "could not resume") if undone else verb
            line = (
                f"{do} {t.label} {format_setting(c.before)} → "
                f"{format_setting(c.after)}: {plan.reason}"
            )
        elif c is not None and c.save is not None:
            do = "could not keep" if undone else ("would keep" if dry_run else "kept")
            line = (
                f"{do} {t.label} at {format_setting(t.current)} after the pause too: "
                "it was paused before it"
            )
        elif c is not None:
            do = "could not clear" if undone else ("would clear" if dry_run else "cleared")
            line = (
                f"{do} the leftover saved setting of {t.label}, at "
                f"{format_setting(t.current)}: {plan.reason}"
            )
        else:
            mode = "paused" if t.current == t.paused_value else "running"
            line = (
                f"no change: {t.label} stays at {format_setting(t.current)} ({mode}): {plan.reason}"
            )
        lines.append(line if error is None else f"{line}; {error}")
    return lines


# --- act -----------------------------------------------------------------------------------------


# No write starts later than this into a run: one call against a hung endpoint takes about 16 s
# (three tries), so a run still ends within 45 s, however many targets it has to change.
WRITE_BUDGET_SECONDS = 28


def act(
    plan: Plan,
    owners: Mapping[str, TargetKind],
    deadline: float = math.inf,
    monotonic: Callable[[], float] = time.monotonic,
) -> list[tuple[Change, AwsError]]:
    """Make each change; a failure on one target does not stop the others, but no change starts
    after the deadline: the next run goes on with what is left. Returns the failures."""
    failures = []
    for change in plan.changes:
        if monotonic() > deadline:
            failures.append(
                (change, AwsError("not tried: the run's time for writes was spent; next run"))
            )
            continue
        try:
            owners[change.key].apply(change)
        except AwsError as e:
            failures.append((change, e))
    return failures


def next_state(
    before: State,
    plan: Plan | None,
    observed: Observed | None,
    failures: Sequence[tuple[Change, AwsError]],
    error: str | None,
    now: datetime,
) -> State:
    """The state to record. A pre-pause setting is dropped only once its resume succeeded."""
    stamp = iso(now)
    if plan is None or observed is None:
        return dataclasses.replace(
            before, last_run_at=stamp, last_result="error", last_error=error, fresh=False
        )
    failed = {c.key for c, _ in failures}
    saved = dict(plan.saved)
    for key in failed:
        if key in before.saved:
            saved.setdefault(key, before.saved[key])
    undone = {c.key for c, e in failures if not e.changed}
    wrote = [c for c in plan.changes if c.after is not None and c.key not in undone]
    action = ("pause" if plan.pause else "resume") if wrote else "none"
    clusters = tuple(
        {"id": c.id, "name": c.name, "state": c.state, "prefix": c.prefix}
        for c in observed.clusters
    )
    resume_failed = bool(undone) and not plan.pause
    paused = plan.pause or resume_failed  # a failed resume is retried as one
    return State(
        paused=paused,
        paused_at=(before.paused_at if before.paused and before.paused_at else stamp)
        if paused
        else None,
        last_seen_active_at=stamp if plan.holding else before.last_seen_active_at,
        last_success_at=before.last_success_at if failures else stamp,
        ignored_clusters=plan.ignored,
        alarm=plan.alarm,
        saved=saved,
        last_action=action,
        last_action_at=stamp if wrote else before.last_action_at,
        last_run_at=stamp,
        last_result="error" if failures else "ok",
        last_error="; ".join(str(e) for _, e in failures) or None,
        active_clusters=clusters,
        failed_targets=tuple(c.label for c, _ in failures),
        fresh=False,
    )


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


def record(config: Config, state: State, seconds: float, calls: int, now: datetime) -> bool:
    """Write the state file, then the metrics file; False if the metrics could not be written."""
    write_json_atomic(config.state_file, state_to_json(state, config))
    if not config.metrics_file:
        return True
    try:
        # Readable by node_exporter, which runs as another user; it holds no secret.
        text = metrics_text(state, seconds, calls, now)
        write_text_atomic(config.metrics_file, text, mode=0o644)
    except OSError as e:
        log.error("metrics_file: cannot write %s: %s", config.metrics_file, e.strerror or e)
        return False
    return True


METRICS = (
    ("paused", "1 while the autoscaler is paused"),
    ("paused_seconds", "how long the current pause has lasted"),
    ("stuck", "1 while a pause is over max_pause_minutes"),
    ("active_clusters", "active EMR clusters that match the prefixes"),
    ("last_run_success", "1 if the last run succeeded, 0 if it failed"),
    ("last_success_timestamp_seconds", "when a run last succeeded, Unix time"),
    ("last_run_timestamp_seconds", "when the last run ended, Unix time"),
    ("run_duration_seconds", "how long the last run took"),
    ("api_calls", "AWS API calls the last run made"),
)


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def metrics_text(state: State, seconds: float, calls: int, now: datetime) -> str:
    """Prometheus text exposition format, for node_exporter's textfile collector."""
    success = parse_iso(state.last_success_at)
    values = {
        "paused": int(state.paused),
        "paused_seconds": paused_seconds(state, now) or 0,
        "stuck": int(state.alarm is not None and state.paused),
        "active_clusters": len(state.active_clusters),
        "last_run_success": int(state.last_result == "ok"),
        "last_success_timestamp_seconds": success.timestamp() if success else 0,
        "last_run_timestamp_seconds": now.timestamp(),
        "run_duration_seconds": round(seconds, 3),
        "api_calls": calls,
    }
    lines = []
    for name, help_text in METRICS:
        lines += [
            f"# HELP autoscaler_pauser_{name} {help_text}.",
            f"# TYPE autoscaler_pauser_{name} gauge",
            f"autoscaler_pauser_{name} {number(values[name])}",
        ]
    return "\n".join(lines) + "\n"


# --- CLI -----------------------------------------------------------------------------------------


class Aws:
    """The AWS clients of a run, each made on first use and then reused; tests hand in their
    own `make`."""

    def __init__(self, config: Config, make: Callable[[str, str], Any]):
        self.config, self.make = config, make
        self._clients: dict[tuple[str, str], Any] = {}
        self.calls = 0  # API calls made, for the metrics

    def client(self, service: str, region: str) -> Any:
        if (service, region) not in self._clients:
            client = self.make(service, region)
            client.meta.events.register("before-call", self._count)
            self._clients[service, region] = client
        return self._clients[service, region]

    def _count(self, **_: Any) -> None:
        self.calls += 1

    @property
    def emr(self) -> Any:
        return self.client("emr", self.config.emr_region)


def make_clients(config: Config) -> Aws:
    import boto3
    from botocore.config import Config as BotoConfig

    # Three tries at 3 s to connect and 5 s to read bound one call to about 16 s against a hung
    # endpoint, so even a run whose tag and update both hang ends well within 45 s. (botocore's
    # retries "max_attempts" counts retries only, not tries: 3 there made four tries.)
    boto = BotoConfig(
        connect_timeout=3, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 3}
    )
    session = boto3.session.Session()
    return Aws(config, lambda name, region: session.client(name, region_name=region, config=boto))


def target_kinds(config: Config, aws: Aws) -> tuple[list[TargetKind], list[EcsServiceScaling]]:
    """The kinds read on every run, and those read only when a plan needs them."""
    kinds: list[TargetKind] = []
    lazy = []
    if config.has_ecs:
        region = config.autoscaler_region
        service = EcsService(
            aws.client("ecs", region),
            config.autoscaler_cluster,
            config.autoscaler_service,
            config.resume_count,
        )
        kinds.append(service)
        lazy.append(EcsServiceScaling(aws.client("application-autoscaling", region), service))
    if config.dynamodb_tables:
        aas = aws.client("application-autoscaling", config.tables_region)
        kinds.append(DynamoDbScaling(aas, config.dynamodb_tables))
    return kinds, lazy


def observe_and_decide(
    config: Config, aws: Aws, state: State, now: datetime
) -> tuple[Observed, Plan, dict[str, TargetKind]]:
    """Read, decide, and if the plan touches the ECS service, read its scaling target too and
    decide again, so that a steady run stays at one read per kind."""
    kinds, lazy = target_kinds(config, aws)
    observed, owners = observe(aws.emr, kinds, config.emr_prefix)
    plan = decide(observed, state, config, now)
    extra = [kind for kind in lazy if kind.needed(plan, state)]
    if extra:
        more, more_owners = observe_targets(extra)
        owners.update(more_owners)
        observed = Observed(observed.clusters, more + observed.targets)
        plan = decide(observed, state, config, now)
    return observed, plan, owners


def run_once(config: Config, aws: Aws, now: Callable[[], datetime], dry_run: bool) -> int:
    """One reconcile, the lock already held (or not needed for a dry run)."""
    started, calls_before, clock = now(), aws.calls, time.monotonic()
    state = read_state(config.state_file, started, move_aside=not dry_run)
    try:
        observed, plan, owners = observe_and_decide(config, aws, state, started)
    except AwsError as e:
        log.error("%s; the autoscaler was left as it is", e)
        if not dry_run:
            after = next_state(state, None, None, [], str(e), started)
            record(config, after, time.monotonic() - clock, aws.calls - calls_before, now())
        return EXIT_FAILURE
    # Act first, then log: a line says what was done, not what was meant to be.
    failures = [] if dry_run else act(plan, owners, clock + WRITE_BUDGET_SECONDS)
    failed = {change.key: error for change, error in failures}
    lines = plan_lines(plan, observed, dry_run, failed)
    for target, line in zip(observed.targets, lines, strict=True):
        (log.error if target.key in failed else log.info)("%s", line)
    if plan.alarm:
        log.error("%s", plan.alarm)
    if dry_run:
        return EXIT_STUCK if plan.alarm else EXIT_OK
    after = next_state(state, plan, observed, failures, None, now())
    if not record(config, after, time.monotonic() - clock, aws.calls - calls_before, now()):
        return EXIT_FAILURE
    if failures:
        return EXIT_FAILURE
    return EXIT_STUCK if plan.alarm else EXIT_OK


def locked_run(config: Config, aws: Aws, now: Callable[[], datetime]) -> int:
    from filelock import FileLock, Timeout

    check_files(config)
    lock = FileLock(config.lock_path, timeout=config.lock_timeout, mode=0o600)
    try:
        with lock:
            return run_once(config, aws, now, dry_run=False)
    except Timeout:
        log.warning(
            "another run holds %s after %gs; this run is skipped",
            config.lock_path,
            config.lock_timeout,
        )
        return EXIT_OK


def cmd_run(
    config: Config, aws_factory: Callable[[Config], Aws], now: Callable[[], datetime], dry_run: bool
) -> int:
    if dry_run:
        return run_once(config, aws_factory(config), now, dry_run=True)
    return locked_run(config, aws_factory(config), now)


def cmd_loop(
    config: Config,
    aws_factory: Callable[[Config], Aws],
    now: Callable[[], datetime],
    interval: float,
) -> int:
    """The same run every interval in one process, reusing the AWS clients, until SIGTERM or
    SIGINT, which end it between runs. A failed run is logged and the loop goes on."""
    import signal
    import threading

    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("%s received: stopping after this run", signal.Signals(signum).name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    aws = aws_factory(config)
    log.info("loop: a run every %gs; SIGTERM or SIGINT stops it", interval)
    while not stop.is_set():
        began = time.monotonic()
        try:
            code = locked_run(config, aws, now)
        except StateFileError:
            raise
        except Exception as e:
            log.error("run failed: %s: %s", type(e).__name__, e)
            code = EXIT_FAILURE
        if code not in (EXIT_OK, EXIT_STUCK):
            log.warning("run ended with exit code %d; the loop goes on", code)
        stop.wait(max(0.0, interval - (time.monotonic() - began)))
    log.info("loop stopped")
    return EXIT_OK


def duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h {seconds % 3600 // 60}m"


def status_report(state: State, config: Config, now: datetime) -> dict[str, Any]:
    """The state file, with how old the last run is: recent means within three intervals."""
    if state.fresh:
        return {"never_ran": True, "state_file": config.state_file}
    data = state_to_json(state, config)
    last = parse_iso(state.last_run_at)
    age = (now - last).total_seconds() if last else None
    data["never_ran"] = False
    data["last_run_age_seconds"] = age
    data["recent"] = age is not None and age <= max(3 * config.interval, 180)
    data["paused_seconds"] = paused_seconds(state, now)
    return data


def cmd_status(config: Config, as_json: bool, now: datetime, out: Any) -> int:
    state = read_state(config.state_file, now, move_aside=False)
    data = status_report(state, config, now)
    if as_json:
        out.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
        return EXIT_OK
    if state.fresh:
        out.write(f"never ran: no state in {config.state_file} yet\n")
        return EXIT_OK
    if state.paused:
        head = f"PAUSED since {state.paused_at} ({duration(data['paused_seconds'] or 0)})"
    else:
        head = "running (not paused)"
    age = data["last_run_age_seconds"]
    when = f"{state.last_run_at}, {duration(age)} ago" if age is not None else "unknown"
    stale = "" if data["recent"] else "  <- NOT RECENT: is the timer running?"
    lines = [
        f"autoscaler:   {head}",
        f"last run:     {when}: {state.last_result}{stale}",
        f"last action:  {state.last_action} at {state.last_action_at or 'never'}",
    ]
    for c in state.active_clusters:
        held = "ignored" if c.get("id") in state.ignored_clusters else "holding"
        lines.append(
            f"{held + ':':14}{c.get('id')} {c.get('name')} ({c.get('state')}, "
            f"prefix {c.get('prefix')!r})"
        )
    for key, value in state.saved.items():
        lines.append(f"saved:        {key} = {format_setting(value)}")
    if state.alarm:
        lines.append(f"ALARM:        {state.alarm}")
    if state.last_error:
        lines.append(f"last error:   {state.last_error}")
    out.write("\n".join(lines) + "\n")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help=f"YAML config file (default: ${CONFIG_ENV}, else none)",
    )
    parser = argparse.ArgumentParser(
        prog="autoscaler-pauser",
        parents=[common],
        description="Pause a DynamoDB autoscaler while backup EMR clusters run.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--dry-run", action="store_true", help="observe and print the plan; write nothing"
    )
    parser.add_argument(
        "--loop",
        action="store_true",
        help="run every interval in one process until SIGTERM or SIGINT (container mode)",
    )
    parser.add_argument(
        "--interval",
        type=float,
        metavar="SECONDS",
        help="seconds between runs with --loop (default: the interval key, 60)",
    )
    sub = parser.add_subparsers(dest="command", metavar="{run,status,check-config}")
    run = sub.add_parser("run", parents=[common], help="one reconcile run (the default)")
    run.add_argument(
        "--dry-run",
        action="store_true",
        default=argparse.SUPPRESS,
        help="observe and print the plan; write nothing",
    )
    status = sub.add_parser("status", parents=[common], help="show the state file")
    status.add_argument("--json", action="store_true", help="print it as JSON")
    sub.add_parser("check-config", parents=[common], help="validate the config and exit")
    return parser


def setup_logging(debug: bool, environ: Mapping[str, str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    # journald stamps each line itself.
    stamp = "" if "JOURNAL_STREAM" in environ else "%(asctime)s "
    handler.setFormatter(
        logging.Formatter(stamp + "%(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S%z")
    )
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if debug else logging.INFO)
    log.propagate = False


def main(
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
    aws_factory: Callable[[Config], Aws] = make_clients,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> int:
    environ = os.environ if environ is None else environ
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    path = getattr(args, "config", None) or environ.get(CONFIG_ENV) or None
    setup_logging("DEBUG_OUTPUT" in environ, environ)
    try:
        config = load_config(path, environ)
    except ConfigError as e:
        for problem in e.problems:
            print(f"autoscaler-pauser: {problem}", file=sys.stderr)
        return EXIT_USAGE
    setup_logging(config.debug_output, environ)
    log.debug("config %s: %s", path or "(environment only)", dataclasses.asdict(config))
    command = args.command or "run"
    try:
        if command == "check-config":
            print(f"config OK: {path or 'environment only'}")
            return EXIT_OK
        if command == "status":
            return cmd_status(config, args.json, now(), sys.stdout)
        if args.loop:
            if args.dry_run:
                print("autoscaler-pauser: --loop and --dry-run do not go together", file=sys.stderr)
                return EXIT_USAGE
            interval = args.interval if args.interval is not None else config.interval
            if interval < 1:
                print("autoscaler-pauser: --interval must be at least 1", file=sys.stderr)
                return EXIT_USAGE
            return cmd_loop(config, aws_factory, now, interval)
        return cmd_run(config, aws_factory, now, dry_run=args.dry_run)
    except StateFileError as e:
        print(f"autoscaler-pauser: {e}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as e:
        log.error("run failed: %s: %s", type(e).__name__, e)
        if config.debug_output:
            log.debug("%s", traceback.format_exc())
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
