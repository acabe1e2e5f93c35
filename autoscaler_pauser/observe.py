"""What a run reads, and the plan it makes of it: the tables each matching cluster backs up (from
its tags, once), every target of the configured kinds, the targets the pause record holds that
the config no longer names, and, only when the plan touches the ECS service, the service's own
scalable target."""

from __future__ import annotations

import functools
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
from .model import EVERY_TABLE, Cluster, Observed, PauseRecord, RunRecord, TargetView, parse_iso
from .targets import configured, kind_of, scope_of
from .targets.dynamodb import DynamoDbScaling, Scan, by_name_pays
from .targets.ecs import EcsService, EcsServiceScaling
from .targets.kind import TargetKind

log = logging.getLogger("autoscaler-pauser")


def target_kinds(
    config: Config, aws: Aws, known: Scan | None = None
) -> tuple[list[TargetKind], EcsServiceScaling | None]:
    """The kinds read on every run, and the service's scaling target, read only when needed.
    `known`: the tables' resource ids to ask for by name, or None to scan the namespace."""
    kinds: list[TargetKind] = []
    scaling = None
    if config.has_ecs:
        region = config.autoscaler_region or ""
        service = EcsService(
            aws.client("ecs", region),
            region,
            config.autoscaler_cluster or "",
            config.autoscaler_service or "",
            config.resume_count,
        )
        kinds.append(service)
        aas = functools.partial(aws.client, "application-autoscaling", region)
        scaling = EcsServiceScaling(aas, service)
    if config.dynamodb_tables:
        region = config.tables_region or ""
        aas = aws.client("application-autoscaling", region)
        tables = config.dynamodb_tables
        kinds.append(
            DynamoDbScaling(
                aas, region, tables, config.dynamodb_dimensions, known, readers=config.write_workers
            )
        )
    return kinds, scaling


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
    """The record's saved settings that this run did not read: the scope of each the config
    still names (`unseen`), and the keys of those it no longer names (to be given back)."""
    unseen, leftovers = {}, []
    for key in record.saved:
        if key in seen:
            continue
        if configured(key, config):
            unseen[key] = scope_of(key)
        else:
            leftovers.append(key)
    return unseen, leftovers


def leftover_kinds(keys: Sequence[str], aws: Aws, config: Config) -> list[Any]:
    """Readers of the targets of `keys`, which the config no longer names: one set per kind
    (the two ECS kinds read one service together)."""
    by_kind: dict[Any, list[str]] = {}
    for key in keys:
        kind = kind_of(key)
        by_kind.setdefault(EcsService if kind is EcsServiceScaling else kind, []).append(key)
    return [
        reader for kind, these in by_kind.items() for reader in kind.leftovers(these, aws, config)
    ]


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
    """Read, decide, and if the plan touches the ECS service, read its scaling target too and
    decide again, so that a steady run stays at one read per kind. The tables' targets are
    asked for by name when that is cheaper, from `run`'s last scan, unless a pause of a table
    may begin (a new index must not be missed). The clusters' tags are asked for until `until`
    (monotonic)."""
    clusters, warnings = with_tables(clusters, record, config, aws, until)
    kinds, scaling = target_kinds(config, aws, _known(config, record, now, clusters, run))
    targets, owners = observe_targets(kinds)
    unseen, leftovers = record_targets(record, config, {t.key for t in targets})
    if leftovers:
        more, more_owners = observe_targets(leftover_kinds(leftovers, aws, config))
        targets, owners = targets + more, {**owners, **more_owners}
    gone = tuple(key for key in leftovers if key not in owners)
    observed = Observed(tuple(clusters), targets, unseen, gone)
    scans = [k.scan for k in kinds if isinstance(k, DynamoDbScaling) and k.scan is not None]
    scan = next(iter(scans), None)
    reading = Reading(observed, decide(observed, record, config, now), owners, warnings, scan)
    if scaling is None or not needs_scaling_target(reading.plan, record, scaling):
        return reading
    return with_scaling_target(reading, scaling, config, record, now)


def _known(
    config: Config,
    record: PauseRecord,
    now: datetime,
    clusters: Sequence[Cluster],
    run: RunRecord | None,
) -> Scan | None:
    """The tables' resource ids to ask for by name, from the last scan of the namespace, when
    that is cheaper and no pause of a table may begin; else None: scan it all."""
    if run is None or run.scan is None:
        return None
    idle = set(config.dynamodb_tables) - set(record.paused_scopes())
    if clusters and idle:
        return None
    readers = config.write_workers
    return run.scan if by_name_pays(run.scan, parse_iso(run.scanned_at), now, readers) else None


def with_scaling_target(
    reading: Reading,
    scaling: EcsServiceScaling,
    config: Config,
    record: PauseRecord,
    now: datetime,
) -> Reading:
    """The reading with the service's own scalable target read too, and the plan made again.
    Denied, the run goes on without it, with a warning."""
    observed, owners = reading.observed, reading.owners
    try:
        more, more_owners = observe_targets([scaling])
    except AwsError as e:
        if not e.denied:
            raise
        # Pausing the service matters more than its scaling target: go on without it.
        reading.warnings.append(
            f"{scaling.service.service}'s own scaling target was not checked: {e}; if the "
            "service has one, its scale-out alarms or scheduled actions could lift the count "
            "during the pause: allow application-autoscaling:DescribeScalableTargets and "
            "RegisterScalableTarget (docs/iam.md)"
        )
        return reading
    owners.update(more_owners)
    unseen = {k: s for k, s in observed.unseen.items() if k not in more_owners}
    observed = Observed(observed.clusters, more + observed.targets, unseen, observed.gone)
    plan = decide(observed, record, config, now)
    return Reading(observed, plan, owners, reading.warnings, reading.scan)


def needs_scaling_target(plan: Plan, record: PauseRecord, scaling: EcsServiceScaling) -> bool:
    """The service's scaling target is read when the service is about to change, or at resume
    when a record of its earlier suspension is left."""
    touched = any(c.key == scaling.service.key for c in plan.changes)
    recorded = scaling.service.saved_scaling is not None or scaling.key in record.saved
    return touched or (recorded and not plan.verdict(EVERY_TABLE).pause)
