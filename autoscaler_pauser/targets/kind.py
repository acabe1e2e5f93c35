"""What every kind of target is: a reader and writer of its targets (TargetKind), and the
facts it alone knows: its config keys and how they are checked, how it is built from the config,
the scopes of its targets, the format of its keys, the region and the scope of their targets,
what a setting of theirs read back must look like, its paused setting, and the call that
restores one (RestoreCall)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ..keys import Key
from ..model import Change, Cluster, PauseRecord, RunRecord, Scope, Setting, TargetView

if TYPE_CHECKING:
    from ..aws import Aws
    from ..config import Config
    from ..decide import Plan


@dataclass(frozen=True)
class Context:
    """What a kind may need, besides the config and the clients, to build its readers for a
    run: the pause record, this host's last run record, the run's time and clusters."""

    record: PauseRecord
    run: RunRecord | None
    now: datetime
    clusters: tuple[Cluster, ...]


class TargetKind(Protocol):
    """One kind of autoscaler: read every target of this kind in one call, then change each.
    `parallel`: its changes may be made by several workers at once, after those of the kinds
    that go first. `lazy`: read only when `needed` says so, after a first plan without it.

    The class answers for its keys and its config: `PREFIX` starts each of its keys; `LABEL`
    names the kind in `status` and the metrics; `KEYS` are its config keys, which join the
    common ones in the table (targets.KEYS), the first naming its targets; `NEEDS` the keys a
    config that names them must set. A reader that reads the targets the pause record holds
    by their keys says, after `observe`, which of them AWS no longer has (`gone`)."""

    PREFIX: str
    LABEL: str
    KEYS: tuple[Key, ...]
    NEEDS: tuple[str, ...]
    parallel: bool
    lazy: bool

    def observe(self) -> list[TargetView]: ...

    def apply(self, change: Change) -> None: ...

    def needed(self, plan: Plan, record: PauseRecord) -> bool:
        """A lazy reader: whether the plan made without it needs it read."""
        ...

    # --- the config --------------------------------------------------------------------------

    @classmethod
    def given(cls, values: Mapping[str, Any], given: Collection[str]) -> bool:
        """Whether a config's values (converted, by key; `given`: the keys set at all) name a
        target of this kind."""
        ...

    @classmethod
    def check(cls, values: dict[str, Any], given: set[str], complete: bool) -> list[str]:
        """The problems of its keys together (each naming its key), once each is converted; it
        may complete `values` (a service's ARN gives its cluster and region)."""
        ...

    @classmethod
    def configured_in(cls, config: Config) -> bool:
        """Whether the config names a target of this kind."""
        ...

    @classmethod
    def scopes(cls, config: Config) -> tuple[Scope, ...]:
        """The scopes of the targets the config names."""
        ...

    @classmethod
    def home_region(cls, config: Config) -> str | None:
        """The region of the targets the config names, if it has any."""
        ...

    @classmethod
    def default_name(cls, config: Config) -> str | None:
        """The pauser's name when the config gives none, made from its targets, or None."""
        ...

    @classmethod
    def build(cls, config: Config, aws: Aws, context: Context) -> list[TargetKind]:
        """Its readers for a run of the config; none when the config names no target of it."""
        ...

    # --- its keys ----------------------------------------------------------------------------

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
    def paused(cls, key: str) -> Setting:
        """The setting that pauses the target of `key`."""
        ...

    @classmethod
    def configured(cls, key: str, config: Config) -> bool:
        """Whether the config names the target of `key`."""
        ...

    @classmethod
    def named(cls, config: Config) -> tuple[str, ...]:
        """What the config names of this kind, each as the key of a target it would have (a
        table's own, not its indexes'): to tell one pauser's config from another's."""
        ...

    @classmethod
    def restore_call(cls, key: str, setting: Setting) -> RestoreCall:
        """The call that sets the target of `key` back to `setting`."""
        ...

    @classmethod
    def leftovers(cls, keys: Collection[str], aws: Aws, config: Config) -> list[Any]:
        """Readers of the targets of `keys`, which the config no longer names (not managed)."""
        ...


class Eager:
    """What most readers are: read on every run, never lazily."""

    lazy = False

    def needed(self, plan: Plan, record: PauseRecord) -> bool:
        return True


@dataclass(frozen=True)
class RestoreCall:
    """The AWS call that sets a target back to a setting, as an EventBridge Scheduler universal
    target makes it: the service and action as the AWS SDKs name them, and the request."""

    service: str
    action: str
    input: Mapping[str, Any]


class UnknownTarget(ValueError):
    """A key that no kind of target makes."""
