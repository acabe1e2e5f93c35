"""The things a run can pause, one module per kind, each behind the same small interface."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..model import Change, Setting, Suspension, TargetView
from .scalable import SUSPEND_FLAGS


class TargetKind(Protocol):
    """One kind of autoscaler: read every target of this kind in one call, then change each.
    `parallel`: its changes may be made by several workers at once, after those of the kinds
    that go first."""

    parallel: bool

    def observe(self) -> list[TargetView]: ...

    def apply(self, change: Change) -> None: ...


@dataclass(frozen=True)
class RestoreCall:
    """The AWS call that sets a target back to a setting, as an EventBridge Scheduler universal
    target makes it: the service and action as the AWS SDKs name them, and the request."""

    service: str
    action: str
    input: Mapping[str, Any]
    where: str  # whose region the target is in: "ecs" (the autoscaler's) or "tables"


def where(key: str) -> str:
    """Whose region the target of a key is in: "tables", or "ecs" (the autoscaler's)."""
    return "tables" if key.startswith("aas:dynamodb:") else "ecs"


def restore_call(key: str, setting: Setting) -> RestoreCall:
    """The call that restores the target of a key (as the kinds make their keys) to a setting."""
    if key.startswith("ecs-service:"):
        cluster, service = key.removeprefix("ecs-service:").split("/", 1)
        request = {"Cluster": cluster, "Service": service, "DesiredCount": setting}
        return RestoreCall("ecs", "updateService", request, where(key))
    if not isinstance(setting, Suspension):
        raise ValueError(f"{key}: a scalable target's setting is its suspension, not {setting!r}")
    flags = dict(zip(SUSPEND_FLAGS, setting, strict=True))
    if key.startswith("aas:ecs:"):
        resource, dimension = key.removeprefix("aas:ecs:"), "ecs:service:DesiredCount"
        namespace = "ecs"
    elif key.startswith("aas:dynamodb:"):
        resource, _, rest = key.removeprefix("aas:dynamodb:").partition(":dynamodb:")
        dimension, namespace = "dynamodb:" + rest, "dynamodb"
    else:
        raise ValueError(f"{key}: no target of this kind")
    request = {
        "ServiceNamespace": namespace,
        "ResourceId": resource,
        "ScalableDimension": dimension,
        "SuspendedState": flags,
    }
    return RestoreCall("applicationautoscaling", "registerScalableTarget", request, where(key))
