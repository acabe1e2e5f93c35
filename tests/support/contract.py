"""AWS's contract, as botocore's service models state it, checked on every request a client makes.

botocore checks a request's types, its required members and its minimums before it sends it, but
not its maximums, patterns or enums, and moto checks few limits of its own: a request that AWS
refuses (a schedule Description of 600 characters) passes every test against moto. `Contract`
hooks a client's `before-parameter-build` event, which sees each request's parameters with its
operation model (after botocore's own handlers have filled in what they fill in, such as an
idempotency token: what goes on the wire), and checks them against the operation's input shape,
recursively. A violation is recorded, not raised inside botocore, so that a test sees them all.

Beyond the shapes, a rule of time: a schedule's one-time expression, `at(...)` in its
ScheduleExpressionTimezone, must be later than the request's own time (`now` at the request; a
test's clock, else the true one): a schedule whose time has passed is not one AWS runs as meant.

The rules, by the type of the shape:

    structure        a dict; every required member; no unknown member; a union: exactly one
    list             a list or tuple; min/max: its length; each member by its shape
    map              a dict; min/max: its entries; each key and each value by its shape
    string           a str; min/max: its length in characters; enum; pattern (the whole value)
    integer, long    an int, not a bool (botocore takes a bool); min/max: its value
    float, double    an int, float or Decimal, not a bool; min/max: its value
    boolean          a bool
    blob             bytes, bytearray, str or a file; min/max: its length
    timestamp        a datetime, or a number or string botocore reads as one

Where AWS's docs state a limit that the model does not (`DOCUMENTED`), it is checked the same
way: EMR's tags.
"""

from __future__ import annotations

import decimal
import functools
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from botocore.model import OperationModel, Shape
from botocore.utils import parse_to_aware_datetime

from .world import attaching

NUMBER_TYPES = {"integer": (int,), "long": (int,), "float": (int, float, decimal.Decimal)}
NUMBER_TYPES["double"] = NUMBER_TYPES["float"]
TYPES = {"structure", "list", "map", "string", "boolean", "blob", "timestamp", *NUMBER_TYPES}
EXCERPT = 40  # characters of a string value a violation shows


@dataclass(frozen=True)
class Violation:
    """One part of a request that breaks its operation's contract: where, which rule, and the
    value's length or the start of it."""

    operation: str  # service and operation: "scheduler.CreateSchedule"
    path: str  # the member: "Target.RetryPolicy.MaximumRetryAttempts", "Key['name'].S"
    rule: str  # required, unknown, union, type, min, max, enum, pattern, past; checker: its own
    # fault
    detail: str

    def __str__(self) -> str:
        return f"{self.operation} {self.path or '(request)'}: {self.rule}: {self.detail}"


class Contract:
    """Checks every request of the clients it is attached to; `violations` and `calls` (by
    service name and operation name) are what they sent. `now`: the time of a request, the true
    time unless a test's clock says otherwise."""

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self.now = now or (lambda: datetime.now(timezone.utc))
        self.violations: list[Violation] = []
        self.calls: Counter[tuple[str, str]] = Counter()
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self._lock = threading.Lock()  # the writers of a run share the clients

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-parameter-build", self._check)
        return client

    def factory(self, aws_factory: Callable[..., Any]) -> Callable[..., Any]:
        """An aws_factory for cli.main() whose clients are all attached."""
        return attaching(aws_factory, self.attach)

    def _check(self, params: dict[str, Any], model: OperationModel, **_: Any) -> None:
        service = model.service_model.service_name
        try:
            found = check_request(model, params) + check_time(model, params, self.now())
        except Exception as e:  # a fault of the checker: recorded, not raised inside botocore
            found = [Violation(f"{service}.{model.name}", "", "checker", repr(e))]
        with self._lock:
            self.calls[service, model.name] += 1
            self.requests.append((service, model.name, dict(params)))
            self.violations += found

    def report(self) -> str:
        return "\n".join(str(v) for v in self.violations)


def check_request(model: OperationModel, params: dict[str, Any]) -> list[Violation]:
    """Every violation of the operation's input shape in the request's parameters."""
    operation = f"{model.service_model.service_name}.{model.name}"
    if model.input_shape is None:
        found = [("", "unknown", f"{name!r}: the operation takes no input") for name in params]
    else:
        found = list(check_value(model.input_shape, params, ""))
        found += documented(model.service_model.service_name, params)
    return [Violation(operation, path, rule, detail) for path, rule, detail in found]


# --- what AWS's docs say and the models do not ---------------------------------------------------
#
# EMR's tags (EMR Management Guide, "Restrictions that apply to tagging resources"): a key or a
# value holds letters, numbers, white space and _ . : / = + - @, nothing else; a key is 1 to 128
# characters, a value at most 256 (EC2's limits, which EMR's are). EMR's model gives a Tag's Key
# and Value as plain strings; every EMR operation that tags takes them as `Tags`, a list of Tag.
EMR_TAG_PATTERN = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*"
EMR_TAG = {
    "Key": Shape("EmrTagKey", {"type": "string", "min": 1, "max": 128, "pattern": EMR_TAG_PATTERN}),
    "Value": Shape("EmrTagValue", {"type": "string", "max": 256, "pattern": EMR_TAG_PATTERN}),
}


def emr_tags(params: dict[str, Any]) -> Found:
    tags = params.get("Tags")
    for i, tag in enumerate(tags if isinstance(tags, list) else []):
        for name, shape in EMR_TAG.items():
            if isinstance(tag, dict) and name in tag:
                yield from check_value(shape, tag[name], f"Tags[{i}].{name}")


DOCUMENTED: dict[str, Callable[[dict[str, Any]], Found]] = {"emr": emr_tags}


def documented(service: str, params: dict[str, Any]) -> Found:
    """The violations of the limits AWS's docs state for the service, beyond its model's."""
    return DOCUMENTED.get(service, lambda _: iter(()))(params)


def emr_tag_violations(key: str, value: str) -> list[str]:
    """Why EMR would refuse a tag, if it would."""
    found = emr_tags({"Tags": [{"Key": key, "Value": value}]})
    return [f"{path}: {rule}: {detail}" for path, rule, detail in found]


Found = Iterator[tuple[str, str, str]]  # path, rule, detail

AT = re.compile(r"at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)")
SCHEDULE_WRITES = {"CreateSchedule", "UpdateSchedule"}


def check_time(model: OperationModel, params: dict[str, Any], now: datetime) -> list[Violation]:
    """A schedule's one-time expression, in its time zone, later than `now`, the request's."""
    if model.name not in SCHEDULE_WRITES:
        return []
    due = schedule_due(params)
    if due is None or due > now:
        return []
    operation = f"{model.service_model.service_name}.{model.name}"
    detail = f"{params['ScheduleExpression']} is not after the request's time, {now.isoformat()}"
    return [Violation(operation, "ScheduleExpression", "past", detail)]


def schedule_due(params: dict[str, Any]) -> datetime | None:
    """When a schedule's at() expression fires, as an aware time; None for another kind."""
    found = AT.fullmatch(str(params.get("ScheduleExpression", "")))
    if found is None:
        return None
    zone = ZoneInfo(params.get("ScheduleExpressionTimezone") or "UTC")
    return datetime.fromisoformat(found.group(1)).replace(tzinfo=zone)


def check_value(shape: Shape, value: Any, path: str) -> Found:
    """The violations of one value of a shape, and of all that it holds."""
    if shape.type_name == "structure" and shape.is_document_type:
        return
    if shape.type_name not in TYPES:
        yield path, "checker", f"no rule for a shape of type {shape.type_name!r}"
        return
    if not has_type(shape.type_name, value):
        yield path, "type", f"a {shape.type_name} is wanted, not {type(value).__name__}"
        return
    yield from CHECKS.get(shape.type_name, _no_more)(shape, value, path)


def has_type(type_name: str, value: Any) -> bool:
    if type_name in ("structure", "map"):
        return isinstance(value, dict)
    if type_name == "list":
        return isinstance(value, (list, tuple))
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "boolean":
        return isinstance(value, bool)
    if type_name in NUMBER_TYPES:
        return isinstance(value, NUMBER_TYPES[type_name]) and not isinstance(value, bool)
    if type_name == "blob":
        return isinstance(value, (bytes, bytearray, str)) or hasattr(value, "read")
    try:  # a timestamp
        parse_to_aware_datetime(value)
    except (TypeError, ValueError, AttributeError):
        return False
    return True


def _structure(shape: Shape, value: dict[str, Any], path: str) -> Found:
    for name in shape.required_members:
        if name not in value:
            yield member(path, name), "required", "missing"
    if shape.is_tagged_union and len(value) != 1:
        yield path, "union", f"exactly one member is set in a union, not {len(value)}"
    for name, item in value.items():
        if name not in shape.members:
            yield member(path, name), "unknown", f"not a member of {shape.name}"
        else:
            yield from check_value(shape.members[name], item, member(path, name))


def member(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _list(shape: Shape, value: list[Any], path: str) -> Found:
    yield from _range(shape, len(value), path, "entries")
    for i, item in enumerate(value):
        yield from check_value(shape.member, item, f"{path}[{i}]")


def _map(shape: Shape, value: dict[Any, Any], path: str) -> Found:
    yield from _range(shape, len(value), path, "entries")
    for key, item in value.items():
        yield from check_value(shape.key, key, f"{path} (key {excerpt(key)})")
        yield from check_value(shape.value, item, f"{path}[{excerpt(key)}]")


def _string(shape: Shape, value: str, path: str) -> Found:
    yield from _range(shape, len(value), path, f"characters: {excerpt(value)}")
    enum = shape.metadata.get("enum")
    if enum and value not in enum:
        yield path, "enum", f"{excerpt(value)} is none of {', '.join(enum)}"
    pattern = shape.metadata.get("pattern")
    if pattern is None:
        return
    try:
        matches = compiled(pattern).fullmatch(value) is not None
    except UnsupportedPattern as e:
        yield path, "pattern", f"the model's pattern {pattern!r} cannot be checked here: {e}"
        return
    if not matches:
        yield path, "pattern", f"{excerpt(value)} ({len(value)} characters) is not {pattern!r}"


def _number(shape: Shape, value: float, path: str) -> Found:
    yield from _range(shape, value, path, "")


def _blob(shape: Shape, value: Any, path: str) -> Found:
    if isinstance(value, str):  # sent as its UTF-8 bytes
        value = value.encode()
    if hasattr(value, "__len__"):
        yield from _range(shape, len(value), path, "bytes")


def _range(shape: Shape, measure: float, path: str, unit: str) -> Found:
    """min and max: of a length, a count of entries, or a value (unit "")."""
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    what = f"{measure} {unit}".rstrip() if unit else f"value {measure}"
    if low is not None and measure < low:
        yield path, "min", f"{what}, at least {low}"
    if high is not None and measure > high:
        yield path, "max", f"{what}, at most {high}"


def _no_more(shape: Shape, value: Any, path: str) -> Found:
    return iter(())


CHECKS: dict[str, Callable[[Shape, Any, str], Found]] = {
    "structure": _structure,
    "list": _list,
    "map": _map,
    "string": _string,
    "integer": _number,
    "long": _number,
    "float": _number,
    "double": _number,
    "blob": _blob,
}


def excerpt(value: Any) -> str:
    text = str(value)
    return repr(text) if len(text) <= EXCERPT else repr(text[:EXCERPT]) + "…"


def shapes_in(shape: Shape | None, seen: set[str] | None = None) -> Iterator[Shape]:
    """The shape and every shape it holds, each once (recursive shapes end)."""
    seen = set() if seen is None else seen
    if shape is None or shape.name in seen:
        return
    seen.add(shape.name)
    yield shape
    if shape.type_name == "structure":
        for item in shape.members.values():
            yield from shapes_in(item, seen)
    elif shape.type_name == "list":
        yield from shapes_in(shape.member, seen)
    elif shape.type_name == "map":
        yield from shapes_in(shape.key, seen)
        yield from shapes_in(shape.value, seen)


# --- the models' patterns, in Python ------------------------------------------------------------
#
# The patterns are Java regular expressions (java.util.regex), and AWS matches them against the
# whole value (`String.matches`): here re.fullmatch. Python's `re` reads most of them alike;
# `python_pattern` converts what it does not:
#
#   \uD800\uDC00     a surrogate pair: one supplementary code point in Java, two surrogates in
#                    Python (so [\uD800\uDC00-\uDBFF\uDFFF] is "a bad range")  ->  \U00010000
#   \p{L} \pL \p{IsL} \p{Lu}   a Unicode general category, which `re` lacks  ->  the ranges of
#                    its code points, from unicodedata (Python's Unicode version, not Java's);
#                    \P{..} outside a class  ->  [^..]
#   \p{Alpha} \p{Alnum} \p{Punct} ...   Java's POSIX classes, ASCII only  ->  their ASCII ranges
#   .                any character but a line terminator (\n \r \u0085 \u2028 \u2029) in Java,
#                    but \n in Python  ->  [^\n\r\x85\u2028\u2029]
#   \z               the end of the input  ->  \Z
#   [\w-_]           a hyphen after a set in a class: a hyphen in Java, a bad range in Python
#                    ->  [\w\-_]; a | or ~ in a class (doubled: a set operation to come in
#                    Python's eyes)  ->  \| \~
#   \w \d \s \b      ASCII in Java (without UNICODE_CHARACTER_CLASS)  ->  compiled with re.ASCII
#
# What Java reads otherwise and Python would misread (a class in a class [a[b]], an
# intersection [a&&b], \P{..} in a class, Java's \Z and \v) raises UnsupportedPattern, and so
# does what Python cannot compile (\Q..\E, \h, \R, \x{..}; possessive quantifiers and atomic
# groups before Python 3.11): the check reports it as a violation instead of matching a value
# against a pattern it misread.


class UnsupportedPattern(ValueError):
    """A model's pattern that python_pattern cannot convert."""


SURROGATE_PAIR = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", re.IGNORECASE)
PROPERTY = re.compile(r"\\([pP])(?:\{(?:Is)?(\w+)\}|([A-Z]))")
JAVA_DOT = r"[^\n\r\x85\u2028\u2029]"
POSIX = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": r"\x00-\x7f",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": r"\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e",
    "Graph": r"\x21-\x7e",
    "Print": r"\x20-\x7e",
    "Blank": r" \t",
    "Cntrl": r"\x00-\x1f\x7f",
    "XDigit": "0-9a-fA-F",
    "Space": r" \t\n\x0b\f\r",
}


@functools.cache
def compiled(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(python_pattern(pattern), re.ASCII)
    except re.error as e:
        raise UnsupportedPattern(f"Python's re: {e}") from None


def python_pattern(java: str) -> str:
    """A Java regular expression of a service model as Python's `re` reads it alike."""
    out: list[str] = []
    i, in_class, after_set = 0, False, False
    while i < len(java):
        c = java[i]
        if c == "\\":
            text, i, after_set = _escape(java, i, in_class)
            out.append(text)
            continue
        if in_class:
            if c == "[" or java.startswith("&&", i):
                raise UnsupportedPattern(f"a class in a class, or an intersection, at {i}")
            if c == "]" and out[-1] not in ("[", "[^"):
                in_class = False
            elif c == "-" and after_set:
                c = "\\-"  # no range from a set: a hyphen, as Java reads [\w-_]
            elif c in "|~":
                c = "\\" + c  # [a||b]: Python reads a doubled one as a set operation to come
        elif c == "[":
            in_class = True
            if java.startswith("[^", i):
                out.append("[^")
                i += 2
                continue
        elif c == ".":
            c = JAVA_DOT
        out.append(c)
        i, after_set = i + 1, False
    return "".join(out)


def _escape(java: str, i: int, in_class: bool) -> tuple[str, int, bool]:
    """The escape at java[i] in Python, where the pattern goes on after it, and whether it
    stands for a set of characters."""
    pair = SURROGATE_PAIR.match(java, i)
    if pair:
        high, low = int(pair.group(1), 16), int(pair.group(2), 16)
        point = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        return f"\\U{point:08X}", pair.end(), False
    prop = PROPERTY.match(java, i)
    if prop:
        ranges, negated = property_ranges(prop.group(2) or prop.group(3)), prop.group(1) == "P"
        if in_class and negated:
            raise UnsupportedPattern(f"\\P{{..}} in a class, at {i}")
        return (ranges if in_class else f"[{'^' if negated else ''}{ranges}]"), prop.end(), True
    two = java[i : i + 2]
    if two == r"\z":
        return r"\Z", i + 2, False
    if two in (r"\Z", r"\v"):
        raise UnsupportedPattern(f"{two} means another thing in Java, at {i}")
    return two, i + 2, two[1:] in "wWdDsS"


def property_ranges(name: str) -> str:
    """A Java \\p{name} as the inside of a Python character class."""
    if name in POSIX:
        return POSIX[name]
    categories = {category for _, _, category in category_runs()}
    if name not in categories | {category[0] for category in categories}:
        raise UnsupportedPattern(f"\\p{{{name}}} is no Unicode category or POSIX class known here")
    return category_ranges(name)


@functools.cache
def category_ranges(category: str) -> str:
    """The code points of a general category ("L", or "Lu"), as ranges of a character class."""
    ranges: list[list[int]] = []
    for start, end, name in category_runs():
        if not name.startswith(category):
            continue
        if ranges and ranges[-1][1] == start - 1:
            ranges[-1][1] = end
        else:
            ranges.append([start, end])
    return "".join(
        f"\\U{start:08X}" + (f"-\\U{end:08X}" if end > start else "") for start, end in ranges
    )


@functools.cache
def category_runs() -> tuple[tuple[int, int, str], ...]:
    """Every code point in runs of one general category: (first, last, category)."""
    runs: list[tuple[int, int, str]] = []
    start, current = 0, unicodedata.category("\x00")
    for point in range(1, 0x110000):
        name = unicodedata.category(chr(point))
        if name != current:
            runs.append((start, point - 1, current))
            start, current = point, name
    runs.append((start, 0x10FFFF, current))
    return tuple(runs)
