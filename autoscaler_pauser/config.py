"""The config: the keys of keys.py read from a YAML file and the environment (the environment
wins), each converted by its kind, every problem reported at once."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .config_values import CONVERTERS, ServiceArn, yaml_type
from .keys import DEFAULT_STATE_FILE, KEYS, KEYS_BY_NAME, Kind, Required
from .timing import LEASE_SECONDS, RUN_SECONDS, failsafe_lead

CONFIG_ENV = "AUTOSCALER_PAUSER_CONFIG"
DEFAULT_PAUSER_NAME = "autoscaler-pauser"
ECS_KEYS = ("autoscaler_cluster", "autoscaler_region", "autoscaler_service")


class ConfigError(Exception):
    """Every problem the user can fix, one line each, naming its key."""

    def __init__(self, problems: Sequence[str]):
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class Config:
    emr_prefix: tuple[str, ...] = ()  # required, except by `status`: load_config checks
    emr_region: str = ""
    autoscaler_cluster: str | None = None
    autoscaler_region: str | None = None
    autoscaler_service: str | None = None
    dynamodb_tables: tuple[str, ...] = ()
    dynamodb_dimensions: tuple[str, ...] = ("read", "write")
    cluster_tables_tag: str | None = None
    dynamodb_region: str | None = None
    debug_output: bool = False
    resume_count: int = 1
    max_pause_minutes: float = 360
    force_resume_after_max_pause: bool = False
    resume_grace_seconds: float = 0
    write_workers: int = 10
    failsafe_minutes: float = 0
    failsafe_role_arn: str | None = None
    failsafe_group: str = "autoscaler-pauser"
    state_table: str | None = None
    state_table_region: str | None = None
    lease_seconds: float = LEASE_SECONDS
    name: str | None = None
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

    @property
    def record_region(self) -> str | None:
        return self.state_table_region or self.autoscaler_region or self.dynamodb_region

    @property
    def pauser_name(self) -> str:
        """Whose pause record it is, and its item's key in state_table: `name`, else the ECS
        service's, else a fixed name (a pauser of tables only: give two such a `name` each)."""
        if self.name:
            return self.name
        if self.has_ecs:
            return self._ecs_name
        return DEFAULT_PAUSER_NAME

    @property
    def _ecs_name(self) -> str:
        return f"ecs:{self.autoscaler_region}/{self.autoscaler_cluster}/{self.autoscaler_service}"


# A source of a value besides the file: (text, where it came from), e.g. ("90", "--interval").
Override = tuple[str, str]


def load_config(
    path: str | None,
    environ: Mapping[str, str],
    overrides: Mapping[str, Override] | None = None,
    regions: Callable[[str], Collection[str]] | None = None,
    complete: bool = True,
) -> Config:
    """File values merged with environment values and overrides (each wins over the one
    before), all checked at once. `regions(service)` gives the regions a service has, to check
    the region keys against. A config that need not be `complete` (for `status`) may lack the
    required keys and the targets."""
    raw, problems = _from_file(path) if path else ({}, [])
    raw.update({k.name: (environ[k.env], k.env) for k in KEYS if k.env in environ})
    raw.update(overrides or {})
    values, wrong = _converted(raw, complete)
    given = {k for k, (v, _) in raw.items() if v is not None}
    problems += wrong + _service_from_arn(values, given, complete)
    if regions is not None:
        problems += _region_problems(values, regions)
    if complete:
        problems += _target_problems(values, given)
        problems += _failsafe_problems(values)
    if problems:
        raise ConfigError(problems)
    return Config(**values)


def _converted(
    raw: Mapping[str, tuple[Any, str | None]], complete: bool
) -> tuple[dict[str, Any], list[str]]:
    """Each key's value converted by its kind, and a problem for each that is wrong or, in a
    `complete` config, missing."""
    values, problems = {}, []
    for key in KEYS:
        value, source = raw.get(key.name, (None, None))
        if value is None and key.name in raw and key.default is not None:
            # `key:` left blank in the file (YAML's null) is a mistake, not the default.
            problems.append(f"{key.name}: must not be blank; leave the key out for its default")
            continue
        if value is None:
            if key.required is Required.YES and complete:
                problems.append(f"{key.name}: required (set it in the config file or {key.env})")
            continue
        try:
            values[key.name] = CONVERTERS[key.kind](key, value, source is not None)
        except ValueError as e:
            problems.append(f"{key.name}: {e}" + (f" (from {source})" if source else ""))
    return values, problems


def _from_file(path: str) -> tuple[dict[str, tuple[Any, str | None]], list[str]]:
    """The file's values by key (their source: None), and a problem for each key that is not
    one."""
    data, problems = read_config_file(path)
    raw = {}
    for name, value in data.items():
        if name in KEYS_BY_NAME:
            raw[name] = (value, None)
            continue
        plain_name = str(name).replace("_", "").replace("-", "").lower()
        close = [k for k in KEYS_BY_NAME if k.replace("_", "") == plain_name]
        hint = f" (did you mean {close[0]}?)" if close else ""
        problems.append(f"{name}: unknown key{hint}")
    return raw, problems


def _region_problems(
    values: Mapping[str, Any], regions: Callable[[str], Collection[str]]
) -> list[str]:
    """A region key whose region the service does not have, as botocore knows them."""
    problems = []
    for key in KEYS:
        region = values.get(key.name)
        if key.kind is not Kind.REGION or region is None:
            continue
        known = regions(key.service or "")
        if region in known:
            continue
        import difflib

        close = difflib.get_close_matches(region, sorted(known), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        problems.append(f"{key.name}: {key.service} has no region {region!r}{hint}")
    return problems


def read_config_file(path: str) -> tuple[dict[str, Any], list[str]]:
    """The YAML file as a mapping, and a problem for each key given twice in it; a file that
    cannot be read at all is a ConfigError."""
    import yaml

    class Loader(yaml.SafeLoader):
        """Notes a key given twice in a mapping (PyYAML keeps the last one silently)."""

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            lines: dict[Any, int] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                if key in lines:
                    twice.append(
                        f"{key}: given twice in config file {path} (lines {lines[key]} and "
                        f"{line}): keep one"
                    )
                lines.setdefault(key, line)
            return super().construct_mapping(node, deep)

    twice: list[str] = []
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.load(f, Loader=Loader)
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
        return {}, twice
    if not isinstance(data, dict):
        raise ConfigError(
            [f"config file {path}: must be a mapping of keys to values, not {yaml_type(data)}"]
        )
    return data, twice


ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$", re.ASCII)
# What Scheduler takes as the name of a schedule group or of a schedule (its model: 1 to 64 of
# these characters), matched whole.
SCHEDULER_NAME = re.compile(r"[0-9a-zA-Z._-]{1,64}")


def _failsafe_problems(values: Mapping[str, Any]) -> list[str]:
    """The failsafe's keys: a role to pass, a group Scheduler takes, a time that outlasts a run
    and the interval."""
    problems = []
    group = values.get("failsafe_group")
    if group is not None and not SCHEDULER_NAME.fullmatch(group):
        problems.append(
            f"failsafe_group: {group!r} is not a schedule group name ([0-9a-zA-Z._-], 64 at most)"
        )
    role = values.get("failsafe_role_arn")
    if role is not None and not ROLE_ARN.match(role):
        problems.append(
            f"failsafe_role_arn: {role!r} is not an IAM role ARN like "
            "arn:aws:iam::123456789012:role/name"
        )
    minutes = values.get("failsafe_minutes") or 0
    if not minutes:
        return problems
    if role is None:
        problems.append(
            "failsafe_role_arn: required with failsafe_minutes (set it in the config file or "
            "FAILSAFE_ROLE_ARN)"
        )
    interval = values.get("interval", 60)
    lead = failsafe_lead(interval)
    least = math.ceil(round(lead / 60 * 100, 6)) / 100  # in hundredths, rounded up
    if minutes < least:
        problems.append(
            f"failsafe_minutes: must be at least {least:g}, to outlast a run ({RUN_SECONDS} s) "
            f"and the interval ({interval:g} s) to the next, which moves it; got {minutes:g}"
        )
    return problems


def _service_from_arn(values: dict[str, Any], given: set[str], complete: bool) -> list[str]:
    """autoscaler_service given as its ARN: the service's name, and the cluster and the region
    the ARN names, which a cluster or a region given too must agree with."""
    arn = values.get("autoscaler_service")
    if not isinstance(arn, ServiceArn):
        return []
    values["autoscaler_service"] = arn.service
    problems = []
    parts = (
        ("autoscaler_cluster", "cluster", arn.cluster),
        ("autoscaler_region", "region", arn.region),
    )
    for key, what, part in parts:
        if part is None:
            continue
        if key in given and values.get(key, part) != part:
            problems.append(
                f"{key}: {values[key]!r}, but autoscaler_service's ARN names the {what} "
                f"{part!r}: leave {key} out, or make the two agree"
            )
        values[key] = part
        given.add(key)
    if complete and "autoscaler_cluster" not in given:
        problems.append(
            "autoscaler_cluster: required with autoscaler_service (set it in the config file or "
            "AUTOSCALER_CLUSTER): a service's short ARN does not name its cluster"
        )
        given.add("autoscaler_cluster")  # reported here, not again with the other ECS keys
    return problems


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
            if k not in given  # autoscaler_region alone: the other two
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
