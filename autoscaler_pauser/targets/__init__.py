"""The things a run can pause, one module per kind, each behind the same small interface."""

from __future__ import annotations

from typing import Protocol

from ..model import Change, TargetView


class TargetKind(Protocol):
    """One kind of autoscaler: read every target of this kind in one call, then change each.
    `parallel`: its changes may be made by several workers at once, after those of the kinds
    that go first."""

    parallel: bool

    def observe(self) -> list[TargetView]: ...

    def apply(self, change: Change) -> None: ...
