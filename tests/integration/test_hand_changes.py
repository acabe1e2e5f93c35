"""A person's change during a pause, kind by kind, as docs/pause-record.md gives the rules: a
setting lifted while the backup runs is paused again at the next run and restored after; one
lifted once the backup is over is left as it was set; a target outside the pause that a person
suspends keeps that suspension when it comes into the pause. main() against moto in process; the
ECS service's own rules are in test_run.py (scaled up during a backup, resumed by hand)."""

from __future__ import annotations

import pytest

from tests.support.clock import Clock
from tests.support.hosts import TABLES_ONLY, Host
from tests.support.world import (
    READ,
    SCALING,
    SUSPENDED,
    WRITE,
    add_table,
    register,
    targets,
)

SCHEDULED = {**SCALING, "ScheduledScalingSuspended": True}
IN = {**SCALING, "DynamicScalingInSuspended": True}
SERVICE_TARGET = "ecs:service:DesiredCount"


@pytest.fixture
def clock():
    return Clock()


def flags(world, namespace="dynamodb") -> dict[str, dict]:
    return {target: state for target, (state, _, _) in targets(world, namespace).items()}


def tables_host(world, tmp_path, clock, tables="orders") -> Host:
    add_table(world, "orders", indexes=["by-date"])
    add_table(world, "users")
    register(world, "table/orders", f"dynamodb:table:{READ}", SCHEDULED)
    register(world, "table/orders/index/by-date", f"dynamodb:index:{WRITE}", SCHEDULED)
    return Host(world, tmp_path, clock, DYNAMODB_TABLES=tables, **TABLES_ONLY)


def lift(world, resource: str, dimension: str, state=SCALING, namespace="dynamodb") -> None:
    register(world, resource, dimension, state, namespace=namespace)


@pytest.mark.parametrize(
    "resource,dimension",
    [
        ("table/orders", f"dynamodb:table:{READ}"),
        ("table/orders/index/by-date", f"dynamodb:index:{WRITE}"),
    ],
    ids=["a table's target", "an index's target"],
)
def test_a_suspension_lifted_during_the_backup_is_paused_again_and_restored_after(
    world, tmp_path, clock, resource, dimension
):
    host = tables_host(world, tmp_path, clock)
    assert host.run() == 0
    before = flags(world)
    cluster = world.start_cluster("nightly-backup-a")
    clock.advance(minutes=1)
    assert host.run() == 0
    lift(world, resource, dimension, IN)
    clock.advance(minutes=1)
    assert host.run() == 0
    assert flags(world)[f"{resource} {dimension.split(':')[-1]}"] == SUSPENDED
    world.stop_cluster(cluster)
    clock.advance(minutes=1)
    assert host.run() == 0
    assert flags(world) == before, "the setting saved first is restored"


def test_a_suspension_lifted_once_the_backup_is_over_is_left_as_it_was_set(world, tmp_path, clock):
    host = tables_host(world, tmp_path, clock)
    assert host.run() == 0
    cluster = world.start_cluster("nightly-backup-a")
    clock.advance(minutes=1)
    assert host.run() == 0
    world.stop_cluster(cluster)
    lift(world, "table/orders", f"dynamodb:table:{READ}", IN)  # before the resume's run
    clock.advance(minutes=1)
    assert host.run() == 0
    assert flags(world)[f"table/orders {READ}"] == IN
    assert host.state["saved"] == {}, "nothing of the pause is left"


def test_a_suspension_set_outside_the_pause_is_kept_when_its_table_comes_into_it(
    world, tmp_path, clock
):
    """users is not on the list; a person suspends its reads during the backup; users is put on
    the list: its suspension is saved as found, and is what the resume leaves."""
    host = tables_host(world, tmp_path, clock)
    assert host.run() == 0
    before = flags(world)
    cluster = world.start_cluster("nightly-backup-a")
    clock.advance(minutes=1)
    assert host.run() == 0
    lift(world, "table/users", f"dynamodb:table:{READ}", SUSPENDED)
    before[f"table/users {READ}"] = SUSPENDED
    host.set(DYNAMODB_TABLES="orders,users")
    clock.advance(minutes=1)
    assert host.run() == 0
    assert flags(world)[f"table/users {WRITE}"] == SUSPENDED, "paused with its table"
    world.stop_cluster(cluster)
    clock.advance(minutes=1)
    assert host.run() == 0
    assert flags(world) == before


def test_a_target_suspended_fully_during_the_pause_is_restored_to_its_setting_before(
    world, tmp_path, clock
):
    """Suspended already by the pause, a full suspension by hand cannot be told from the
    pause's own: the resume restores the setting from before the pause."""
    host = tables_host(world, tmp_path, clock)
    assert host.run() == 0
    before = flags(world)
    cluster = world.start_cluster("nightly-backup-a")
    clock.advance(minutes=1)
    assert host.run() == 0
    lift(world, "table/orders", f"dynamodb:table:{READ}", SUSPENDED)
    world.stop_cluster(cluster)
    clock.advance(minutes=1)
    assert host.run() == 0
    assert flags(world) == before


def test_the_service_s_own_target_lifted_mid_pause_is_suspended_again_when_the_service_changes(
    world, tmp_path, clock
):
    """The service's scalable target is read only when the service changes: a suspension
    lifted by hand stands until a scale-out lifts the count, and then is suspended again."""
    world.create_service(desired=3)
    resource = f"service/{world.cluster}/{world.service}"
    register(world, resource, SERVICE_TARGET, SCHEDULED, namespace="ecs")
    host = Host(world, tmp_path, clock)
    assert host.run() == 0
    cluster = world.start_cluster("nightly-backup-a")
    clock.advance(minutes=1)
    assert host.run() == 0 and world.desired() == 0
    lift(world, resource, SERVICE_TARGET, SCALING, namespace="ecs")
    clock.advance(minutes=1)
    assert host.run() == 0
    assert flags(world, "ecs")[f"{resource} DesiredCount"] == SCALING, "not read: left"
    world.set_desired(2)  # a scale-out, as the lifted target would make
    clock.advance(minutes=1)
    assert host.run() == 0 and world.desired() == 0
    assert flags(world, "ecs")[f"{resource} DesiredCount"] == SUSPENDED
    world.stop_cluster(cluster)
    clock.advance(minutes=1)
    assert host.run() == 0
    assert world.desired() == 3
    assert flags(world, "ecs")[f"{resource} DesiredCount"] == SCHEDULED
