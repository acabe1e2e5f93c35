"""The config: the keys of keys.py read from a YAML file and the environment (the environment
wins), each converted by its kind, every problem reported at once."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from .config_values import CONVERTERS, event_bus_region, yaml_type
from .keys import Key, Kind, Required, keyed
from .targets import KEYS, KINDS, configured_kinds
from .timing import RUN_SECONDS, failsafe_lead

CONFIG_ENV = "AUTOSCALER_PAUSER_CONFIG"
DEFAULT_PAUSER_NAME = "autoscaler-pauser"
KEYS_BY_NAME = keyed(KEYS)
# The kinds of value that are lists: a key of them left out is the empty list.
LISTS = (Kind.PREFIXES, Kind.TABLES, Kind.DIMENSIONS, Kind.NAMES)


class ConfigError(Exception):
    """Every problem the user can fix, one line each, naming its key."""

    def __init__(self, problems: Sequence[str]):
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def _default(key: Key) -> Any:
    """A key's value when it is not set: its default as its converter makes it (a list is a
    tuple), or for a list without one, the empty list."""
    if key.default is None:
        return () if key.kind in LISTS else None
    convert = key.convert or CONVERTERS[key.kind]
    return convert(key, key.default, False)


class _Derived:
    """What the config's values say together, whatever the kinds of target."""

    state_file: str
    lock_file: str | None
    name: str | None
    state_table_region: str | None
    events_bus: str | None

    @property
    def lock_path(self) -> str:
        return self.lock_file or self.state_file + ".lock"

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes of every target the config names, the kinds' in the registry's order."""
        kinds = configured_kinds(self)  # type: ignore[arg-type]
        return tuple(dict.fromkeys(s for kind in kinds for s in kind.scopes(self)))  # type: ignore[arg-type]

    @property
    def record_region(self) -> str | None:
        """state_table's region: its own key's, else the first kind of target's."""
        return self.state_table_region or self.home_region

    @property
    def events_region(self) -> str | None:
        """events_bus's region: its ARN's, else the first kind of target's."""
        if self.events_bus is None:
            return None
        return event_bus_region(self.events_bus) or self.home_region

    @property
    def home_region(self) -> str | None:
        """The region of the config's first kind of target."""
        regions = (kind.home_region(self) for kind in configured_kinds(self))  # type: ignore[arg-type]
        return next((r for r in regions if r), None)

    @property
    def pauser_name(self) -> str:
        """Whose pause record it is, and its item's key in state_table: `name`, else the one the
        first kind of target makes of its targets, else a fixed name."""
        if self.name:
            return self.name
        names = (kind.default_name(self) for kind in configured_kinds(self))  # type: ignore[arg-type]
        return next((n for n in names if n), DEFAULT_PAUSER_NAME)


# The config: one field per key of the table, named as the key, holding its converted value.
Config = dataclasses.make_dataclass(
    "Config",
    [(k.name, Any, dataclasses.field(default=_default(k))) for k in KEYS],
    bases=(_Derived,),
    frozen=True,
)
Config.__module__ = __name__
Config.__doc__ = "The config's values, one field per key of the table (targets.KEYS)."


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
    from_env = {k.name: (environ[k.env], k.env) for k in KEYS if k.env in environ}
    blank = _blank_in_environment(from_env)
    raw.update(from_env)
    raw.update(overrides or {})
    values, wrong = _converted(raw, complete)
    given = {k for k, (v, _) in raw.items() if v is not None}
    problems += wrong + _target_problems(values, given, complete)
    if regions is not None:
        problems += _region_problems(values, regions)
    if complete:
        problems += _failsafe_problems(values)
    # A key set blank is said once: not again as missing, or as needed by another.
    problems = list(blank.values()) + [
        p for p in problems if not any(p.startswith(f"{name}:") for name in blank)
    ]
    if problems:
        raise ConfigError(problems)
    return Config(**values)


def _blank_in_environment(from_env: dict[str, tuple[str, str]]) -> dict[str, str]:
    """A key whose variable is set but blank, or names nothing (a list of only commas), is
    refused rather than taken as "none": a container template that leaves a variable empty
    must not empty a list the config file sets. A flag is on whenever its variable is set. By
    key, the problem; each such key is taken out of `from_env`."""
    problems = {}
    for name in list(from_env):
        key, (value, env) = KEYS_BY_NAME[name], from_env[name]
        words = value.split(",") if key.kind in LISTS else [value]
        if key.kind is Kind.FLAG or any(w.strip() for w in words):
            continue
        said = "not be blank" if not value.strip() else "name at least one"
        problems[name] = (
            f"{name}: must {said} (from {env}): unset it for the config file's value or the default"
        )
        del from_env[name]
    return problems


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
            convert = key.convert or CONVERTERS[key.kind]
            values[key.name] = convert(key, value, source is not None)
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
        """Notes a key given twice in a mapping (PyYAML keeps the last one silently). A merge
        key (`<<: *defaults`) brings its mapping's keys, which the mapping's own override."""

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            lines: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                if key in lines:
                    twice.append(
                        f"{key}: given twice in config file {path} (lines {lines[key]} and "
                        f"{line}): keep one"
                    )
                lines.setdefault(key, line)
            self.flatten_mapping(node)
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


def _target_problems(values: dict[str, Any], given: set[str], complete: bool) -> list[str]:
    """Each kind's keys checked together; and at least one target, of any kind."""
    problems = [p for kind in KINDS for p in kind.check(values, given, complete)]
    if not complete or any(kind.given(values, given) for kind in KINDS):
        return problems
    leads = [kind.KEYS[0].name for kind in KINDS if kind.KEYS]
    first = next(kind for kind in KINDS if kind.KEYS)
    others = leads[1:]
    unless = ", ".join(others[:-1]) + (" or " if len(others) > 1 else "") + others[-1]
    return problems + [
        f"{name}: required (set it in the config file or {name.upper()}), unless {unless} is set"
        for name in first.NEEDS
        if name not in given
    ]
