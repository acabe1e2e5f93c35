"""Application Auto Scaling targets: reading and setting their three suspension flags."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..aws import aws_error
from ..model import FLAG_WORDS, SCALING, SUSPENDED, Setting, Suspension, TargetView
from .kind import RestoreCall

# Application Auto Scaling's names of the three kinds of scaling, in a Suspension's order.
SUSPEND_FLAGS = (
    "DynamicScalingInSuspended",
    "DynamicScalingOutSuspended",
    "ScheduledScalingSuspended",
)


def suspension(target: Mapping[str, Any]) -> Suspension:
    flags = target.get("SuspendedState") or {}
    return Suspension(*(bool(flags.get(name, False)) for name in SUSPEND_FLAGS))


def register_suspension(aas: Any, target: Mapping[str, Any], value: Suspension) -> None:
    """Set only SuspendedState; MinCapacity and MaxCapacity are never passed, so never changed."""
    try:
        aas.register_scalable_target(
            ServiceNamespace=target["ServiceNamespace"],
            ResourceId=target["ResourceId"],
            ScalableDimension=target["ScalableDimension"],
            SuspendedState=dict(zip(SUSPEND_FLAGS, value, strict=True)),
        )
    except Exception as e:
        raise aws_error("RegisterScalableTarget", e) from e


def scaling_view(
    key: str, label: str, target: Mapping[str, Any], saved: Suspension | None, on_aws: bool
) -> TargetView:
    """A scalable target as observed; `on_aws`: its pre-pause suspension is kept on AWS too."""
    return TargetView(
        key,
        label,
        suspension(target),
        saved,
        SUSPENDED,
        SCALING,
        keeps_earlier_pause=True,
        saves_on_aws=on_aws,
        default_name="all scaling on",
        created=creation_time(target),
    )


def creation_time(target: Mapping[str, Any]) -> float | None:
    """When AWS made the target, in Unix seconds to the millisecond, as its answer says."""
    made = target.get("CreationTime")
    if isinstance(made, datetime):
        return round(made.timestamp(), 3)
    if isinstance(made, (int, float)) and not isinstance(made, bool):
        return round(float(made), 3)
    return None


def format_flags(value: Suspension) -> str:
    return " ".join(f"{n}={str(v).lower()}" for n, v in zip(FLAG_WORDS, value, strict=True))


def parse_flags(text: str) -> Suspension | None:
    parts = dict(p.split("=", 1) for p in text.split() if "=" in p)
    if sorted(parts) != sorted(FLAG_WORDS) or not set(parts.values()) <= {"true", "false"}:
        return None
    return Suspension(*(parts[n] == "true" for n in FLAG_WORDS))


def restore_suspension(
    key: str, namespace: str, resource: str, dimension: str, setting: Setting
) -> RestoreCall:
    """The call that gives a scalable target its three suspension flags back."""
    if not isinstance(setting, Suspension):
        raise ValueError(f"{key}: a scalable target's setting is its suspension, not {setting!r}")
    request = {
        "ServiceNamespace": namespace,
        "ResourceId": resource,
        "ScalableDimension": dimension,
        "SuspendedState": dict(zip(SUSPEND_FLAGS, setting, strict=True)),
    }
    return RestoreCall("applicationautoscaling", "registerScalableTarget", request)


def suspension_from_json(value: Any) -> Suspension | None:
    """Three suspension flags read back, as the pause record writes them; None if not that."""
    if isinstance(value, list) and len(value) == 3 and all(isinstance(b, bool) for b in value):
        return Suspension(*value)
    return None
