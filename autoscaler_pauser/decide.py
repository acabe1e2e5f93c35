"""What each target should look like now, and the writes that get it there.

Pure: the clock comes in as `now`, nothing here reads or writes anything. First a verdict for
each scope (the ECS service, which every matching cluster holds, and each listed table, which
the clusters that back it up hold): which clusters hold it, the resume grace, the stuck-pause
alarm. Then one step per target, for a pause or for a resume by its scope's verdict, and the
giving back of targets the config no longer names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, NamedTuple

from .model import (
    EVERY_TABLE,
    Change,
    Cluster,
    Hold,
    Observed,
    PauseRecord,
    Scope,
    Setting,
    TargetView,
    Why,
    iso,
    parse_iso,
)

if TYPE_CHECKING:
    from .config import Config


@dataclass(frozen=True)
class Verdict:
    pause: bool  # whether the scope's targets should be paused after this run
    reason: str
    holding: tuple[str, ...] = ()  # ids of the clusters that hold the pause
    ignored: tuple[str, ...] = ()  # ids of active clusters that no longer may
    alarm: str | None = None  # the pause is over max_pause_minutes


@dataclass(frozen=True)
class Plan:
    verdicts: Mapping[Scope, Verdict]
    changes: tuple[Change, ...]
    saved: Mapping[str, Setting]  # pre-pause settings to record once the changes are made
    reason: str = ""  # the run's clusters, in a word: the reason of what stays as it is
    # The tables each active cluster backs up, from its tag `clusters_tag`, to keep: those whose
    # tags were read.
    clusters: Mapping[str, tuple[str, ...] | None] = field(default_factory=dict)
    clusters_tag: str | None = None
    forgotten: tuple[str, ...] = ()  # held by the record, and gone from AWS
    # When AWS made each target whose setting is saved (or not known) that it made after its
    # scope's pause began.
    created: Mapping[str, float] = field(default_factory=dict)
    unknown: frozenset[str] = frozenset()  # held by the pause, their earlier setting not known

    @property
    def pause(self) -> bool:
        """Something stays or becomes paused."""
        return any(v.pause for v in self.verdicts.values())

    @property
    def alarms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.alarm for v in self.verdicts.values() if v.alarm))

    @property
    def stuck(self) -> bool:
        """A pause over max_pause_minutes is still on."""
        return any(v.alarm and v.pause for v in self.verdicts.values())

    def verdict(self, scope: Scope) -> Verdict:
        return self.verdicts.get(scope) or Verdict(False, self.reason)


class Step(NamedTuple):
    change: Change | None
    saved: Setting | None  # the target's pre-pause setting to record, if any
    unknown: bool = False  # the pause holds the target, its earlier setting not known


NOTHING = Step(None, None)
NO_HOLD = Hold()


@dataclass
class Steps:
    """What the steps of a run's targets add up to."""

    changes: list[Change] = field(default_factory=list)
    saved: dict[str, Setting] = field(default_factory=dict)
    created: dict[str, float] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)


def decide(observed: Observed, record: PauseRecord, config: Config, now: datetime) -> Plan:
    clusters = observed.clusters
    verdicts = {
        scope: judge(scope, clusters, record.holds.get(scope, NO_HOLD), config, now)
        for scope in config.scopes
    }
    steps = Steps()
    for target in observed.targets:
        take_step(target, record, verdicts, now, steps)
    # A target the record holds that this run did not read keeps its record, whatever the
    # verdict: only its resume, or AWS saying it is gone, lets it go.
    for key in unseen(observed, record):
        if key in record.saved:
            steps.saved[key] = record.saved[key]
        if key in record.created:
            steps.created[key] = record.created[key]
        if key in record.unknown:
            steps.unknown.add(key)
    tag = config.cluster_tables_tag
    cached = {c.id: c.tables for c in clusters if not c.unread} if tag else {}
    reason = describe_clusters(clusters, config.emr_prefix)
    return Plan(
        verdicts,
        tuple(steps.changes),
        steps.saved,
        reason,
        cached,
        tag,
        observed.gone,
        steps.created,
        frozenset(steps.unknown),
    )


def take_step(
    target: TargetView,
    record: PauseRecord,
    verdicts: Mapping[Scope, Verdict],
    now: datetime,
    steps: Steps,
) -> None:
    """One target's step, by its scope's verdict, added to `steps`; one the config no longer
    names is given back."""
    known, ours = known_setting(target, record)
    if not target.managed:
        given = give_back(target, known)
        steps.changes += [given] if given else []
        return
    verdict = verdicts.get(target.scope, Verdict(False, "not a listed table"))
    step = (pause_step if verdict.pause else resume_step)(target, known, ours)
    if step.change is not None:
        steps.changes.append(step.change)
    if step.saved is not None:
        steps.saved[target.key] = step.saved
    if step.unknown:
        steps.unknown.add(target.key)
    made, hold = target.created, record.holds.get(target.scope, NO_HOLD)
    if (
        made is not None
        and (step.saved is not None or step.unknown)
        and made_during(made, hold, now)
    ):
        steps.created[target.key] = made


def unseen(observed: Observed, record: PauseRecord) -> list[str]:
    """The targets the record holds, that the config names, that this run did not read."""
    seen = {target.key for target in observed.targets}
    held = set(record.held)
    return [key for key in observed.unseen if key in held and key not in seen]


def known_setting(target: TargetView, record: PauseRecord) -> tuple[Setting | None, bool]:
    """A target's pre-pause setting (in the pause record, else on AWS, else unknown), and
    whether a pause of ours could explain it being paused: there is no earlier record, or the
    record holds the target without its setting. What the record holds of a target made again
    since (`made_again`) is not this one's."""
    if made_again(target, record):
        return target.saved, record.fresh
    recorded = record.saved.get(target.key)
    known = recorded if recorded is not None else target.saved
    return known, record.fresh or target.key in record.unknown


def made_again(target: TargetView, record: PauseRecord) -> bool:
    """AWS made the target after the record of it was made: its table or index was deleted and
    made again, and the record is of the one before. A target made after its scope's pause
    began is recorded with when it was made (`created`)."""
    if target.created is None or target.key not in record.held:
        return False
    stamp = record.created.get(target.key)
    if stamp is not None:
        return stamp != target.created
    began = parse_iso(record.holds.get(target.scope, NO_HOLD).paused_at)
    return began is not None and target.created > began.timestamp()


def made_during(made: float, hold: Hold, now: datetime) -> bool:
    """AWS made a target at `made` after its scope's pause began (or, beginning now, after
    now), to the second the record keeps of it, as `made_again` reads it."""
    began = parse_iso(hold.paused_at or iso(now))
    return began is not None and made > began.timestamp()


# --- the verdicts ------------------------------------------------------------------------------


def holds(cluster: Cluster, scope: Scope) -> bool:
    """Whether a cluster holds a scope: every cluster holds the ECS service, and a table is held
    by the clusters that name it in their tags (one without the tags holds every table)."""
    if scope == EVERY_TABLE or cluster.tables is None:
        return True
    return any(fnmatchcase(scope, pattern) for pattern in cluster.tables)


def judge(
    scope: Scope, clusters: Sequence[Cluster], hold: Hold, config: Config, now: datetime
) -> Verdict:
    """Whether a scope's targets should be paused, and why.

    | clusters holding it | the scope's pause so far              | verdict                     |
    |---------------------|---------------------------------------|-----------------------------|
    | none                | none, or none seen within the grace   | resume                      |
    | none                | one was seen less than grace ago      | pause (grace)               |
    | only ignored ones   | any                                   | as if there were none       |
    | some                | under max_pause_minutes (or 0)        | pause                       |
    | some                | over it                               | pause, alarm                |
    | some                | over it, force_resume_after_max_pause | resume, alarm; they are     |
    |                     |                                       | ignored from then on        |
    """
    ignored = {c.id for c in clusters if c.id in hold.ignored and holds(c, scope)}
    holding = tuple(c for c in clusters if c.id not in ignored and holds(c, scope))
    reason = describe_holders(scope, holding, clusters, config)
    if ignored:
        reason += f" ({len(ignored)} more held a pause past max_pause_minutes and are ignored)"
    if not holding:
        return _without_clusters(hold, config, now, reason, tuple(sorted(ignored)))
    held = tuple(c.id for c in holding)
    over = _over_limit(hold, config, now, reason)
    if over is None:
        return Verdict(True, reason, held, tuple(sorted(ignored)))
    if not config.force_resume_after_max_pause:
        alarm = over + f"; a stuck backup cluster? {_what(scope)} stays paused"
        return Verdict(True, reason, held, tuple(sorted(ignored)), alarm)
    alarm = (
        over + "; resumed anyway (force_resume_after_max_pause), and these clusters hold no "
        "further pause"
    )
    return Verdict(False, alarm, (), tuple(sorted(ignored | set(held))), alarm)


def _what(scope: Scope) -> str:
    return "the autoscaler" if scope == EVERY_TABLE else f"table {scope}"


def _without_clusters(
    hold: Hold, config: Config, now: datetime, reason: str, ignored: tuple[str, ...]
) -> Verdict:
    """No cluster holds the scope: resume, unless the last one was seen within the grace."""
    last_seen = parse_iso(hold.last_seen)
    if not (hold.paused_at and last_seen and config.resume_grace_seconds):
        return Verdict(False, reason, (), ignored)
    quiet = (now - last_seen).total_seconds()
    if quiet >= config.resume_grace_seconds:
        return Verdict(False, reason, (), ignored)
    waiting = (
        f"; the last was seen {quiet:.0f}s ago, resume waits "
        f"{config.resume_grace_seconds:g}s (resume_grace_seconds)"
    )
    return Verdict(True, reason + waiting, (), ignored)


def _over_limit(hold: Hold, config: Config, now: datetime, reason: str) -> str | None:
    """The alarm's text when the pause has lasted longer than max_pause_minutes, else None."""
    since = parse_iso(hold.paused_at)
    if since is None or not config.max_pause_minutes:
        return None
    minutes = (now - since).total_seconds() / 60
    if minutes <= config.max_pause_minutes:
        return None
    return (
        f"paused for {minutes:.0f} min since {hold.paused_at}, over max_pause_minutes="
        f"{config.max_pause_minutes:g}: {reason}"
    )


def describe_holders(
    scope: Scope, holding: Sequence[Cluster], clusters: Sequence[Cluster], config: Config
) -> str:
    """Why a scope is held, or not: the clusters that hold it; for a table that others do not
    hold, that they back up other tables."""
    if holding or scope == EVERY_TABLE or not clusters:
        return describe_clusters(holding, config.emr_prefix)
    return f"no active cluster backs up {scope} ({describe_clusters(clusters, config.emr_prefix)})"


def describe_clusters(clusters: Sequence[Cluster], prefixes: Sequence[str]) -> str:
    match = ", ".join(repr(p) for p in prefixes)
    if not clusters:
        return f"no active cluster matches {match}"
    ids = ", ".join(c.id for c in clusters[:10]) + (", …" if len(clusters) > 10 else "")
    used = ", ".join(repr(p) for p in dict.fromkeys(c.prefix for c in clusters))
    noun = "cluster matches" if len(clusters) == 1 else "clusters match"
    return f"{len(clusters)} active {noun} {used} ({ids})"


# --- one step per target -------------------------------------------------------------------------


def pause_step(target: TargetView, known: Setting | None, ours: bool) -> Step:
    """One target while its scope is to be paused. `known`: its pre-pause setting as recorded,
    in the pause record first, else on AWS. `ours`: a pause of ours could explain it being
    paused: there is no earlier record, or the record holds the target but not its setting. A
    target the record does not hold is never taken for one this pause paused: what it has when
    first seen is its setting before the pause.

    | the target now | its pre-pause setting            | change                      | recorded  |
    |----------------|----------------------------------|-----------------------------|-----------|
    | not paused     | not known                        | pause, saving the setting   | setting   |
    | not paused     | known (lifted during the backup) | pause, saving it where gone | known     |
    | paused         | known on AWS                     | none                        | known     |
    | paused         | known, its record on AWS gone    | save it on AWS again        | known     |
    | paused         | not known, the record lost: ours | none                        | not known |
    | paused         | not known, not ours: paused      | keep earlier: save it       | setting   |
    |                | before this pause found it       |                             |           |
    | paused         | not known, a kind that keeps     | none                        | nothing   |
    |                | no earlier pause (a service at 0)|                             |           |
    """
    if target.current != target.paused_value:
        pre_pause = known if known is not None else target.current
        save = pre_pause if target.saved != pre_pause else None
        return Step(change(target, Why.PAUSE, target.paused_value, save=save), pre_pause)
    if known is not None:
        if not target.saves_on_aws or target.saved is not None:
            return Step(None, known)
        return Step(change(target, Why.SAVE, None, save=known), known)
    if paused_by_someone_else(target, known, ours):
        return Step(change(target, Why.KEEP_EARLIER, None, save=target.current), target.current)
    return Step(None, None, unknown=ours)


def resume_step(target: TargetView, known: Setting | None, ours: bool) -> Step:
    """One target while its scope is to run. `known` and `ours` as for pause_step.

    | the target now | its pre-pause setting               | change                             |
    |----------------|-------------------------------------|------------------------------------|
    | paused         | not known, not ours: someone else   | none: it stays paused              |
    |                | paused it                           |                                    |
    | paused         | known                               | resume to it; forget it on AWS     |
    | paused         | not known anywhere, ours            | resume to the kind's default       |
    | paused         | known, and the same as now          | clear the record on AWS, if any    |
    | not paused     | still recorded on AWS (or garbled)  | clear that record                  |
    | not paused     | not recorded on AWS                 | none                               |
    """
    if target.current != target.paused_value:
        return Step(_clear(target), None) if target.recorded else NOTHING
    if paused_by_someone_else(target, known, ours):
        return NOTHING
    goal = known if known is not None else target.resume_default
    if goal == target.current:
        return Step(_clear(target), None) if target.recorded else NOTHING
    why = Why.RESUME if known is not None else Why.RESUME_DEFAULT
    return Step(change(target, why, goal, forget=target.recorded), None)


def give_back(target: TargetView, known: Setting | None) -> Change | None:
    """A target the config no longer names: set back to its pre-pause setting, whatever the
    clusters do; the record of it goes.

    | its pre-pause setting       | the target now       | change                           |
    |-----------------------------|----------------------|----------------------------------|
    | known, not what it is now   | any                  | set it back; forget it on AWS    |
    | known, what it is now       | any                  | forget it on AWS, if recorded    |
    | not known                   | any                  | forget it on AWS, if recorded    |
    """
    if known is not None and known != target.current:
        return change(target, Why.GIVE_BACK, known, forget=target.recorded)
    return _clear(target) if target.recorded else None


def _clear(target: TargetView) -> Change:
    return change(target, Why.CLEAR, None, forget=True)


def change(target: TargetView, why: Why, after: Setting | None, **kw: object) -> Change:
    """A change of `target` from what it is now."""
    return Change(target.key, target.label, why, target.current, after, scope=target.scope, **kw)  # type: ignore[arg-type]


def paused_by_someone_else(target: TargetView, known: Setting | None, ours: bool) -> bool:
    """A target of a kind that keeps earlier pauses, found paused with nothing recorded while
    no pause of ours could explain it."""
    return target.keeps_earlier_pause and known is None and not ours
