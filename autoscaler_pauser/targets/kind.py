"""What every kind of target is: a reader and writer of its targets (TargetKind), and the
facts it alone knows of its keys: their format, the region and the scope of their targets, what
a setting of theirs read back must look like, and the call that restores one (RestoreCall)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..config import Config
from ..model import Change, Scope, Setting, TargetView


class TargetKind(Protocol):
    """One kind of autoscaler: read every target of this kind in one call, then change each.
    `parallel`: its changes may be made by several workers at once, after those of the kinds
    that go first. The class also answers for its keys: `PREFIX` starts each of them."""

    PREFIX: str
    parallel: bool

    def observe(self) -> list[TargetView]: ...

    def apply(self, change: Change) -> None: ...

    @classmethod
    def region(cls, key: str) -> str:
        """The region the target of `key` is in."""
        ...

    @classmethod
    def scope(cls, key: str) -> Scope:
        """What a cluster must hold for the target of `key` to be paused."""
        ...

    @classmethod
    def setting(cls, value: Any) -> Setting | None:
        """A setting of this kind read back from a record (JSON), checked; None if it is not
        one this kind can be set to."""
        ...

    @classmethod
    def configured(cls, key: str, config: Config) -> bool:
        """Whether the config names the target of `key`."""
        ...

    @classmethod
    def restore_call(cls, key: str, setting: Setting) -> RestoreCall:
        """The call that sets the target of `key` back to `setting`."""
        ...

    @classmethod
    def leftovers(cls, keys: Collection[str], aws: Any, config: Config) -> list[Any]:
        """Readers of the targets of `keys`, which the config no longer names (not managed)."""
        ...


@dataclass(frozen=True)
class RestoreCall:
    """The AWS call that sets a target back to a setting, as an EventBridge Scheduler universal
    target makes it: the service and action as the AWS SDKs name them, and the request."""

    service: str
    action: str
    input: Mapping[str, Any]


class UnknownTarget(ValueError):
    """A key that no kind of target makes."""
