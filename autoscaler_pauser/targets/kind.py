"""What every kind of target is: a reader and writer of its targets (TargetKind), and the
facts it alone knows of its keys: their format, the region their targets are in and the call
that restores one (RestoreCall)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..config import Config
from ..model import Change, Setting, TargetView


class TargetKind(Protocol):
    """One kind of autoscaler: read every target of this kind in one call, then change each.
    `parallel`: its changes may be made by several workers at once, after those of the kinds
    that go first. The class also answers for its keys: `PREFIX` starts each of them."""

    PREFIX: str
    parallel: bool

    def observe(self) -> list[TargetView]: ...

    def apply(self, change: Change) -> None: ...

    @staticmethod
    def region(config: Config) -> str:
        """The region the targets of this kind are in."""
        ...

    @staticmethod
    def restore_call(key: str, setting: Setting) -> RestoreCall:
        """The call that sets the target of `key` back to `setting`."""
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
