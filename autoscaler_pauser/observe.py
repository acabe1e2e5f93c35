"""What a run reads, and the plan it makes of it: the matching EMR clusters, then every target
of the configured kinds, then, only when the plan touches the ECS service, the service's own
scalable target."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .aws import Aws, AwsError, list_matching_clusters
from .config import Config
from .decide import Plan, decide
from .model import Observed, PauseRecord, RunRecord, TargetView, parse_iso
from .targets import TargetKind
from .targets.dynamodb import DynamoDbScaling, Scan, by_name_pays
from .targets.ecs import EcsService, EcsServiceScaling


def target_kinds(
    config: Config, aws: Aws, known: Scan | None = None
) -> tuple[list[TargetKind], EcsServiceScaling | None]:
    """The kinds read on every run, and the service's scaling target, read only when needed.
    `known`: the tables' resource ids to ask for by name, or None to scan the namespace."""
    kinds: list[TargetKind] = []
    scaling = None
    if config.has_ecs:
        region = config.autoscaler_region
        service = EcsService(
            aws.client("ecs", region),
            config.autoscaler_cluster,
            config.autoscaler_service,
            config.resume_count,
        )
        kinds.append(service)
        scaling = EcsServiceScaling(aws.client("application-autoscaling", region), service)
    if config.dynamodb_tables:
        aas = aws.client("application-autoscaling", config.tables_region)
        kinds.append(DynamoDbScaling(aas, config.dynamodb_tables, known))
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


@dataclass
class Reading:
    """What a run read and decided, and which kind owns each target."""

    observed: Observed
    plan: Plan
    owners: dict[str, TargetKind]
    warnings: list[str] = field(default_factory=list)
    scan: Scan | None = None  # the tables' targets, if this run scanned the whole namespace


def observe_and_decide(
    config: Config, aws: Aws, record: PauseRecord, now: datetime, run: RunRecord | None = None
) -> Reading:
    """Read, decide, and if the plan touches the ECS service, read its scaling target too and
    decide again, so that a steady run stays at one read per kind. EMR first: if it fails,
    nothing else is asked or changed. The tables' targets are asked for by name when that is
    cheaper, from `run`'s last scan, unless a pause may begin (a new index must not be missed)."""
    clusters = list_matching_clusters(aws.emr, config.emr_prefix)
    last = run.scan if run is not None and not (clusters and not record.paused) else None
    known = last if by_name_pays(last, parse_iso(run.scanned_at) if run else None, now) else None
    kinds, scaling = target_kinds(config, aws, known)
    targets, owners = observe_targets(kinds)
    observed = Observed(clusters, targets)
    scans = [k.scan for k in kinds if isinstance(k, DynamoDbScaling) and k.scan is not None]
    reading = Reading(
        observed, decide(observed, record, config, now), owners, scan=next(iter(scans), None)
    )
    if scaling is None or not needs_scaling_target(reading.plan, record, scaling):
        return reading
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
            "RegisterScalableTarget (README, IAM permissions)"
        )
        return reading
    owners.update(more_owners)
    observed = Observed(observed.clusters, more + observed.targets)
    plan = decide(observed, record, config, now)
    return Reading(observed, plan, owners, reading.warnings, reading.scan)


def needs_scaling_target(plan: Plan, record: PauseRecord, scaling: EcsServiceScaling) -> bool:
    """The service's scaling target is read when the service is about to change, or at resume
    when a record of its earlier suspension is left."""
    touched = any(c.key == scaling.service.key for c in plan.changes)
    recorded = scaling.service.saved_scaling is not None or scaling.key in record.saved
    return touched or (recorded and not plan.verdict.pause)
