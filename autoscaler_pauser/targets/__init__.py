"""The things a run can pause, one module per kind, each behind the same small interface
(kind.py); this registry finds the kind a target's key belongs to. Adding a kind is one new
module and one line in KINDS."""

from __future__ import annotations

from typing import Any

from ..config import Config
from ..model import Scope, Setting
from .dynamodb import DynamoDbScaling
from .ecs import EcsService, EcsServiceScaling
from .kind import RestoreCall, TargetKind, UnknownTarget

KINDS: tuple[type[TargetKind], ...] = (EcsService, EcsServiceScaling, DynamoDbScaling)


def kind_of(key: str) -> type[TargetKind]:
    """The kind whose keys start like `key`; UnknownTarget if none does."""
    for kind in KINDS:
        if key.startswith(kind.PREFIX):
            return kind
    raise UnknownTarget(f"{key!r} is the key of no kind of target")


def restore_call(key: str, setting: Setting) -> RestoreCall:
    """The call that restores the target of a key to a setting."""
    return kind_of(key).restore_call(key, setting)


def region_of(key: str) -> str:
    """The region the target of a key is in."""
    return kind_of(key).region(key)


def scope_of(key: str) -> Scope:
    """What a cluster must hold for the target of a key to be paused."""
    return kind_of(key).scope(key)


def setting_of(key: str, value: Any) -> Setting | None:
    """A setting of the target of `key`, read back from a record; None if it is not one."""
    return kind_of(key).setting(value)


def configured(key: str, config: Config) -> bool:
    """Whether the config names the target of a key."""
    return kind_of(key).configured(key, config)
