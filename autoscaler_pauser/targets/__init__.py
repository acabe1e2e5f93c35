"""The things a run can pause, one module per kind, each behind the same small interface
(kind.py). This registry is the one list of kinds: the rest of the package loops over it, and
finds here the kind a target's key belongs to. Adding a kind is one new module and one line in
KINDS."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..keys import LEADING, TRAILING, Key
from ..model import Scope, Setting
from .autoscaling import AutoScalingGroups
from .dynamodb import DynamoDbScaling
from .ecs import EcsService, EcsServiceScaling
from .eventbridge import EventBridgeRules
from .kind import Context, RestoreCall, TargetKind, UnknownTarget

if TYPE_CHECKING:
    from ..aws import Aws
    from ..config import Config

KINDS: tuple[type[TargetKind], ...] = (
    EcsService,
    EcsServiceScaling,
    DynamoDbScaling,
    EventBridgeRules,
    AutoScalingGroups,
)

# The table of config keys: the common ones, with each kind's own among them.
KEYS: tuple[Key, ...] = (*LEADING, *(key for kind in KINDS for key in kind.KEYS), *TRAILING)


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


def paused_setting(key: str) -> Setting:
    """The setting that pauses the target of `key`."""
    return kind_of(key).paused(key)


def configured(key: str, config: Config) -> bool:
    """Whether the config names the target of a key."""
    return kind_of(key).configured(key, config)


def label_of(key: str) -> str:
    """The name of the kind of the target of `key`, as `status` and the metrics give it."""
    return kind_of(key).LABEL


def kind_of_scope(scope: Scope, config: Config) -> type[TargetKind] | None:
    """The kind whose targets of the config a scope (a table) holds, if the config names it."""
    for kind in configured_kinds(config):
        if scope in kind.scopes(config):
            return kind
    return None


def configured_kinds(config: Config) -> tuple[type[TargetKind], ...]:
    return tuple(kind for kind in KINDS if kind.configured_in(config))


def readers(config: Config, aws: Aws, context: Context) -> list[TargetKind]:
    """The readers of every kind the config names, for one run."""
    return [
        reader for kind in configured_kinds(config) for reader in kind.build(config, aws, context)
    ]


def named_targets(config: Config) -> tuple[str, ...]:
    """What the config names, kind by kind (see TargetKind.named)."""
    return tuple(name for kind in KINDS for name in kind.named(config))
