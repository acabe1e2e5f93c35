"""The custom autoscaler as an ECS service, and the service's own scalable target."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ..aws import AwsError, aws_error
from ..decide import Change, Plan, TargetView
from ..state import State, ecs_key
from .scalable import format_flags, parse_flags, register_suspension, scaling_view

log = logging.getLogger("autoscaler-pauser")

SAVED_COUNT_TAG = "autoscaler-pauser:saved-desired-count"
SAVED_SCALING_TAG = "autoscaler-pauser:saved-scaling"


class EcsService:
    """The custom autoscaler as an ECS service: paused at desired count 0.

    The pre-pause count is also kept on the service as a tag, so that a lost state file, a
    replaced host or a second host still resumes to it.
    """

    def __init__(self, ecs: Any, cluster: str, service: str, resume_count: int):
        self.ecs, self.cluster, self.service = ecs, cluster, service
        self.resume_count = resume_count
        self.key = ecs_key(cluster, service)
        self.arn: str | None = None
        self.saved_scaling: tuple[bool, bool, bool] | None = None

    def observe(self) -> list[TargetView]:
        try:
            resp = self.ecs.describe_services(
                cluster=self.cluster, services=[self.service], include=["TAGS"]
            )
        except Exception as e:
            raise aws_error("DescribeServices", e) from e
        services = resp.get("services", [])
        if not services:
            reason = (resp.get("failures") or [{}])[0].get("reason", "MISSING")
            raise AwsError(
                f"ECS service {self.service!r} not found in cluster {self.cluster!r} ({reason})"
            )
        svc = services[0]
        if svc.get("status") != "ACTIVE":
            raise AwsError(
                f"ECS service {self.service!r} in cluster {self.cluster!r} is "
                f"{svc.get('status')}, not ACTIVE"
            )
        self.arn = svc["serviceArn"]
        tags = {t.get("key"): t.get("value") for t in svc.get("tags") or []}
        saved = None
        if SAVED_COUNT_TAG in tags:
            raw = tags[SAVED_COUNT_TAG]
            if raw.isdigit() and int(raw) > 0:
                saved = int(raw)
            else:
                log.warning(
                    "ignored tag %s=%r on %s: not a count above 0",
                    SAVED_COUNT_TAG,
                    raw,
                    self.service,
                )
        if SAVED_SCALING_TAG in tags:
            self.saved_scaling = parse_flags(tags[SAVED_SCALING_TAG])
            if self.saved_scaling is None:
                log.warning(
                    "ignored tag %s=%r on %s: not understood",
                    SAVED_SCALING_TAG,
                    tags[SAVED_SCALING_TAG],
                    self.service,
                )
        return [
            TargetView(self.key, self.service, svc["desiredCount"], saved, 0, self.resume_count)
        ]

    def tag(self, key: str, value: str) -> None:
        try:
            self.ecs.tag_resource(resourceArn=self.arn, tags=[{"key": key, "value": value}])
        except Exception as e:
            raise aws_error("TagResource", e) from e

    def untag(self, key: str) -> None:
        try:
            self.ecs.untag_resource(resourceArn=self.arn, tagKeys=[key])
        except Exception as e:
            raise aws_error("UntagResource", e) from e

    def apply(self, change: Change) -> None:
        tag_error = None
        if change.save is not None:
            try:
                self.tag(SAVED_COUNT_TAG, str(change.save))
            except AwsError as e:
                tag_error = e  # pause all the same, to protect the backup
        if change.after is not None:
            try:
                self.ecs.update_service(
                    cluster=self.cluster, service=self.service, desiredCount=change.after
                )
            except Exception as e:
                raise aws_error("UpdateService", e) from e
        if tag_error is not None:
            raise AwsError(
                f"{tag_error} (the pre-pause count {change.save} is kept in the state file only)",
                changed=True,
            )
        if change.forget:
            try:
                self.untag(SAVED_COUNT_TAG)
            except AwsError as e:
                raise AwsError(str(e), changed=change.after is not None) from e


class EcsServiceScaling:
    """The ECS service's own Application Auto Scaling target, if it has one: suspended with the
    service, or a scale-out alarm or scheduled action would lift desiredCount=0 again.

    Looked at only when the service is about to change (or a record of it is left over at
    resume), so a steady run makes no extra call. Its pre-pause suspension is kept as a tag on
    the service and in the state file.
    """

    def __init__(self, aas: Any, service: EcsService):
        self.aas, self.service = aas, service
        self.key = f"aas:ecs:service/{service.cluster}/{service.service}"
        self.target: Mapping[str, Any] = {}

    def needed(self, plan: Plan, state: State) -> bool:
        touched = any(c.key == self.service.key for c in plan.changes)
        recorded = self.service.saved_scaling is not None or self.key in state.saved
        return touched or (recorded and not plan.pause)

    def observe(self) -> list[TargetView]:
        resource = f"service/{self.service.cluster}/{self.service.service}"
        try:
            resp = self.aas.describe_scalable_targets(
                ServiceNamespace="ecs",
                ResourceIds=[resource],
                ScalableDimension="ecs:service:DesiredCount",
            )
        except Exception as e:
            raise aws_error("DescribeScalableTargets", e) from e
        targets = resp.get("ScalableTargets", [])
        if not targets:
            return []
        self.target = targets[0]
        label = f"{self.service.service}'s scaling target"
        return [scaling_view(self.key, label, self.target, self.service.saved_scaling)]

    def apply(self, change: Change) -> None:
        tag_error = None
        if change.save is not None:
            try:
                self.service.tag(SAVED_SCALING_TAG, format_flags(change.save))
            except AwsError as e:
                tag_error = e  # suspend all the same; the state file keeps the record
        if change.after is not None:
            register_suspension(self.aas, self.target, change.after)
        if tag_error is not None:
            raise AwsError(
                f"{tag_error} (the earlier suspension is kept in the state file only)",
                changed=True,
            )
        if change.forget:
            try:
                self.service.untag(SAVED_SCALING_TAG)
            except AwsError as e:
                raise AwsError(str(e), changed=change.after is not None) from e
