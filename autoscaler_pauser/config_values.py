"""The value of one key, read by its kind and checked: one converter per kind, each given the
key, the value (a string from the environment, any YAML value from the file) and whether it came
from the environment; a ValueError says what is wrong with it."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from .keys import NAME_BYTES, PART_MARK, Key, Kind, plain

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


# EMR takes a cluster's name of at most 256 characters (RunJobFlow's Name): a longer prefix
# matches no cluster.
CLUSTER_NAME_CHARACTERS = 256


def _prefixes(key: Key, value: Any, from_env: bool) -> tuple[str, ...]:
    one = isinstance(value, str) and not from_env
    items = _strings([value] if one else value, from_env, "a string or a list")
    if not items or any(not i.strip() for i in items):
        raise ValueError("must not be blank")
    for item in items:
        _check_literal(item, from_env and len(items) > 1)
        if len(item) > CLUSTER_NAME_CHARACTERS:
            raise ValueError(
                f"{item[:20]!r}… is {len(item)} characters, and an EMR cluster's name is at most "
                f"{CLUSTER_NAME_CHARACTERS}: it would match no cluster"
            )
    return tuple(dict.fromkeys(items))


QUOTES = "\"'"
PATTERN_CHARS = "*?"


def _check_literal(prefix: str, env_list: bool) -> None:
    """A prefix is the start of a cluster's name, character for character: whitespace or quotes
    around it, or a pattern's characters in it, would be matched as they are, and match
    nothing."""
    if prefix != prefix.strip():
        # Stripping it would widen what it matches: a prefix matches a name exactly.
        around = " (no spaces around the commas)" if env_list else ""
        raise ValueError(
            f"{prefix!r} has whitespace around it, and a prefix matches the start of a "
            f"cluster's name exactly: write {prefix.strip()!r}{around}"
        )
    if prefix[0] in QUOTES or prefix[-1] in QUOTES:
        raise ValueError(
            f"{prefix!r} has quotes around it, which would be matched as part of the name "
            f"(docker --env-file keeps them): write {prefix.strip(QUOTES)!r}; a prefix is "
            "matched literally against the start of a cluster's name"
        )
    wild = [c for c in prefix if c in PATTERN_CHARS]
    if wild:
        start = prefix[: prefix.index(wild[0])]
        write = f"write {start!r}" if start else "write the start of the names it is to match"
        raise ValueError(
            f"{prefix!r} holds {wild[0]!r}, but a prefix is matched literally against the "
            f"start of a cluster's name, not as a pattern: {write}"
        )


# EMR's tag keys and values hold letters, numbers, white space and these symbols, and no other
# character (EMR Management Guide, "Restrictions that apply to tagging resources"); a key is at
# most 128 characters, and one that starts with aws: is AWS's own.
TAG_SYMBOLS = "_.:/=+-@"
TAG_KEY_CHARACTERS = 128


def outside_tag_alphabet(text: str) -> str | None:
    """The first character of `text` that EMR does not allow in a tag's key or value."""
    for c in text:
        if c not in TAG_SYMBOLS and unicodedata.category(c)[0] not in "LNZ":
            return c
    return None


def _tag_key(key: Key, value: Any, from_env: bool) -> str:
    """An EMR tag's key, read by its exact name, never as a pattern."""
    value = text(key, value, from_env)
    if len(value) > TAG_KEY_CHARACTERS:
        raise ValueError(
            f"{value[:20]!r}… is {len(value)} characters, and an EMR tag key is at most "
            f"{TAG_KEY_CHARACTERS}"
        )
    wrong = outside_tag_alphabet(value)
    if wrong is not None:
        pattern = (
            ": the tag is read by its exact key (and <key>-2, <key>-3, …), not as a pattern"
            if wrong in PATTERN_CHARS + "["
            else ""
        )
        raise ValueError(
            f"{value!r} holds {wrong!r}, which EMR does not allow in a tag key (letters, "
            f"numbers, white space and {' '.join(TAG_SYMBOLS)}){pattern}"
        )
    if value.lower().startswith("aws:"):
        raise ValueError(f"{value!r} starts with aws:, which only AWS's own tags may")
    return value


def _table(key: Key, value: Any, from_env: bool) -> str:
    return _table_name(text(key, value, from_env))


def _table_name(value: str) -> str:
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
    return tuple(dict.fromkeys(_table_name(i) for i in items))


def names(key: Key, value: Any, from_env: bool) -> tuple[str, ...]:
    """Resource names: none blank, each once, in the order given."""
    items = [i.strip() for i in _strings(value, from_env, "a list")]
    if any(not i for i in items):
        raise ValueError(f"must not hold a blank name, got {value!r}")
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


def text(key: Key, value: Any, from_env: bool) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {yaml_type(value)}")
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


def _pauser_name(key: Key, value: Any, from_env: bool) -> str:
    """The key of the pauser's items in state_table (see NAME_BYTES)."""
    value = text(key, value, from_env)
    size = len(value.encode())
    if size > NAME_BYTES:
        raise ValueError(
            f"must be at most {NAME_BYTES} bytes in UTF-8 (DynamoDB's key, with room for "
            f"'{PART_MARK}10'), got {size}"
        )
    if PART_MARK in value:
        raise ValueError(
            f"must not hold {PART_MARK!r}, which marks the part items of a pause record, got "
            f"{value!r}"
        )
    return value


def _path(key: Key, value: Any, from_env: bool) -> str:
    """A path; one that starts with ~ is the user's home folder, as a shell has it."""
    value = text(key, value, from_env)
    if not value.startswith("~"):
        return value
    import os.path

    expanded = os.path.expanduser(value)
    if expanded.startswith("~"):
        raise ValueError(f"{value!r}: no such user's home folder: write the path whole")
    return expanded


# What PutEvents takes as EventBusName (botocore's events model: a name, or the ARN of a bus, 1,600
# characters at most), matched whole; a bus's name is 256 characters at most (CreateEventBus).
EVENT_BUS_NAME = r"[.\-_A-Za-z0-9]{1,256}"
EVENT_BUS_RE = re.compile(
    rf"(?:arn:aws[\w-]*:events:(?P<region>[a-z]+-[a-z]+-[\w-]+):[0-9]{{12}}:event-bus/)?"
    rf"{EVENT_BUS_NAME}",
    re.ASCII,
)
EVENT_BUS_EXAMPLE = "arn:aws:events:us-east-1:123456789012:event-bus/NAME"


def _event_bus(key: Key, value: Any, from_env: bool) -> str:
    value = text(key, value, from_env)
    found = EVENT_BUS_RE.fullmatch(value)
    if not found or (found["region"] and not REGION_RE.match(found["region"])):
        raise ValueError(
            f"not an EventBridge bus's name (1 to 256 letters, digits, '.', '-' and '_') or "
            f"ARN like {EVENT_BUS_EXAMPLE}, got {value!r}"
        )
    return value


def event_bus_region(bus: str) -> str | None:
    """The region an event bus's ARN names; None for a bus given by its name."""
    found = EVENT_BUS_RE.fullmatch(bus)
    return found["region"] if found else None


def _region(key: Key, value: Any, from_env: bool) -> str:
    value = text(key, value, from_env)
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
    Kind.STR: text,
    Kind.NAMES: names,
    Kind.TAG_KEY: _tag_key,
    Kind.PAUSER_NAME: _pauser_name,
    Kind.EVENT_BUS: _event_bus,
    Kind.PATH: _path,
    Kind.REGION: _region,
}
