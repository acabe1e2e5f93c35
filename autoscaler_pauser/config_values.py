"""The value of one key, read by its kind and checked: one converter per kind, each given the
key, the value (a string from the environment, any YAML value from the file) and whether it came
from the environment; a ValueError says what is wrong with it."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from .keys import Key, Kind, plain

REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
TABLE_RE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")


def yaml_type(value: Any) -> str:
    return {
        list: "a list",
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "a boolean",
    }.get(type(value), type(value).__name__)


def _flag(key: Key, value: Any, from_env: bool) -> bool:
    return True if from_env else _bool(key, value, from_env)


def _bool(key: Key, value: Any, from_env: bool) -> bool:
    if from_env:
        word = value.strip().lower()
        if word not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"must be true or false, got {value!r}")
        return word in ("true", "1", "yes")
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {value!r}")
    return value


def _strings(value: Any, from_env: bool, what: str) -> list[str]:
    items = value.split(",") if from_env and isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ValueError(f"must be {what} of strings")
    return items


def _prefixes(key: Key, value: Any, from_env: bool) -> tuple[str, ...]:
    one = isinstance(value, str) and not from_env
    items = _strings([value] if one else value, from_env, "a string or a list")
    if not items or any(not i.strip() for i in items):
        raise ValueError("must not be blank")
    for item in items:
        if item != item.strip():
            # Stripping it would widen what it matches: a prefix matches a name exactly.
            around = " (no spaces around the commas)" if from_env and len(items) > 1 else ""
            raise ValueError(
                f"{item!r} has whitespace around it, and a prefix matches the start of a "
                f"cluster's name exactly: write {item.strip()!r}{around}"
            )
    return tuple(dict.fromkeys(items))


def _table(key: Key, value: Any, from_env: bool) -> str:
    value = _text(key, value, from_env)
    if not TABLE_RE.match(value):
        raise ValueError(f"not a DynamoDB table name: {value!r}")
    return value


def _dimensions(key: Key, value: Any, from_env: bool) -> tuple[str, ...]:
    items = [i.strip() for i in _strings(value, from_env, "a list")]
    wrong = [i for i in items if i not in ("read", "write")]
    if wrong or not items:
        raise ValueError(f"must be read, write or both, got {value!r}")
    return tuple(d for d in ("read", "write") if d in items)


def _tables(key: Key, value: Any, from_env: bool) -> tuple[str, ...]:
    items = [i.strip() for i in _strings(value, from_env, "a list")]
    items = [i for i in items if i] if from_env else items
    bad = [i for i in items if not TABLE_RE.match(i)]
    if bad:
        raise ValueError(f"not a DynamoDB table name: {bad[0]!r}")
    return tuple(dict.fromkeys(items))


def _int(key: Key, value: Any, from_env: bool) -> int:
    return _bounded(key, _parse_number(value, from_env, int, "a whole number"))


def _number(key: Key, value: Any, from_env: bool) -> float:
    return _bounded(key, _parse_number(value, from_env, float, "a number"))


def _parse_number(value: Any, from_env: bool, kind: type, what: str) -> Any:
    if from_env:
        try:
            return kind(value)
        except ValueError:
            raise ValueError(f"must be {what}, got {value!r}") from None
    allowed = (int,) if kind is int else (int, float)
    if isinstance(value, bool) or not isinstance(value, allowed):
        raise ValueError(f"must be {what}, got {value!r}")
    return value


def _bounded(key: Key, value: Any) -> Any:
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {value!r}")
    if key.minimum is not None and value < key.minimum:
        raise ValueError(f"must be at least {plain(key.minimum)}, got {value!r}")
    if key.maximum is not None and value > key.maximum:
        raise ValueError(f"must be at most {plain(key.maximum)}, got {value!r}")
    return value


def _text(key: Key, value: Any, from_env: bool) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {yaml_type(value)}")
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


def _region(key: Key, value: Any, from_env: bool) -> str:
    value = _text(key, value, from_env)
    if not REGION_RE.match(value):
        raise ValueError(f"is not a region name like us-east-1, got {value!r}")
    return value


CONVERTERS: dict[Kind, Callable[[Key, Any, bool], Any]] = {
    Kind.FLAG: _flag,
    Kind.BOOL: _bool,
    Kind.PREFIXES: _prefixes,
    Kind.TABLES: _tables,
    Kind.DIMENSIONS: _dimensions,
    Kind.TABLE: _table,
    Kind.INT: _int,
    Kind.NUMBER: _number,
    Kind.STR: _text,
    Kind.PATH: _text,
    Kind.REGION: _region,
}
