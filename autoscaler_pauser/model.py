"""The values a run hands from step to step: a target's setting, the clusters and targets it saw,
the changes it decided and how they went, and the two records it keeps: the pause record (what a
resume needs) and the run record (this host's own account of its last run)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
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

# What a target is set to: an ECS service's desired count, or a scalable target's suspension.
Setting = int | Suspension


@dataclass(frozen=True)
class Cluster:
    """An active EMR cluster whose name matches a prefix."""

    id: str
    name: str
    state: str
    prefix: str


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

    @property
    def recorded(self) -> bool:
        """A record of the pre-pause setting is on AWS, understood or not."""
        return self.saved is not None or self.unreadable_record


@dataclass(frozen=True)
class Observed:
    clusters: tuple[Cluster, ...]
    targets: tuple[TargetView, ...]


class Why(enum.Enum):
    """Why a change exists."""

    PAUSE = "pause"  # set the target to its paused setting
    RESUME = "resume"  # set it back to its pre-pause setting
    RESUME_DEFAULT = "resume to default"  # resume it, but no pre-pause setting is known anywhere
    KEEP_EARLIER = (
        "keep earlier"  # record a pause someone else made before ours, so that it stays after ours
    )
    CLEAR = "clear"  # remove a pre-pause setting left recorded on AWS after a resume
    SAVE = "save"  # record the pre-pause setting on AWS again: it went missing during the pause


@dataclass(frozen=True)
class Change:
    key: str
    label: str
    why: Why
    before: Setting
    after: Setting | None  # None: the setting is left as it is
    save: Setting | None = None  # pre-pause setting to record on AWS before the change
    forget: bool = False  # remove the record on AWS after the change


@dataclass(frozen=True)
class Failure:
    """A change that failed. `changed`: the setting was changed all the same, only keeping its
    record on AWS failed."""

    error: str
    changed: bool = False
    left: bool = False  # not tried: the run's time for writes was spent; the next run goes on


@dataclass(frozen=True)
class PauseRecord:
    """Whether the autoscaler is paused, since when, what holds it, and every target's pre-pause
    setting: what a resume needs, so it must outlive the host that paused."""

    paused: bool = False
    paused_at: str | None = None  # when the current pause began
    last_seen_active_at: str | None = None  # when a cluster holding the pause was last seen
    ignored_clusters: tuple[str, ...] = ()  # held a pause past max_pause_minutes: hold no more
    alarm: str | None = None
    saved: Mapping[str, Setting] = field(default_factory=dict)  # target key -> pre-pause setting
    failsafe: Mapping[str, str] = field(default_factory=dict)  # target key -> its schedule's due
    fresh: bool = True  # there was no usable earlier record


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
    planned: int = 0  # the changes the last run was to make
    pending: int = 0  # of those, the ones left for the next run: its time for writes was spent
    scan: Scan | None = None  # the last read of the whole dynamodb namespace, and when
    scanned_at: str | None = None


@dataclass(frozen=True)
class State:
    """What the state file holds: the pause record and the run record."""

    pause: PauseRecord = field(default_factory=PauseRecord)
    run: RunRecord = field(default_factory=RunRecord)


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: object) -> datetime | None:
    """A time as iso() writes it, or None."""
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(  # type: ignore[arg-type]
            tzinfo=timezone.utc
        )
    except (TypeError, ValueError):
        return None


def paused_seconds(record: PauseRecord, now: datetime) -> float | None:
    """How long the current pause has lasted, or None when there is none (or its start is not
    known)."""
    since = parse_iso(record.paused_at) if record.paused else None
    return (now - since).total_seconds() if since else None
