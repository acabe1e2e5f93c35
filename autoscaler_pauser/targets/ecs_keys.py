"""The ECS service's values: its config keys (its cluster and its name, or its ARN, which gives
the cluster and the region too), how they are read and checked together, the count a resume
falls back on, and a desired count read back from a record or a tag."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from ..config_values import REGION_RE, text
from ..keys import Key, Kind, Required
from ..model import MAX_DESIRED_COUNT

TARGET = "an ECS service"

# ECS takes a cluster's or a service's name of 1 to 255 letters, digits, hyphens and underscores.
ECS_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$", re.ASCII)
ECS_NAME_RULE = "1 to 255 letters, digits, hyphens and underscores"
# arn:PARTITION:ecs:REGION:ACCOUNT:service/CLUSTER/SERVICE, or (before 2021) …:service/SERVICE
SERVICE_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:ecs:(?P<region>[^:]+):\d{12}:service/(?P<names>[^:]+)$", re.ASCII
)
SERVICE_ARN_EXAMPLE = "arn:aws:ecs:us-east-1:123456789012:service/CLUSTER/SERVICE"
CLUSTER_ARN_RE = re.compile(r"^arn:aws[a-z-]*:ecs:[^:]*:\d{12}:cluster/(?P<name>.+)$", re.ASCII)


@dataclass(frozen=True)
class ServiceArn:
    """The ECS service given by its ARN: its long form names the cluster, its short form (from
    before 2021) does not. The config takes it apart into its keys."""

    region: str
    cluster: str | None
    service: str


def _ecs_cluster(key: Key, value: Any, from_env: bool) -> str:
    value = text(key, value, from_env)
    arn = CLUSTER_ARN_RE.match(value)
    if arn:
        raise ValueError(f"{value!r} is a cluster's ARN: write its name, {arn['name']!r}")
    if not ECS_NAME_RE.match(value):
        raise ValueError(f"not an ECS cluster name ({ECS_NAME_RULE}), got {value!r}")
    return value


def _ecs_service(key: Key, value: Any, from_env: bool) -> str | ServiceArn:
    """A service's name, or its ARN, which gives its region and (the long form) its cluster."""
    value = text(key, value, from_env)
    if value.startswith("arn:"):
        return _service_arn(value)
    if value.count("/") == 1:
        cluster, service = value.split("/")
        raise ValueError(
            f"{value!r} names a cluster and a service: set autoscaler_cluster: {cluster} and "
            f"autoscaler_service: {service} apart, or give the service's ARN "
            f"(arn:aws:ecs:REGION:ACCOUNT:service/{cluster}/{service})"
        )
    if not ECS_NAME_RE.match(value):
        raise ValueError(f"not an ECS service name ({ECS_NAME_RULE}) or ARN, got {value!r}")
    return value


def _service_arn(value: str) -> ServiceArn:
    arn = SERVICE_ARN_RE.match(value)
    names = arn["names"].split("/") if arn else []
    if (
        not arn
        or not REGION_RE.match(arn["region"])
        or len(names) > 2
        or not all(ECS_NAME_RE.match(n) for n in names)
    ):
        raise ValueError(f"not an ECS service ARN like {SERVICE_ARN_EXAMPLE}, got {value!r}")
    cluster = names[0] if len(names) == 2 else None
    return ServiceArn(arn["region"], cluster, names[-1])


KEYS: tuple[Key, ...] = (
    Key(
        "autoscaler_cluster",
        Kind.STR,
        None,
        "ECS cluster of the autoscaler service",
        required=Required.WITH_TARGET,
        example="autoscaler",
        target=TARGET,
        convert=_ecs_cluster,
        type_label="ECS cluster name",
    ),
    Key(
        "autoscaler_service",
        Kind.STR,
        None,
        "ECS service name of the autoscaler, or its ARN (which gives the cluster and the region "
        "too); if it is itself an Application Auto Scaling target, that target is suspended too "
        "while paused",
        required=Required.WITH_TARGET,
        example="ddb-scaler",
        target=TARGET,
        convert=_ecs_service,
        type_label="ECS service name or ARN",
    ),
    Key(
        "resume_count",
        Kind.INT,
        1,
        "desired count on resume when no earlier count is known",
        minimum=1,
        maximum=MAX_DESIRED_COUNT,
        target=TARGET,
    ),
)

# The keys that name the service, as a group: the region is the autoscaler's.
NAMING: tuple[str, ...] = ("autoscaler_cluster", "autoscaler_region", "autoscaler_service")


def given(values: Mapping[str, Any], given: Collection[str]) -> bool:
    """The config names a service: its cluster or its name is set (autoscaler_region alone is
    no service: it may only give other kinds their region)."""
    return bool({"autoscaler_cluster", "autoscaler_service"} & set(given))


def check(values: dict[str, Any], given: set[str], complete: bool) -> list[str]:
    """The service's ARN taken apart into its keys; the keys that name it come as a group."""
    problems = _service_from_arn(values, given, complete)
    named = [k for k in ("autoscaler_cluster", "autoscaler_service") if k in given]
    if complete and named:
        problems += [
            f"{k}: required with {named[0]} (set it in the config file or {k.upper()})"
            for k in NAMING
            if k not in given
        ]
    return problems


def _service_from_arn(values: dict[str, Any], given: set[str], complete: bool) -> list[str]:
    """autoscaler_service given as its ARN: the service's name, and the cluster and the region
    the ARN names, which a cluster or a region given too must agree with."""
    arn = values.get("autoscaler_service")
    if not isinstance(arn, ServiceArn):
        return []
    values["autoscaler_service"] = arn.service
    problems = []
    parts = (
        ("autoscaler_cluster", "cluster", arn.cluster),
        ("autoscaler_region", "region", arn.region),
    )
    for key, what, part in parts:
        if part is None:
            continue
        if key in given and values.get(key, part) != part:
            problems.append(
                f"{key}: {values[key]!r}, but autoscaler_service's ARN names the {what} "
                f"{part!r}: leave {key} out, or make the two agree"
            )
        values[key] = part
        given.add(key)
    if complete and "autoscaler_cluster" not in given:
        problems.append(
            "autoscaler_cluster: required with autoscaler_service (set it in the config file or "
            "AUTOSCALER_CLUSTER): a service's short ARN does not name its cluster"
        )
        given.add("autoscaler_cluster")  # reported here, not again with the other keys
    return problems


def desired_count(value: Any) -> int | None:
    """A desired count read back: a whole number ECS takes, above 0 (0 is paused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 < value <= MAX_DESIRED_COUNT else None


NOT_A_COUNT = (
    f"not a desired count from 1 to {MAX_DESIRED_COUNT}; the pause record's count, or else "
    "resume_count, is used"
)


def count_from_tag(text: str) -> int | None:
    """A desired count from a tag, or None: ASCII digits only (str.isdigit takes '³'), and no
    more than ECS takes."""
    if not re.fullmatch(r"[0-9]{1,10}", text):
        return None
    return desired_count(int(text))
