"""A resume restores every target the pause record holds, whatever one host last read, and a
target the record does not hold is never taken for one the pause suspended: the nights that left
an index or a table suspended for good, each as it went. main() against moto in process, one
clock; the hosts share state_table, each with a state file of its own."""

from __future__ import annotations

from datetime import timedelta

import pytest

from autoscaler_pauser import run as run_module
from tests.support.clock import T0, Clock
from tests.support.hosts import TABLES_ONLY, Host, Killed, crowd, kill_at
from tests.support.world import (
    READ,
    SCALING,
    SUSPENDED,
    WRITE,
    add_index,
    add_table,
    register,
    remove_table,
    targets,
)

TABLE = "autoscaler-pauser"
ROLE = "arn:aws:iam::123456789012:role/failsafe"
FAILSAFE = {"FAILSAFE_MINUTES": "30", "FAILSAFE_ROLE_ARN": ROLE}
SCHEDULED = {**SCALING, "ScheduledScalingSuspended": True}
OUT = {**SCALING, "DynamicScalingOutSuspended": True}


@pytest.fixture
def clock():
    return Clock()


def host(world, tmp_path, clock, name: str, **env: str) -> Host:
    return Host(world, tmp_path / name, clock, STATE_TABLE=TABLE, **TABLES_ONLY, **FAILSAFE, **env)


def flags(world) -> dict[str, dict]:
    """Every scalable target's suspension, by resource id and dimension."""
    return {target: state for target, (state, _, _) in targets(world).items()}


def paused(world, table: str) -> bool:
    return all(s == SUSPENDED for t, s in flags(world).items() if t.startswith(f"table/{table}"))


def schedules(world) -> list[str]:
    client = world.scheduler()
    try:
        found = client.list_schedules(GroupName="autoscaler-pauser")["Schedules"]
    except client.exceptions.ResourceNotFoundException:
        return []
    return [s["Name"] for s in found]


def at(clock: Clock, minutes: float) -> None:
    clock.now = T0 + timedelta(minutes=minutes)


def reads(world, run) -> int:
    """The DescribeScalableTargets calls of a run (one: it asked by name)."""
    world.calls.clear()
    assert run() == 0
    return world.calls["DescribeScalableTargets"]


# --- a host's scan is no list of what a resume restores ---------------------------------------


def test_an_index_added_mid_night_is_restored_by_a_host_whose_scan_is_older_than_it(
    world, tmp_path, clock
):
    world.create_state_table(TABLE)
    crowd(world)
    add_table(world, "orders", indexes=["by-date"])
    a, b = (host(world, tmp_path, clock, name, DYNAMODB_TABLES="orders") for name in "ab")
    assert a.run() == 0  # A reads the whole namespace
    at(clock, 1)
    world.made_at = clock.now
    add_index(world, "orders", "by-user", SCHEDULED)
    before = flags(world)
    world.start_cluster("nightly-backup-a")
    at(clock, 2)
    assert b.run() == 0  # a pause begins: B reads it all, the new index too
    assert paused(world, "orders")
    at(clock, 3)
    assert reads(world, a.run) == 1, "A asks by name, from a scan older than the index"
    world.stop_cluster(world.emr.list_clusters()["Clusters"][0]["Id"])
    at(clock, 4)
    assert reads(world, a.run) == 1
    assert flags(world) == before
    assert schedules(world) == []


def test_a_table_added_to_both_lists_is_restored_by_the_host_that_did_not_pause_it(
    world, tmp_path, clock
):
    world.create_state_table(TABLE)
    crowd(world)
    add_table(world, "orders")
    add_table(world, "users")
    register(world, "table/users", f"dynamodb:table:{WRITE}", OUT)
    a, b = (host(world, tmp_path, clock, name, DYNAMODB_TABLES="orders") for name in "ab")
    assert a.run() == 0 and b.run() == 0
    before = flags(world)
    a.set(DYNAMODB_TABLES="orders,users")
    b.set(DYNAMODB_TABLES="orders,users")
    cluster = world.start_cluster("nightly-backup-a")
    at(clock, 1)
    assert b.run() == 0
    assert paused(world, "orders") and paused(world, "users")
    at(clock, 2)
    assert reads(world, a.run) == 1, "A asks by name, from a scan made for orders alone"
    world.stop_cluster(cluster)
    at(clock, 3)
    assert a.run() == 0
    assert flags(world) == before
    assert schedules(world) == []


def test_a_run_killed_before_its_state_file_leaves_nothing_suspended_after_the_resume(
    world, tmp_path, clock, monkeypatch
):
    """One host, no state_table: the pausing run dies after its changes, before it writes its
    state file, so the file keeps the scan from before the new index."""
    crowd(world)
    add_table(world, "orders", indexes=["by-date"])
    alone = Host(world, tmp_path, clock, DYNAMODB_TABLES="orders", **TABLES_ONLY, **FAILSAFE)
    assert alone.run() == 0
    at(clock, 1)
    world.made_at = clock.now
    add_index(world, "orders", "by-user", OUT)
    before = flags(world)
    cluster = world.start_cluster("nightly-backup-a")
    at(clock, 2)

    def die(*args, **kw):
        raise Killed("before the state file")

    with monkeypatch.context() as m:
        m.setattr(run_module, "record", die)
        with pytest.raises(Killed):
            alone.run()
    assert paused(world, "orders")
    at(clock, 3)
    assert reads(world, alone.run) == 1, "by name, from the scan before the index"
    world.stop_cluster(cluster)
    at(clock, 4)
    assert alone.run() == 0
    assert flags(world) == before
    assert schedules(world) == []


# --- new targets while a pause holds their table -------------------------------------------------


def test_a_dimension_put_back_mid_pause_keeps_its_hand_set_suspension(world, tmp_path, clock):
    world.create_state_table(TABLE)
    add_table(world, "orders")
    register(world, "table/orders", f"dynamodb:table:{WRITE}", SUSPENDED)  # by hand
    one = host(world, tmp_path, clock, "a", DYNAMODB_TABLES="orders", DYNAMODB_DIMENSIONS="read")
    assert one.run() == 0
    before = flags(world)
    cluster = world.start_cluster("nightly-backup-a")
    at(clock, 1)
    assert one.run() == 0
    assert flags(world)[f"table/orders {READ}"] == SUSPENDED
    one.set(DYNAMODB_DIMENSIONS="read,write")
    at(clock, 2)
    assert one.run() == 0
    assert "dynamodb:us-east-1/table/orders:write" in one.state["saved"], "saved as found"
    world.stop_cluster(cluster)
    at(clock, 3)
    assert one.run() == 0
    assert flags(world) == before
    assert schedules(world) == []


def test_an_index_created_while_every_table_is_paused_is_paused_within_ten_minutes(
    world, tmp_path, clock
):
    """The runs in between ask for the tables' targets by name, from the scan of the pause's
    first run: the index is found by the first run ten minutes after that scan at the latest,
    which is within ten minutes of the index."""
    world.create_state_table(TABLE)
    crowd(world)
    add_table(world, "orders")
    one = host(world, tmp_path, clock, "a", DYNAMODB_TABLES="orders")
    assert one.run() == 0
    before = flags(world)
    cluster = world.start_cluster("nightly-backup-a")
    at(clock, 1)
    assert one.run() == 0  # the pause begins, and reads the whole namespace
    clock.advance(seconds=1)
    made = clock.now
    world.made_at = made
    add_index(world, "orders", "by-user", SCHEDULED)
    before.update((t, s) for t, s in flags(world).items() if "by-user" in t)
    index = f"table/orders/index/by-user {READ}"
    found = None
    for minute in range(2, 13):
        at(clock, minute)
        assert one.run() == 0
        if found is None and flags(world)[index] == SUSPENDED:
            found = clock.now
    assert found is not None and found - made <= timedelta(minutes=10)
    assert found == T0 + timedelta(minutes=11), "the runs before asked by name"
    world.stop_cluster(cluster)
    at(clock, 13)
    assert one.run() == 0
    assert flags(world) == before
    assert schedules(world) == []


def test_a_table_recreated_mid_pause_is_restored_to_its_own_setting(world, tmp_path, clock):
    world.create_state_table(TABLE)
    add_table(world, "orders")
    register(world, "table/orders", f"dynamodb:table:{READ}", SCHEDULED)
    one = host(world, tmp_path, clock, "a", DYNAMODB_TABLES="orders")
    assert one.run() == 0
    cluster = world.start_cluster("nightly-backup-a")
    at(clock, 1)
    assert one.run() == 0 and paused(world, "orders")
    at(clock, 2)
    remove_table(world, "orders")
    world.made_at = clock.now
    add_table(world, "orders")
    register(world, "table/orders", f"dynamodb:table:{WRITE}", OUT)
    made = flags(world)  # the new table's own settings
    at(clock, 3)
    assert one.run() == 0 and paused(world, "orders")
    world.stop_cluster(cluster)
    at(clock, 4)
    assert one.run() == 0
    assert flags(world) == made
    assert schedules(world) == []


def test_a_table_deleted_mid_pause_leaves_the_record_with_its_schedules(
    world, tmp_path, clock, capsys
):
    world.create_state_table(TABLE)
    add_table(world, "orders", indexes=["by-date"])
    add_table(world, "users")
    one = host(world, tmp_path, clock, "a", DYNAMODB_TABLES="orders,users")
    assert one.run() == 0
    world.start_cluster("nightly-backup-a")
    at(clock, 1)
    assert one.run() == 0 and len(schedules(world)) == 6
    remove_table(world, "orders", indexes=["by-date"])
    capsys.readouterr()
    at(clock, 2)
    assert one.run() == 0
    assert not [key for key in one.state["saved"] if "/table/orders" in key]
    assert len(schedules(world)) == 2, "the schedules of orders' targets are removed"
    assert "forgot the pre-pause settings of 4 targets AWS no longer has" in (
        capsys.readouterr().err
    )


def test_a_run_killed_after_its_write_ahead_still_gives_back_what_it_was_to(
    world, tmp_path, clock, monkeypatch
):
    """A run that saves new settings (users' pause begins) and gives others back (orders'
    writes, off the dimensions) records first what it saves, and keeps what it gives back until
    that is done: killed in between, the next run gives orders' writes back."""
    world.create_state_table(TABLE)
    add_table(world, "orders")
    add_table(world, "users")
    register(world, "table/orders", f"dynamodb:table:{WRITE}", OUT)
    one = host(world, tmp_path, clock, "a", DYNAMODB_TABLES="orders,users")
    one.set(CLUSTER_TABLES_TAG="backup-tables", WRITE_WORKERS="1")  # writes in the main thread
    assert one.run() == 0
    before = flags(world)
    world.start_cluster("nightly-backup-a", tags={"backup-tables": "orders"})
    at(clock, 1)
    assert one.run() == 0 and paused(world, "orders")
    one.set(DYNAMODB_DIMENSIONS="read")
    world.start_cluster("nightly-backup-b", tags={"backup-tables": "users"})
    at(clock, 2)
    with monkeypatch.context() as m:
        kill_at(m, "RegisterScalableTarget")  # the write-ahead is made; no change yet
        with pytest.raises(Killed):
            one.run()
    at(clock, 3)
    assert one.run() == 0
    assert flags(world)[f"table/orders {WRITE}"] == OUT, "given back"
    for cluster in world.emr.list_clusters(ClusterStates=["WAITING", "RUNNING", "STARTING"])[
        "Clusters"
    ]:
        world.stop_cluster(cluster["Id"])
    at(clock, 4)
    assert one.run() == 0
    assert flags(world) == before
    assert schedules(world) == []
