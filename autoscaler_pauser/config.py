"""The config: one table of keys (KEYS), read from a YAML file and the environment, every
problem reported at once."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("autoscaler-pauser")

DEFAULT_STATE_FILE = "/var/lib/autoscaler-pauser/state.json"
CONFIG_ENV = "AUTOSCALER_PAUSER_CONFIG"


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
