"""The pause record in state_table, shared by hosts: its lease, its conditional writes, and the
nights of two hosts that went wrong while each kept its own record. main() against moto in
process; each host has its own state file."""

from __future__ import annotations

import dataclasses
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from autoscaler_pauser.cli import main
from autoscaler_pauser.lease import PART, Conflict, Held, Lease, LeasedItem
from autoscaler_pauser.model import SCALING, SUSPENDED, PauseRecord, Suspension, iso
from autoscaler_pauser.targets.ecs import SAVED_COUNT_TAG
from autoscaler_pauser.timing import CLOCK_SLACK_SECONDS, LEASE_SECONDS
from tests.support.clock import Clock
from tests.support.tool import base_env
from tests.support.world import READ, REGION, WRITE, add_table, register, targets

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=timezone.utc)
TABLE = "autoscaler-pauser"
FLAGS = ("DynamicScalingInSuspended", "DynamicScalingOutSuspended", "ScheduledScalingSuspended")


@pytest.fixture
def clock():
    return Clock()


class Host:
    """A host running the tool with its own state file, against the shared table."""

    def __init__(self, world, folder: Path, clock: Clock, **env: str):
        self.world, self.folder, self.clock = world, folder, clock
        self.env = {"STATE_TABLE": TABLE, **env}

    def run(self, *args: str, **env: str) -> int:
        environ = base_env(self.folder, **self.env, **env)
        return main(list(args), environ=environ, aws_factory=self.world.clients, now=self.clock)

    def lose_state(self) -> None:
        (self.folder / "state" / "state.json").unlink(missing_ok=True)


@pytest.fixture
def hosts(world, tmp_path, clock):
    world.create_state_table(TABLE)
    return Host(world, tmp_path / "a", clock), Host(world, tmp_path / "b", clock)


def suspension(world, resource: str, dimension: str) -> dict:
    return targets(world)[f"{resource} {dimension}"][0]


# --- the lease and the conditional writes ---------------------------------------------------------


def test_a_lease_is_one_run_s_until_it_ends_or_runs_out(world):
    world.create_state_table(TABLE)
    a = LeasedItem(world.dynamodb, TABLE, "p", "host-a:1", LEASE_SECONDS)
    b = LeasedItem(world.dynamodb, TABLE, "p", "host-b:2", LEASE_SECONDS)
    lease = a.take(T0)
    assert isinstance(lease, Lease) and lease.version == 0 and lease.data is None
    held = b.take(T0 + timedelta(seconds=10))
    assert held == Held("host-a:1", int(T0.timestamp()) + LEASE_SECONDS)
    a.write(lease, {"format": 2, "scopes": {"*": {"paused_at": iso(T0)}}}, T0)
    lease = b.take(T0 + timedelta(seconds=10))
    assert isinstance(lease, Lease) and lease.version == 1, "the write gave the lease back"
    assert lease.data == {"format": 2, "scopes": {"*": {"paused_at": iso(T0)}}}
    # b dies holding it: a waits out the lease, then takes it
    assert isinstance(a.take(T0 + timedelta(seconds=10 + LEASE_SECONDS)), Held)
    assert isinstance(a.take(T0 + timedelta(seconds=11 + LEASE_SECONDS)), Lease)


def test_a_write_on_an_old_version_or_a_lost_lease_is_refused(world):
    world.create_state_table(TABLE)
    a = LeasedItem(world.dynamodb, TABLE, "p", "host-a:1", LEASE_SECONDS)
    b = LeasedItem(world.dynamodb, TABLE, "p", "host-b:2", LEASE_SECONDS)
    slow = a.take(T0)
    late = T0 + timedelta(seconds=LEASE_SECONDS + 1)
    fast = b.take(late)  # a's lease ran out: b takes it and writes first
    b.write(fast, {"x": 1}, late)
    with pytest.raises(Conflict):
        a.write(slow, {"x": 2}, late)
    read = a.read()
    assert read.version == 1 and read.data == {"x": 1}


def put_record(world, record: dict) -> None:
    item = {"name": {"S": "p"}, "record": record, "version": {"N": "4"}}
    world.dynamodb.put_item(TableName=TABLE, Item=item)


def packed(text: str) -> dict:
    """A record's JSON text as the item holds it: compressed."""
    return {"B": zlib.compress(text.encode())}


def run_in_a_backup_with(world, host, capsys, record: dict) -> str:
    """A run of the pauser 'p', a backup running, its item's record as given: its stderr."""
    world.create_service(desired=3)
    world.start_cluster("nightly-backup-a")
    put_record(world, record)
    capsys.readouterr()
    assert host.run(PAUSER_NAME="p") == 0
    return capsys.readouterr().err


@pytest.mark.parametrize(
    "record, why",
    [
        (packed('{"paused": true}'), "no field of a pause record in it"),
        (packed("{not json"), "Expecting property name"),
        ({"S": '{"format": 2}'}, "not a compressed record"),
        ({"B": b"not zlib"}, "not a compressed record"),
    ],
)
def test_a_pause_record_that_cannot_be_read_is_copied_aside_and_the_run_goes_on(
    world, hosts, capsys, record, why
):
    err = run_in_a_backup_with(world, hosts[0], capsys, record)
    assert f"the pause record 'p' in {TABLE} is not understood (" in err and why in err, err
    assert f"copied its item to 'p{PART}0'; this run goes on from AWS" in err
    assert world.desired() == 0, "paused: the backup runs"
    aside = world.dynamodb.get_item(TableName=TABLE, Key={"name": {"S": f"p{PART}0"}})["Item"]
    assert aside["record"] == record and aside["version"] == {"N": "4"}
    assert world.pause_item(TABLE)["p"]["record"]["format"] == 2, "a new record written"


@pytest.mark.parametrize(
    "record, why",
    [
        (packed('{"format": 2, "scopes": {"*": {"paused_at": "now"}}}'), "'now' is not a time"),
        (packed('{"format": 7}'), "7 is not 2; read as format 2"),
    ],
)
def test_a_field_of_the_pause_record_that_cannot_be_understood_is_set_aside(
    world, hosts, capsys, record, why
):
    err = run_in_a_backup_with(world, hosts[0], capsys, record)
    assert "WARNING ignored the " in err and f"in the pause record 'p' in {TABLE}" in err, err
    assert why in err
    assert world.desired() == 0


def test_a_steady_run_with_state_table_makes_four_calls(world, hosts):
    a, _ = hosts
    world.create_service(desired=3)
    assert a.run() == 0
    world.calls.clear()
    assert a.run() == 0
    assert dict(world.calls) == {"ListClusters": 1, "DescribeServices": 1, "UpdateItem": 2}
    world.start_cluster("nightly-backup-a")
    assert a.run() == 0
    world.calls.clear()
    assert a.run() == 0  # steady while paused: the record's last-seen time is written
    assert dict(world.calls) == {"ListClusters": 1, "DescribeServices": 1, "UpdateItem": 2}


def test_a_run_that_finds_the_lease_held_is_skipped_without_a_change(world, hosts, capsys):
    a, _ = hosts
    world.create_service(desired=3)
    world.start_cluster("nightly-backup-a")
    holder = LeasedItem(world.dynamodb, TABLE, a_name(), "elsewhere:9", LEASE_SECONDS)
    assert isinstance(holder.take(a.clock()), Lease)
    world.calls.clear()
    assert a.run() == 0
    assert dict(world.calls) == {"ListClusters": 1, "UpdateItem": 1} and world.desired() == 3
    assert "another run (elsewhere:9) holds the pause record" in capsys.readouterr().err


def a_name() -> str:
    return "ecs:us-east-1/autoscaler/ddb-scaler"


# --- two hosts: what went wrong while each kept its own pause record ------------------------------


def test_tables_paused_by_a_host_that_died_are_resumed_by_the_other(world, hosts):
    """B ran before the backup; A paused every target; A died; B resumes them all, exactly."""
    a, b = hosts
    add_table(world, "orders", indexes=["by-date"])
    add_table(world, "users")
    partial = {**dict.fromkeys(FLAGS, False), "ScheduledScalingSuspended": True}
    register(world, "table/users", f"dynamodb:table:{READ}", partial)
    env = {"DYNAMODB_TABLES": "orders,users"}
    a.env.update(env)
    b.env.update(env)
    world.create_service(desired=3)
    assert b.run() == 0
    cluster = world.start_cluster("nightly-backup-a")
    assert a.run() == 0
    assert all(set(s.values()) == {True} for s, _, _ in targets(world).values())
    assert b.run() == 0  # B sees the pause in the shared record: nothing is "paused before it"
    a.lose_state()  # A dies
    world.stop_cluster(cluster)
    assert b.run() == 0
    assert world.desired() == 3
    assert suspension(world, "table/users", "ReadCapacityUnits") == partial
    assert suspension(world, "table/orders/index/by-date", "WriteCapacityUnits") == dict.fromkeys(
        FLAGS, False
    )
    assert b.run() == 0 and world.desired() == 3


def test_a_count_set_after_a_resume_is_the_one_saved_at_the_next_pause(world, hosts):
    """B pauses (3), A resumes, someone sets 5, a new backup: the next resume goes to 5."""
    a, b = hosts
    world.create_service(desired=3)
    cluster = world.start_cluster("nightly-backup-a")
    assert b.run() == 0 and world.desired() == 0
    world.stop_cluster(cluster)
    assert a.run() == 0 and world.desired() == 3
    world.set_desired(5)
    cluster = world.start_cluster("nightly-backup-b")
    assert b.run() == 0 and world.desired() == 0
    assert world.tags() == {SAVED_COUNT_TAG: "5"}
    world.stop_cluster(cluster)
    assert a.run() == 0 and world.desired() == 5


def test_the_stuck_alarm_counts_from_the_shared_pause_on_whichever_host_runs(world, hosts, capsys):
    a, b = hosts
    env = {"MAX_PAUSE_MINUTES": "60", "FORCE_RESUME_AFTER_MAX_PAUSE": "true"}
    a.env.update(env)
    b.env.update(env)
    world.create_service(desired=3)
    world.start_cluster("nightly-backup-stuck")
    assert a.run() == 0
    a.clock.advance(minutes=30)
    assert b.run() == 0, "30 minutes into the pause: no alarm on the host that did not pause"
    a.clock.advance(minutes=31)
    assert b.run() == 3 and world.desired() == 3, "over the limit: resumed, once, with exit 3"
    counts = []
    for host in (a, b, a, b):
        a.clock.advance(minutes=1)
        assert host.run() == 0
        counts.append(world.desired())
    assert counts == [3, 3, 3, 3], "no host pauses again for the cluster that stuck"


def test_a_suspension_set_by_hand_before_the_pause_survives_a_resume_by_the_other_host(
    world, hosts
):
    a, b = hosts
    add_table(world, "orders")
    a.env["DYNAMODB_TABLES"] = b.env["DYNAMODB_TABLES"] = "orders"
    world.create_service(desired=3)
    assert a.run() == 0
    register(world, "table/orders", f"dynamodb:table:{WRITE}", dict.fromkeys(FLAGS, True))
    assert b.run() == 0  # no backup: the hand-set suspension is left
    cluster = world.start_cluster("nightly-backup-a")
    assert a.run() == 0
    world.stop_cluster(cluster)
    assert b.run() == 0
    assert suspension(world, "table/orders", "WriteCapacityUnits") == dict.fromkeys(FLAGS, True)
    assert suspension(world, "table/orders", "ReadCapacityUnits") == dict.fromkeys(FLAGS, False)


def test_a_host_that_paused_with_its_state_file_carries_the_pause_into_a_new_table(
    world, tmp_path, clock
):
    """The table is set while a pause is on: the pause record starts from the state file, so
    the pre-pause settings of the tables are not lost."""
    add_table(world, "orders")
    world.create_service(desired=3)
    host = Host(world, tmp_path / "a", clock, DYNAMODB_TABLES="orders")
    del host.env["STATE_TABLE"]
    partial = {**dict.fromkeys(FLAGS, False), "DynamicScalingInSuspended": True}
    register(world, "table/orders", f"dynamodb:table:{READ}", partial)
    cluster = world.start_cluster("nightly-backup-a")
    assert host.run() == 0
    world.create_state_table(TABLE)
    host.env["STATE_TABLE"] = TABLE
    assert host.run() == 0
    [item] = world.pause_item(TABLE).values()
    assert item["flat"]["paused"] is True
    other = Host(world, tmp_path / "b", clock, DYNAMODB_TABLES="orders")
    world.stop_cluster(cluster)
    assert other.run() == 0
    assert suspension(world, "table/orders", "ReadCapacityUnits") == partial


def test_a_run_whose_lease_ran_out_adds_what_it_saved_to_the_record_the_other_wrote(world):
    """A slow run's lease runs out; another run takes it and writes; the slow run's write is
    refused, so it reads the record again and adds the settings it saved."""
    from autoscaler_pauser.config import Config
    from autoscaler_pauser.decide import Plan, Verdict
    from autoscaler_pauser.model import EVERY_TABLE, Change, Hold, Why
    from autoscaler_pauser.table_record import TableRecordStore

    world.create_state_table(TABLE)
    config = Config(emr_prefix=("b-",), emr_region=REGION, dynamodb_tables=("a", "b"), name="p")
    config = dataclasses.replace(config, dynamodb_region=REGION)

    def store(holder):
        return TableRecordStore(
            LeasedItem(world.dynamodb, TABLE, "p", holder, LEASE_SECONDS), config
        )

    slow, fast = store("slow:1"), store("fast:2")
    before = slow.take(PauseRecord(), T0)
    assert before is not None and before.fresh
    late = T0 + timedelta(seconds=LEASE_SECONDS + 1)
    theirs = fast.take(PauseRecord(), late)
    plan = Plan({"a": Verdict(True, "a backup")}, (), {})
    key_a = f"dynamodb:{REGION}/table/a:read"
    key_b = f"dynamodb:{REGION}/table/b:read"
    held = {"a": Hold(paused_at=iso(late)), "b": Hold(paused_at=iso(late))}
    fast.commit(PauseRecord("p", held, saved={key_b: SCALING}, fresh=False), plan, late)
    change = Change(key_a, "table/a read", Why.PAUSE, SCALING, SUSPENDED, scope="a")
    ours = PauseRecord("p", {"a": Hold(paused_at=iso(T0))}, saved={key_a: SCALING}, fresh=False)
    kept = slow.commit(ours, Plan({"a": Verdict(True, "a backup")}, (change,), {}), late)
    assert kept.paused_at == iso(late) and dict(kept.saved) == {key_b: SCALING, key_a: SCALING}
    read = slow.item.read()
    assert read.version == 2 and slow._record(read, PauseRecord()) == kept
    assert theirs is not None and isinstance(kept.saved[key_a], Suspension)
    assert EVERY_TABLE not in kept.holds


# --- two pausers of one name on one record --------------------------------------------------------


def tables_only(folder: Path, tables: str, **env: str) -> dict[str, str]:
    """A pauser of tables only, with the default name, its record in the shared table."""
    environ = base_env(folder, STATE_TABLE=TABLE, DYNAMODB_TABLES=tables, **env)
    del environ["AUTOSCALER_CLUSTER"], environ["AUTOSCALER_SERVICE"]
    return environ


@pytest.mark.parametrize("backup", [False, True], ids=["idle", "mid-backup"])
def test_a_second_default_named_pauser_of_other_tables_exits_2_before_any_write(
    world, tmp_path, capsys, clock, backup
):
    world.create_state_table(TABLE)
    for table in ("orders", "users", "items"):
        add_table(world, table)
    first, second = (
        tables_only(tmp_path / "a", "orders,users"),
        tables_only(tmp_path / "b", "items"),
    )
    if backup:
        world.start_cluster("nightly-backup-a")
    assert main([], environ=first, aws_factory=world.clients, now=clock) == 0
    record, before = world.pause_item(TABLE)["autoscaler-pauser"], targets(world)
    capsys.readouterr()
    world.calls.clear()
    clock.advance(minutes=1)
    assert main([], environ=second, aws_factory=world.clients, now=clock) == 2
    err = capsys.readouterr().err
    assert err.count("autoscaler-pauser: ") == 1, err
    assert (
        "is held by a pauser of the same name, 'autoscaler-pauser', that names 4 target(s)" in err
    )
    assert "dynamodb:us-east-1/table/orders:read" in err
    assert "none of the 2 target(s) (dynamodb:us-east-1/table/items:read" in err
    assert "Give each pauser its own name" in err
    writes = {op for op in world.calls if not op.startswith(("Describe", "List", "Get"))}
    assert writes == {"UpdateItem"}, "the lease, taken and given back: nothing else written"
    after = world.pause_item(TABLE)["autoscaler-pauser"]
    assert after["record"] == record["record"] and after["version"] == record["version"]
    assert "lease_holder" not in after, "the lease was given back"
    assert targets(world) == before
    # The first goes on as before: nothing of its was given back.
    clock.advance(minutes=1)
    assert main([], environ=first, aws_factory=world.clients, now=clock) == 0
    assert targets(world) == before


def test_a_pauser_whose_tables_changed_goes_on_with_its_record(world, tmp_path, clock):
    """A config that names any target the record's pauser named is that pauser, changed: the
    table no longer named is given back; one whose every target changed says so with a name."""
    world.create_state_table(TABLE)
    for table in ("orders", "users", "items"):
        add_table(world, table)
    folder = tmp_path / "a"
    cluster = world.start_cluster("nightly-backup-a")
    assert (
        main([], environ=tables_only(folder, "orders,users"), aws_factory=world.clients, now=clock)
        == 0
    )
    assert suspension(world, "table/users", READ) == dict.fromkeys(FLAGS, True)
    changed = tables_only(folder, "orders,items")
    assert main([], environ=changed, aws_factory=world.clients, now=clock) == 0
    assert suspension(world, "table/users", READ) == dict.fromkeys(FLAGS, False), "given back"
    assert suspension(world, "table/items", READ) == dict.fromkeys(FLAGS, True)
    replaced = tables_only(folder, "users")
    assert main([], environ=replaced, aws_factory=world.clients, now=clock) == 2
    named = {**replaced, "PAUSER_NAME": "autoscaler-pauser"}
    assert main([], environ=named, aws_factory=world.clients, now=clock) == 0
    world.stop_cluster(cluster)
    assert main([], environ=named, aws_factory=world.clients, now=clock) == 0
    assert {s for t in targets(world).values() for s in t[0].values()} == {False}


# --- a lease that cannot be true ------------------------------------------------------------------


def hold_lease(world, name: str, holder: str, until: datetime) -> None:
    """The lease set by hand, or by a run that keeps taking it."""
    world.dynamodb.update_item(
        TableName=TABLE,
        Key={"name": {"S": name}},
        UpdateExpression="SET lease_holder = :h, lease_until = :u",
        ExpressionAttributeValues={":h": {"S": holder}, ":u": {"N": str(int(until.timestamp()))}},
    )


def test_a_lease_further_ahead_than_one_lease_is_taken_as_expired(world):
    world.create_state_table(TABLE)
    a = LeasedItem(world.dynamodb, TABLE, "p", "host-a:1", LEASE_SECONDS)
    slack = LEASE_SECONDS + CLOCK_SLACK_SECONDS
    hold_lease(world, "p", "stuck:1", T0 + timedelta(seconds=slack))
    assert a.take(T0) == Held("stuck:1", int(T0.timestamp()) + slack), "a run's, with slack"
    far = T0 + timedelta(seconds=slack + 1)
    hold_lease(world, "p", "stuck:1", far)
    lease = a.take(T0)
    assert isinstance(lease, Lease) and lease.overridden == Held("stuck:1", int(far.timestamp()))
    assert lease.until == int(T0.timestamp()) + LEASE_SECONDS


def test_a_lease_held_until_2099_is_taken_and_the_pause_ends_after_the_backup(world, hosts, capsys):
    a, _ = hosts
    world.create_service(desired=3)
    cluster = world.start_cluster("nightly-backup-a")
    assert a.run() == 0 and world.desired() == 0
    hold_lease(world, a_name(), "stuck:1", datetime(2099, 1, 1, tzinfo=timezone.utc))
    world.stop_cluster(cluster)
    a.clock.advance(minutes=1)
    capsys.readouterr()
    assert a.run() == 0
    err = capsys.readouterr().err
    assert world.desired() == 3, "resumed after the backup"
    [warning] = [line for line in err.splitlines() if " WARNING " in line]
    assert "was held by stuck:1 until 2099-01-01T00:00:00Z, further ahead than one lease" in warning
    assert "taken as expired" in warning
    assert "lease_holder" not in world.pause_item(TABLE)[a_name()], "given back at the end"


def test_status_check_fails_when_runs_keep_being_skipped_and_says_so(world, hosts, capsys):
    """A run that keeps taking the lease again (a stuck loop on another host) skips every run
    of this one: within three intervals the health check is still green, after them it fails,
    saying the runs are skipped, and by whom."""
    a, _ = hosts
    world.create_service(desired=3)
    assert a.run() == 0
    for _ in range(4):
        a.clock.advance(minutes=1)
        hold_lease(world, a_name(), "stuck:1", a.clock() + timedelta(seconds=40))
        assert a.run() == 0
        check = a.run("status", "--check")
        out = capsys.readouterr().out
        if a.clock() - T0 <= timedelta(minutes=3):
            assert check == 0, out
        else:
            assert check == 1, out
            assert "<- SKIPPED since: 4 runs, the last at 2026-11-26T01:04:00Z, found the " in out
            assert "held by stuck:1" in out
    a.clock.advance(minutes=1)  # the stuck run stops: the next run gets the record
    assert a.run() == 0 and a.run("status", "--check") == 0
