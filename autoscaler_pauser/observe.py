"""What a run reads, and the plan it makes of it: the tables each matching cluster backs up (from
its tags, once), every target of the configured kinds, the targets the pause record holds that
the config no longer names, and the lazy readers' targets (the ECS service's own scalable
target), only when the plan needs them."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .aws import Aws, AwsError
from .clusters import with_tables
from .config import Config
from .decide import Plan, decide
from .model import Cluster, Observed, PauseRecord, RunRecord, Scan, TargetView
from .targets import configured, kind_of, readers, scope_of
from .targets.kind import Context, TargetKind

log = logging.getLogger("autoscaler-pauser")


def observe_targets(
    kinds: Sequence[TargetKind],
) -> tuple[tuple[TargetView, ...], dict[str, TargetKind]]:
    owners: dict[str, TargetKind] = {}
    targets = []
    for kind in kinds:
        for view in kind.observe():
            owners[view.key] = kind
            targets.append(view)
    return tuple(targets), owners


# --- the targets the record holds ----------------------------------------------------------------


def record_targets(
    record: PauseRecord, config: Config, seen: set[str]
) -> tuple[dict[str, str], list[str]]:
    """The record's targets that this run did not read: the scope of each the config still
    names (`unseen`), and the keys of those it no longer names (to be given back)."""
    unseen, leftovers = {}, []
    for key in record.held:
        if key in seen:
            continue
        if configured(key, config):
            unseen[key] = scope_of(key)
        else:
            leftovers.append(key)
    return unseen, leftovers


def leftover_kinds(keys: Sequence[str], aws: Aws, config: Config) -> list[Any]:
    """Readers of the targets of `keys`, which the config no longer names: one set for each
    way of reading them (kinds that read their targets together share one)."""
    by_reader: dict[Any, list[str]] = {}
    for key in keys:
        by_reader.setdefault(kind_of(key).leftovers, []).append(key)
    return [reader for read, these in by_reader.items() for reader in read(these, aws, config)]


@dataclass
class Reading:
    """What a run read and decided, and which kind owns each target."""

    observed: Observed
    plan: Plan
    owners: dict[str, TargetKind]
    warnings: list[str] = field(default_factory=list)
    scan: Scan | None = None  # the tables' targets, if this run scanned the whole namespace


def observe_and_decide(
    config: Config,
    aws: Aws,
    record: PauseRecord,
    now: datetime,
    clusters: Sequence[Cluster],
    run: RunRecord | None = None,
    until: float = math.inf,
) -> Reading:
    """Read, decide, and if the plan needs a lazy reader (the service's own scaling target,
    read only when the service changes), read it too and decide again, so that a steady run
    stays at one read per kind."""
    clusters, warnings = with_tables(clusters, record, config, aws, until)
    all_readers = readers(config, aws, Context(record, run, now, tuple(clusters)))
    eager = [r for r in all_readers if not r.lazy]
    targets, owners = observe_targets(eager)
    gone = tuple(key for reader in eager for key in getattr(reader, "gone", ()))
    unseen, leftovers = record_targets(record, config, {t.key for t in targets} | set(gone))
    if leftovers:
        more, more_owners = observe_targets(leftover_kinds(leftovers, aws, config))
        targets, owners = targets + more, {**owners, **more_owners}
    gone += tuple(key for key in leftovers if key not in owners)
    observed = Observed(tuple(clusters), targets, unseen, gone)
    scan = next((r.scan for r in eager if getattr(r, "scan", None) is not None), None)
    reading = Reading(observed, decide(observed, record, config, now), owners, warnings, scan)
    for lazy in (r for r in all_readers if r.lazy):
        if lazy.needed(reading.plan, record):
            reading = with_lazy(reading, lazy, config, record, now)
    return reading


def with_lazy(
    reading: Reading,
    lazy: TargetKind,
    config: Config,
    record: PauseRecord,
    now: datetime,
) -> Reading:
    """The reading with a lazy reader's targets read too, and the plan made again. Denied, the
    run goes on without them, with a warning."""
    observed, owners = reading.observed, reading.owners
    try:
        more, more_owners = observe_targets([lazy])
    except AwsError as e:
        if not e.denied:
            raise
        # Pausing the rest matters more than these: go on without them.
        reading.warnings.append(denied_warning(lazy, e))
        return reading
    owners.update(more_owners)
    # What it read and did not find, of the record's targets of its kind, AWS no longer has.
    gone = tuple(k for k in observed.unseen if isinstance(lazy, kind_of(k)) and k not in owners)
    unseen = {k: s for k, s in observed.unseen.items() if k not in more_owners and k not in gone}
    observed = Observed(observed.clusters, more + observed.targets, unseen, observed.gone + gone)
    plan = decide(observed, record, config, now)
    return Reading(observed, plan, owners, reading.warnings, reading.scan)


def denied_warning(reader: TargetKind, e: AwsError) -> str:
    """What a reader that IAM denied says of what goes unchecked, or the error itself."""
    said = getattr(reader, "denied", None)
    return said(e) if said else f"not checked: {e}"
