"""Hosts running the tool in process: main() against moto with one clock for them all, each with a
state file of its own, sharing state_table when they are given one; and a run killed between its
writes."""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path

from botocore.client import BaseClient

from autoscaler_pauser.cli import main

from .clock import Clock
from .state import read as read_state
from .tool import base_env
from .world import REGION, add_table

# The environment of a pauser of tables only: base_env's ECS keys unset.
TABLES_ONLY = {
    "AUTOSCALER_CLUSTER": None,
    "AUTOSCALER_SERVICE": None,
    "AUTOSCALER_REGION": None,
    "DYNAMODB_REGION": REGION,
}


class Host:
    """The tool on one host: its environment, run through main() with the test's clock."""

    def __init__(self, world, folder: Path, clock: Clock, **env: str | None):
        """`env`: changes to the original tool's environment (None: unset)."""
        self.world, self.folder, self.clock = world, folder, clock
        self.env = {k: v for k, v in base_env(folder, **env).items() if v is not None}

    def run(self, *args: str, **env: str | None) -> int:
        """One run; `env` changes the environment of this run only (None: unset)."""
        environ = {k: v for k, v in {**self.env, **env}.items() if v is not None}
        return main(list(args), environ=environ, aws_factory=self.world.clients, now=self.clock)

    def set(self, **env: str | None) -> None:
        """The host's config changes, for every run from now on (None: unset)."""
        for name, value in env.items():
            if value is None:
                self.env.pop(name, None)
            else:
                self.env[name] = value

    @property
    def state(self) -> dict:
        return read_state(self.folder / "state" / "state.json")


class Killed(BaseException):
    """The process died here: nothing after it runs, no handler sees it."""


def kill_at(
    monkeypatch,
    operations: str | Collection[str],
    nth: int = 1,
    after: bool = False,
    when: Callable[[dict], bool] | None = None,
) -> list[str]:
    """Kill the run at its `nth` AWS call of `operations` (one, or any of several) for which
    `when(params)` holds: before the call (it is not made) or, with `after`, once AWS has made
    it (its answer is lost). The calls counted, as a list that the test may read."""
    names = {operations} if isinstance(operations, str) else set(operations)
    real = BaseClient._make_api_call
    seen: list[str] = []

    def call(client, name, params):
        if name not in names or (when is not None and not when(params)):
            return real(client, name, params)
        seen.append(name)
        if len(seen) != nth:
            return real(client, name, params)
        if after:
            real(client, name, params)
        raise Killed(f"{name}, the {nth}. of its writes{' (made)' if after else ''}")

    monkeypatch.setattr(BaseClient, "_make_api_call", call)
    return seen


def crowd(world, tables: int = 26) -> None:
    """Other teams' tables, two targets each, so that asking for the listed tables by name
    takes fewer calls than reading the whole namespace."""
    for i in range(tables):
        add_table(world, f"other-{i:02d}")
