"""The values a run hands from step to step: a target's setting, the clusters and targets it saw,
the changes it decided and how they went, and the two records it keeps: the pause record (what a
resume needs) and the run record (this host's own account of its last run)."""

from __future__ import annotations

import enum
import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import NamedTuple


class Suspension(NamedTuple):
    """An Application Auto Scaling target's three kinds of scaling: True where suspended."""

    dynamic_in: bool
    dynamic_out: bool
    scheduled: bool


# The three kinds of scaling in a Suspension's order, as a log line and a tag's value name them.
FLAG_WORDS = ("in", "out", "scheduled")

SUSPENDED = Suspension(True, True, True)
SCALING = Suspension(False, False, False)

# The largest desired count ECS takes: the API's desiredCount is a 32-bit integer.
MAX_DESIRED_COUNT = 2**31 - 1

# What a target is set to, a value of its kind's own (targets/): an ECS service's desired count,
# a scalable target's Suspension, a rule's state, a group's sizes. A tuple is written to a record
# as a list; str() is how a log line shows it.
Setting = Hashable

# What a pause holds: a table's targets (the scope is the table's name), or the ECS autoscaler
# service and its own scalable target, which every matching cluster holds (EVERY_TABLE).
Scope = str
EVERY_TABLE: Scope = "*"


@dataclass(frozen=True)
class Cluster:
    """An active EMR cluster whose name matches a prefix. `tables`: the names and patterns of
    the tables it backs up, from its tags; None: it holds every table. `unread`: its tags could
    not be read, so it holds every table for this run, and the next run reads them again."""

    id: str
    name: str
    state: str
    prefix: str
    tables: tuple[str, ...] | None = None
    unread: bool = False


@dataclass(frozen=True)
class TargetView:
    """One thing the tool can pause, as observed, with its kind's rules as plain data."""

    key: str  # stable id in the records
    label: str  # name in log lines
    current: Setting
    saved: Setting | None  # the pre-pause setting recorded on AWS itself, or None
    paused_value: Setting  # the setting that means "paused"
    resume_default: Setting  # the setting to resume to when no earlier one is known anywhere
    # Found already paused when a pause begins: someone else paused it, so it stays paused on
    # resume. (A service found at 0 is resumed to resume_count instead, as the original tool did.)
    keeps_earlier_pause: bool = False
    saves_on_aws: bool = False  # its pre-pause setting is also kept on AWS (`saved`)
    default_name: str = "the default"  # what resume_default is called in a log line
    unreadable_record: bool = False  # a record on AWS that could not be understood
    scope: Scope = EVERY_TABLE  # what a cluster must hold for this target to be paused
    managed: bool = True  # False: the config no longer names it; its setting is given back
    created: float | None = None  # when AWS made it (Unix seconds), where AWS says

    @property
    def recorded(self) -> bool:
        """A record of the pre-pause setting is on AWS, understood or not."""
        return self.saved is not None or self.unreadable_record


@dataclass(frozen=True)
class Observed:
    clusters: tuple[Cluster, ...]
    targets: tuple[TargetView, ...]
    # The scope of each target the pause record holds that the config names but this run did
    # not read (the service's own scalable target, read only when the service changes).
    unseen: Mapping[str, Scope] = field(default_factory=dict)
    gone: tuple[str, ...] = ()  # held by the record, read by their keys, and not on AWS


class Why(enum.Enum):
    """Why a change exists."""

    PAUSE = "pause"  # set the target to its paused setting
    RESUME = "resume"  # set it back to its pre-pause setting
    RESUME_DEFAULT = "resume to default"  # resume it, but no pre-pause setting is known anywhere
    # record a pause someone else made before ours, so that it stays after ours
    KEEP_EARLIER = "keep earlier"
    CLEAR = "clear"  # remove a pre-pause setting left recorded on AWS after a resume
    SAVE = "save"  # record the pre-pause setting on AWS again: it went missing during the pause
    GIVE_BACK = "give back"  # the config no longer names it: set it back to its pre-pause setting


@dataclass(frozen=True)
class Change:
    key: str
    label: str
    why: Why
    before: Setting
    after: Setting | None  # None: the setting is left as it is
    save: Setting | None = None  # pre-pause setting to record on AWS before the change
    forget: bool = False  # remove the record on AWS after the change
    scope: Scope = EVERY_TABLE  # the target's scope


@dataclass(frozen=True)
class Failure:
    """A change that failed. `changed`: the setting was changed all the same, only keeping its
    record on AWS failed."""

    error: str
    changed: bool = False
    left: bool = False  # not tried: the run's time for writes was spent; the next run goes on


@dataclass(frozen=True)
class Hold:
    """One scope's pause: since when, and what holds it. A scope that is not paused keeps a Hold
    only for the clusters it no longer lets hold it (`ignored`)."""

    paused_at: str | None = None  # when the current pause began; None: not paused
    last_seen: str | None = None  # when a cluster holding it was last seen
    holding: tuple[str, ...] = ()  # the clusters that held it at the last run
    ignored: tuple[str, ...] = ()  # held it past max_pause_minutes: hold it no more
    alarm: str | None = None  # the stuck-pause alarm of the last run


@dataclass(frozen=True)
class Schedule:
    """A failsafe schedule as it was made: when it fires, its group and region, and its name
    when that is not the one the pauser's name and the target's key make today."""

    due: str
    group: str
    region: str
    name: str | None = None
    unset: bool = False  # recorded before it was set, and not known to be: set it again
    # The schedules of the target elsewhere (another group or region) that this one replaces: to
    # remove once it is set. Each is recorded until it is removed.
    replaces: tuple[Schedule, ...] = ()


class Ended(enum.Enum):
    """What ended a pause."""

    CLUSTERS = "clusters"  # no cluster held it any more
    FAILSAFE = "failsafe"  # its failsafe schedules restored its targets
    FORCED = "force_resume_after_max_pause"  # over max_pause_minutes, resumed anyway
    CONFIG = "config"  # the config no longer names it: its targets were given back


@dataclass(frozen=True)
class Pause:
    """One pause of a scope, in the pause record's history: when it began and ended, and the
    clusters that held it (id -> name)."""

    scope: Scope
    began: str
    ended: str | None = None  # None: it is on
    clusters: Mapping[str, str] = field(default_factory=dict)
    ended_by: Ended | None = None


@dataclass(frozen=True)
class Named:
    """The targets the config of the pauser that wrote a record names: a short digest of each
    (to tell whether two configs name any target in common) and the first few by name (to say
    which)."""

    ids: frozenset[str]
    names: tuple[str, ...]


@dataclass(frozen=True)
class PauseRecord:
    """What a resume needs, so it must outlive the host that paused: whose record it is, each
    scope's pause, every paused target's pre-pause setting and failsafe schedule, and the tables
    each active cluster backs up."""

    pauser: str | None = None  # the name of the pauser whose record this is
    holds: Mapping[Scope, Hold] = field(default_factory=dict)
    saved: Mapping[str, Setting] = field(default_factory=dict)  # target key -> pre-pause setting
    schedules: Mapping[str, Schedule] = field(default_factory=dict)  # target key -> its schedule
    clusters: Mapping[str, tuple[str, ...] | None] = field(default_factory=dict)  # id -> tables
    clusters_tag: str | None = None  # the tag `clusters` was read from
    fresh: bool = True  # there was no usable earlier record
    history: tuple[Pause, ...] = ()  # each scope's pauses, oldest first (history.py)
    # A failsafe schedule may be on AWS that the record lost track of (a field of it set aside,
    # or the record moved aside): the next run lists this pauser's and removes those it lacks.
    sweep: bool = False
    named: Named | None = None  # what its pauser's config names (state_table's record)
    # When AWS made the target whose setting `saved` holds, for a target made after its scope's
    # pause began: a target made later still is another one (its table deleted and made again).
    created: Mapping[str, float] = field(default_factory=dict)
    # Targets the pause holds whose setting from before it is not known: found paused with no
    # record anywhere, or their saved setting not one they can have (edited by hand). A resume
    # sets them to the setting on AWS, else to their kind's default.
    unknown: frozenset[str] = frozenset()

    @property
    def paused(self) -> bool:
        return any(hold.paused_at for hold in self.holds.values())

    @property
    def paused_at(self) -> str | None:
        """When the oldest pause now on began."""
        return min((h.paused_at for h in self.holds.values() if h.paused_at), default=None)

    @property
    def alarms(self) -> tuple[str, ...]:
        return tuple(h.alarm for h in self.holds.values() if h.alarm)

    @property
    def empty(self) -> bool:
        """Nothing a resume needs: no pause, no saved setting, no schedule."""
        return not (self.paused or self.saved or self.unknown or self.schedules)

    @property
    def held(self) -> tuple[str, ...]:
        """The keys of the targets the record holds: with a saved setting, or not known."""
        return (*self.saved, *sorted(self.unknown - self.saved.keys()))

    def paused_scopes(self) -> tuple[Scope, ...]:
        return tuple(scope for scope, hold in self.holds.items() if hold.paused_at)


@dataclass(frozen=True)
class Scan:
    """The resource ids of the listed tables' scalable targets, and how many targets the
    namespace held, when a run last read it all."""

    ids: tuple[str, ...]
    namespace: int


@dataclass(frozen=True)
class RunRecord:
    """This host's account of its last run, for `status` and the metrics."""

    last_action: str = "none"  # pause, resume or none
    last_action_at: str | None = None
    last_run_at: str | None = None
    last_result: str | None = None  # ok or error
    last_error: str | None = None
    last_success_at: str | None = None
    active_clusters: tuple[Cluster, ...] = ()
    failed_targets: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # what the run could not do or see, though it did its job
    planned: int = 0  # the writes the last run was to make
    pending: int = 0  # of those, the ones left for the next run: its time for writes was spent
    scan: Scan | None = None  # the last read of the whole dynamodb namespace, and when
    scanned_at: str | None = None
    skipped: int = 0  # runs skipped in a row since the last run (another held the record)
    skipped_at: str | None = None  # the last of them
    skipped_by: str | None = None  # who held the record then
    clock_ahead: float = 0.0  # seconds this host's clock was ahead of AWS's at the last run


@dataclass(frozen=True)
class State:
    """What the state file holds: the pause record and the run record."""

    pause: PauseRecord = field(default_factory=PauseRecord)
    run: RunRecord = field(default_factory=RunRecord)


ISO_FORM = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: object) -> datetime | None:
    """A time as iso() writes it, or None."""
    if not isinstance(text, str) or ISO_FORM.fullmatch(text) is None:
        return None
    try:  # fromisoformat, not strptime: a steady run has no need of the _strptime module
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=timezone.utc)
    except ValueError:  # a day or an hour out of range
        return None


def paused_seconds(record: PauseRecord, now: datetime) -> float | None:
    """How long the oldest pause now on has lasted, or None when there is none (or its start is
    not known)."""
    since = parse_iso(record.paused_at)
    return (now - since).total_seconds() if since else None
