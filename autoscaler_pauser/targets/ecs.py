"""The custom autoscaler as an ECS service, and the service's own scalable target.

Both keep their pre-pause setting on the service itself, as a tag, so that a lost state file, a
replaced host or a second host still resumes to it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from ..aws import AwsError, aws_error
from ..config import Config
from ..model import MAX_DESIRED_COUNT, Change, Setting, Suspension, TargetView
from .kind import RestoreCall
from .scalable import (
    format_flags,
    parse_flags,
    register_suspension,
    restore_suspension,
    scaling_view,
)

log = logging.getLogger("autoscaler-pauser")

SAVED_COUNT_TAG = "autoscaler-pauser:saved-desired-count"
SAVED_SCALING_TAG = "autoscaler-pauser:saved-scaling"

T = TypeVar("T")


class EcsService:
    """The custom autoscaler as an ECS service: paused at desired count 0. Its key is
    `ecs-service:CLUSTER/SERVICE`."""

    PREFIX = "ecs-service:"
    parallel = False  # the autoscaler itself: stopped first, before its tables

    def __init__(self, ecs: Any, cluster: str, service: str, resume_count: int):
        self.ecs, self.cluster, self.service = ecs, cluster, service
        self.resume_count = resume_count
        self.key = self.key_of(cluster, service)
        self.arn: str | None = None
        self.saved_scaling: Suspension | None = None  # the tag its scaling target's record is in
        self.unreadable_scaling_tag = False

    @classmethod
    def key_of(cls, cluster: str, service: str) -> str:
        return f"{cls.PREFIX}{cluster}/{service}"

    @classmethod
    def configured_key(cls, config: Config) -> str | None:
        """The key of the config's service, if it has one."""
        if config.autoscaler_cluster is None or config.autoscaler_service is None:
            return None
        return cls.key_of(config.autoscaler_cluster, config.autoscaler_service)

    @staticmethod
    def region(config: Config) -> str:
        return config.autoscaler_region or ""

    @classmethod
    def restore_call(cls, key: str, setting: Setting) -> RestoreCall:
        cluster, service = key.removeprefix(cls.PREFIX).split("/", 1)
        if isinstance(setting, Suspension):
            raise ValueError(f"{key}: a service's setting is its desired count, not {setting!r}")
        request = {"Cluster": cluster, "Service": service, "DesiredCount": setting}
        return RestoreCall("ecs", "updateService", request)

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
        self.saved_scaling = self._tag(tags, SAVED_SCALING_TAG, parse_flags, "not understood")
        self.unreadable_scaling_tag = self.saved_scaling is None and SAVED_SCALING_TAG in tags
        saved = self._tag(tags, SAVED_COUNT_TAG, _count, NOT_A_COUNT)
        view = TargetView(
            self.key,
            self.service,
            svc["desiredCount"],
            saved,
            0,
            self.resume_count,
            saves_on_aws=True,
            default_name="resume_count",
            unreadable_record=saved is None and SAVED_COUNT_TAG in tags,
        )
        return [view]

    def _tag(
        self, tags: Mapping[str, str], key: str, parse: Callable[[str], T | None], bad: str
    ) -> T | None:
        """A saved setting from the service's tags, or None; a tag that cannot be understood is
        warned of and left out."""
        if key not in tags:
            return None
        value = parse(tags[key])
        if value is None:
            log.warning("ignored tag %s=%r on %s: %s", key, tags[key], self.service, bad)
        return value

    def apply(self, change: Change) -> None:
        def update() -> None:
            try:
                self.ecs.update_service(
                    cluster=self.cluster, service=self.service, desiredCount=change.after
                )
            except Exception as e:
                raise aws_error("UpdateService", e) from e

        count = None if change.save is None else str(change.save)
        kept = f"the pre-pause count {change.save} is kept in the state file only"
        self.save_write_forget(change, SAVED_COUNT_TAG, count, update, kept)

    def save_write_forget(
        self,
        change: Change,
        tag: str,
        value: str | None,
        write: Callable[[], None],
        kept: str,
    ) -> None:
        """Record the pre-pause setting (`value`) in the service's tag `tag`, make the change,
        then remove the tag if the change says so. A failed record does not stop a pause: the
        change is made all the same and the error says where the setting is still kept."""
        tag_error = None
        if value is not None:
            try:
                self._tag_resource(tag, value)
            except AwsError as e:
                tag_error = e
        if change.after is not None:
            write()
        if tag_error is not None:
            raise AwsError(f"{tag_error} ({kept})", changed=True)
        if change.forget:
            try:
                self._untag_resource(tag)
            except AwsError as e:
                raise AwsError(str(e), changed=change.after is not None) from e

    def _tag_resource(self, key: str, value: str) -> None:
        try:
            self.ecs.tag_resource(resourceArn=self.arn, tags=[{"key": key, "value": value}])
        except Exception as e:
            raise aws_error("TagResource", e) from e

    def _untag_resource(self, key: str) -> None:
        try:
            self.ecs.untag_resource(resourceArn=self.arn, tagKeys=[key])
        except Exception as e:
            raise aws_error("UntagResource", e) from e


NOT_A_COUNT = (
    f"not a desired count from 1 to {MAX_DESIRED_COUNT}; the state file's count, or else "
    "resume_count, is used"
)


def _count(text: str) -> int | None:
    """A desired count from a tag, or None: ASCII digits only (str.isdigit takes '³'), and no
    more than ECS takes."""
    if not re.fullmatch(r"[0-9]{1,10}", text):
        return None
    return int(text) if 0 < int(text) <= MAX_DESIRED_COUNT else None


class EcsServiceScaling:
    """The ECS service's own Application Auto Scaling target, if it has one: suspended with the
    service, or a scale-out alarm or scheduled action would lift desiredCount=0 again.

    A run reads it only when the service is about to change (or a record of it is left over at
    resume), so a steady run makes no extra call. Its pre-pause suspension is kept as a tag on
    the service and in the state file.
    """

    PREFIX = "aas:ecs:"  # then the scalable target's resource id: service/CLUSTER/SERVICE
    DIMENSION = "ecs:service:DesiredCount"
    parallel = False

    def __init__(self, aas: Any, service: EcsService):
        self.aas, self.service = aas, service
        self.key = f"{self.PREFIX}service/{service.cluster}/{service.service}"
        self.target: Mapping[str, Any] = {}

    region = EcsService.region

    @classmethod
    def restore_call(cls, key: str, setting: Setting) -> RestoreCall:
        return restore_suspension(key, "ecs", key.removeprefix(cls.PREFIX), cls.DIMENSION, setting)

    def observe(self) -> list[TargetView]:
        resource = f"service/{self.service.cluster}/{self.service.service}"
        try:
            resp = self.aas.describe_scalable_targets(
                ServiceNamespace="ecs",
                ResourceIds=[resource],
                ScalableDimension=self.DIMENSION,
            )
        except Exception as e:
            raise aws_error("DescribeScalableTargets", e) from e
        targets = resp.get("ScalableTargets", [])
        if not targets:
            return []
        self.target = targets[0]
        label = f"{self.service.service}'s scaling target"
        view = scaling_view(self.key, label, self.target, self.service.saved_scaling, on_aws=True)
        return [replace(view, unreadable_record=self.service.unreadable_scaling_tag)]

    def apply(self, change: Change) -> None:
        def register() -> None:
            register_suspension(self.aas, self.target, change.after)  # type: ignore[arg-type]

        flags = None if change.save is None else format_flags(change.save)  # type: ignore[arg-type]
        kept = "the earlier suspension is kept in the state file only"
        self.service.save_write_forget(change, SAVED_SCALING_TAG, flags, register, kept)
