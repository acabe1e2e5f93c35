"""One table, one pauser: pausers that share state_table see each other's pauses, and a run that
would pause a table another pauser's pause holds stops with exit 2 before any write, naming the
table and the other pauser. main() against moto in process, one clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.clock import T0, Clock
from tests.support.hosts import TABLES_ONLY, Host
from tests.support.world import SCALING, SUSPENDED, WRITE, add_table, register, targets

TABLE = "autoscaler-pauser"
WRITES = {"RegisterScalableTarget", "CreateSchedule", "PutItem", "TransactWriteItems"}
OUT = {**SCALING, "DynamicScalingOutSuspended": True}


@pytest.fixture
def clock():
    return Clock()


def pauser(world, tmp_path, clock, name: str, prefix: str, tables: str) -> Host:
    return Host(
        world,
        tmp_path / name,
        clock,
        STATE_TABLE=TABLE,
        PAUSER_NAME=name,
        EMR_PREFIX=prefix,
        DYNAMODB_TABLES=tables,
        **TABLES_ONLY,
    )


def flags(world) -> dict[str, dict]:
    return {target: state for target, (state, _, _) in targets(world).items()}


def version(world, name: str) -> str | None:
    return world.pause_item(TABLE).get(name, {}).get("version")


def test_a_pauser_whose_table_another_pause_holds_exits_2_before_any_write(
    world, tmp_path, clock, capsys
):
    world.create_state_table(TABLE)
    add_table(world, "orders")
    add_table(world, "users")
    register(world, "table/orders", f"dynamodb:table:{WRITE}", OUT)
    first = pauser(world, tmp_path, clock, "exports", "nightly-export-", "orders")
    second = pauser(world, tmp_path, clock, "backups", "nightly-backup-", "orders,users")
    assert first.run() == 0 and second.run() == 0
    before = flags(world)
    export = world.start_cluster("nightly-export-a")
    clock.advance(minutes=1)
    assert first.run() == 0
    assert flags(world)["table/orders ReadCapacityUnits"] == SUSPENDED
    backup = world.start_cluster("nightly-backup-a")
    clock.advance(minutes=1)
    held, calls = version(world, "backups"), world.calls.copy()
    capsys.readouterr()
    assert second.run() == 2
    err = capsys.readouterr().err
    assert "orders" in err and "'exports'" in err and "one pauser takes several prefixes" in err
    made = {op for op, n in (world.calls - calls).items() if n and op in WRITES}
    assert made == set(), "no write"
    assert version(world, "backups") == held, "its record is as it was"
    assert flags(world)["table/users ReadCapacityUnits"] == SCALING, "nothing paused"
    assert "lease_holder" not in world.pause_item(TABLE)["backups"], "the lease is given back"
    assert second.run("--dry-run") == 2, "a dry run says the same"
    world.stop_cluster(export)
    clock.advance(minutes=1)
    assert first.run() == 0, "the first pause ends"
    assert second.run() == 0, "the table is free: the second pauses it"
    assert flags(world)["table/orders ReadCapacityUnits"] == SUSPENDED
    world.stop_cluster(backup)
    clock.advance(minutes=1)
    assert first.run() == 0 and second.run() == 0
    assert flags(world) == before


def test_pausers_of_other_tables_share_state_table_freely(world, tmp_path, clock):
    world.create_state_table(TABLE)
    add_table(world, "orders")
    add_table(world, "users")
    first = pauser(world, tmp_path, clock, "exports", "nightly-export-", "orders")
    second = pauser(world, tmp_path, clock, "backups", "nightly-backup-", "users")
    world.start_cluster("nightly-export-a")
    world.start_cluster("nightly-backup-a")
    for minute in range(3):
        clock.now = T0 + timedelta(minutes=minute)
        assert first.run() == 0 and second.run() == 0
    assert all(state == SUSPENDED for state in flags(world).values())
