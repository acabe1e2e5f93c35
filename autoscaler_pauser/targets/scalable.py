"""Application Auto Scaling targets: reading and setting their three suspension flags."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from ..aws import aws_error
from ..decide import TargetView

log = logging.getLogger("autoscaler-pauser")

# Application Auto Scaling's three kinds of scaling, in the order of a suspension tuple.
SUSPEND_FLAGS = (
    "DynamicScalingInSuspended",
    "DynamicScalingOutSuspended",
    "ScheduledScalingSuspended",
)
SUSPENDED, SCALING = (True, True, True), (False, False, False)


def suspension(target: Mapping[str, Any]) -> tuple[bool, bool, bool]:
    flags = target.get("SuspendedState") or {}
    return tuple(bool(flags.get(name, False)) for name in SUSPEND_FLAGS)  # type: ignore[return-value]


def register_suspension(aas: Any, target: Mapping[str, Any], value: Sequence[bool]) -> None:
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


def scaling_view(key: str, label: str, target: Mapping[str, Any], saved: Any) -> TargetView:
    return TargetView(
        key, label, suspension(target), saved, SUSPENDED, SCALING, keeps_earlier_pause=True
    )


FLAG_NAMES = ("in", "out", "scheduled")


def format_flags(value: Sequence[bool]) -> str:
    return " ".join(f"{n}={str(v).lower()}" for n, v in zip(FLAG_NAMES, value, strict=True))


def parse_flags(text: str) -> tuple[bool, bool, bool] | None:
    parts = dict(p.split("=", 1) for p in text.split() if "=" in p)
    if sorted(parts) != sorted(FLAG_NAMES) or not set(parts.values()) <= {"true", "false"}:
        return None
    return tuple(parts[n] == "true" for n in FLAG_NAMES)  # type: ignore[return-value]
