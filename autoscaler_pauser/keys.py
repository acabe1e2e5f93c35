"""The config keys every pauser has, and what a key is. Each kind of target brings its own keys
(targets/); the registry joins them to these into the one table (targets.KEYS), the single
source for parsing, validation, environment names, config.example.yaml, the docs' table and the
Ansible role's variables (`make docs` writes them; the tests check that they agree with it)."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .timing import LEASE_SECONDS, RUN_SECONDS

DEFAULT_STATE_FILE = "/var/lib/autoscaler-pauser/state.json"

# A pauser's name is the key of its item in state_table, and, followed by PART_MARK and a number
# up to 10, of its record's part items (lease.py's PART and MOST_PARTS). DynamoDB takes a
# partition key of at most 2048 bytes in UTF-8: the name leaves room for the longest suffix.
PART_MARK = "#part-"
NAME_BYTES = 2048 - len(f"{PART_MARK}10")


class Kind(enum.Enum):
    """How a key's value is read and checked."""

    PREFIXES = "prefixes"  # a string or a list of them; env: comma-separated
    TABLES = "tables"  # a list of DynamoDB table names; env: comma-separated
    DIMENSIONS = "dimensions"  # a list of read and write; env: comma-separated
    TABLE = "table"  # one DynamoDB table name
    REGION = "region"
    STR = "str"
    NAMES = "names"  # a list of resource names; env: comma-separated
    TAG_KEY = "tag_key"  # an EMR tag's key
    PAUSER_NAME = "pauser_name"  # a key of state_table's items: NAME_BYTES at most
    EVENT_BUS = "event_bus"  # an EventBridge event bus's name or ARN
    PATH = "path"
    INT = "int"
    NUMBER = "number"
    BOOL = "bool"
    FLAG = "flag"  # a boolean; in the environment, being set at all turns it on

    @property
    def type_name(self) -> str:
        """The type's name in the docs."""
        return TYPE_NAMES[self]


TYPE_NAMES = {
    Kind.PREFIXES: "string or list of strings",
    Kind.TABLES: "list of strings",
    Kind.DIMENSIONS: "list of read, write",
    Kind.TABLE: "DynamoDB table name",
    Kind.REGION: "AWS region",
    Kind.STR: "string",
    Kind.NAMES: "list of strings",
    Kind.TAG_KEY: "EMR tag key",
    Kind.PAUSER_NAME: "string",
    Kind.EVENT_BUS: "EventBridge event bus name or ARN",
    Kind.PATH: "path",
    Kind.INT: "integer",
    Kind.NUMBER: "number",
    Kind.BOOL: "boolean",
    Kind.FLAG: "boolean",
}


class Required(enum.Enum):
    NO = "no"
    YES = "yes"
    WITH_TARGET = "with its target"  # required when any key of its kind of target is given


@dataclass(frozen=True)
class Key:
    name: str
    kind: Kind
    default: Any
    help: str
    required: Required = Required.NO
    minimum: float | None = None
    maximum: float | None = None
    example: Any = None  # the value config.example.yaml shows for a required key
    service: str | None = None  # a region key: the service whose regions it must be one of
    env_name: str | None = None  # the environment variable, when not the key upper-cased
    target: str | None = None  # the kind of target whose key it is, as the docs name it
    # A converter of its own, for a value only its kind of target knows (key, value, from_env);
    # `type_label` names that value's type in the docs.
    convert: Callable[[Key, Any, bool], Any] | None = None
    type_label: str | None = None

    @property
    def env(self) -> str:
        return self.env_name or self.name.upper()

    @property
    def type_name(self) -> str:
        """The type's name in the docs, with the range of a number."""
        name = self.type_label or self.kind.type_name
        if self.minimum is None or self.maximum is None:
            return name
        return f"{name}, {plain(self.minimum)} to {plain(self.maximum)}"


def plain(number: float) -> str:
    """A number as a person writes it: 86400, 2147483647, 0.5."""
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


# The keys before the kinds' own in the table, and those after.
LEADING: tuple[Key, ...] = (
    Key(
        "emr_prefix",
        Kind.PREFIXES,
        None,
        "EMR cluster name prefix that marks a backup cluster; "
        "a list (env: comma-separated) matches any of them",
        required=Required.YES,
        example="nightly-backup-",
    ),
    Key(
        "emr_region",
        Kind.REGION,
        None,
        "region of the EMR clusters",
        required=Required.YES,
        example="us-east-1",
        service="emr",
    ),
    Key(
        "autoscaler_region",
        Kind.REGION,
        None,
        "region of the autoscaler: each kind of target's region, unless its own key says another",
        example="us-east-1",
        service="ecs",
    ),
)
TRAILING: tuple[Key, ...] = (
    Key(
        "cluster_tables_tag",
        Kind.TAG_KEY,
        None,
        "the key of an EMR cluster tag naming the tables the cluster backs up (table names "
        "separated by white space; prefix:NAME, every table whose name starts with NAME; tags "
        "whose keys are this key followed by -2, -3, … add to it): such a cluster holds only "
        "those tables paused; one without the tag, or whose tag names no table, every table; "
        "default: none, every matching cluster holds every table",
    ),
    Key(
        "debug_output",
        Kind.FLAG,
        False,
        "debug logging; in the environment, the variable being "
        "present turns it on, whatever its value",
    ),
    Key(
        "max_pause_minutes",
        Kind.NUMBER,
        360,
        "a pause longer than this is an alarm: every run logs an ERROR naming the clusters that "
        "hold it and exits 3; 0 turns the alarm off",
        minimum=0,
        maximum=30 * 24 * 60,
    ),
    Key(
        "force_resume_after_max_pause",
        Kind.BOOL,
        False,
        "resume instead once a pause is over max_pause_minutes; the clusters active then hold "
        "no further pause, a new matching cluster pauses again",
    ),
    Key(
        "resume_grace_seconds",
        Kind.NUMBER,
        0,
        "resume only once no matching cluster has been seen for this long, so that backups "
        "run back to back do not resume the autoscaler in between; pauses are never delayed",
        minimum=0,
        maximum=24 * 60 * 60,
    ),
    Key(
        "write_workers",
        Kind.INT,
        10,
        "writes made at once to the tables' scalable targets (the ECS service goes first, "
        "alone); a throttle slows them all down",
        minimum=1,
        maximum=50,
    ),
    Key(
        "failsafe_minutes",
        Kind.NUMBER,
        0,
        "while a target is paused, an EventBridge Scheduler schedule per target restores its "
        "pre-pause setting this many minutes after the last run, should no run come to move it "
        f"(the pauser is gone); at least a run ({RUN_SECONDS} s) and the interval; 0 turns the "
        "failsafe off",
        minimum=0,
        maximum=7 * 24 * 60,
    ),
    Key(
        "failsafe_role_arn",
        Kind.STR,
        None,
        "the IAM role EventBridge Scheduler assumes to restore a setting; required with "
        "failsafe_minutes",
    ),
    Key(
        "failsafe_group",
        Kind.STR,
        "autoscaler-pauser",
        "the EventBridge Scheduler schedule group of the failsafe schedules (made if missing)",
    ),
    Key(
        "state_table",
        Kind.TABLE,
        None,
        "DynamoDB table holding the pause record every host and run of this pauser shares, "
        "with a lease so that one run writes at a time; needed for more than one host, a "
        "replaced host, a container or Lambda; its only key is the string `name`; default: none "
        "(the state file holds the pause record: one host only)",
    ),
    Key(
        "state_table_region",
        Kind.REGION,
        None,
        "region of state_table; default: the region of the config's first kind of target",
        service="dynamodb",
    ),
    Key(
        "lease_seconds",
        Kind.NUMBER,
        LEASE_SECONDS,
        f"how long a run holds state_table's lease: longer than a run lasts ({RUN_SECONDS} s at "
        "most), shorter than the time between runs, since a run that dies holding it delays the "
        "next by up to this",
        minimum=3,
        maximum=60 * 60,
    ),
    Key(
        "name",
        Kind.PAUSER_NAME,
        None,
        "whose pause record it is, and its item's key in state_table, so that several pausers "
        "can share it; default: the ECS service's key, when an ECS service is paused, else "
        "autoscaler-pauser: two pausers without a service that share a state file or "
        "state_table need a name each",
        env_name="PAUSER_NAME",
    ),
    Key(
        "metrics_file",
        Kind.PATH,
        None,
        "Prometheus metrics file written after every run, for node_exporter's textfile "
        "collector (name it *.prom); default: none",
    ),
    Key(
        "events_bus",
        Kind.EVENT_BUS,
        None,
        "EventBridge event bus told of each pause and resume: an event (source "
        "autoscaler-pauser) for each table, or the autoscaler, whose pause begins or ends; "
        "`default`: the account's default bus; a bus named here is in the region of the "
        "config's first kind of target, an ARN names its own; default: none, no events",
    ),
    Key(
        "interval",
        Kind.NUMBER,
        60,
        "seconds between runs in --loop mode",
        minimum=1,
        maximum=24 * 60 * 60,
    ),
    Key("state_file", Kind.PATH, DEFAULT_STATE_FILE, "JSON file recording the last action"),
    Key(
        "lock_file",
        Kind.PATH,
        None,
        "lock taken for the whole run; default: the state file's path + .lock",
    ),
    Key(
        "lock_timeout",
        Kind.NUMBER,
        10,
        "seconds to wait for another run's lock before skipping this run",
        minimum=0,
        maximum=60 * 60,
    ),
)


def keyed(keys: tuple[Key, ...]) -> dict[str, Key]:
    return {k.name: k for k in keys}
