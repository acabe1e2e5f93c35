"""A pause record damaged mid-pause, in the state file or in state_table's item, as a person
editing it by hand would: each field that cannot be understood is set aside alone, no saved
setting is lost, and no failsafe schedule of the pauser outlives the night, even when the whole
record is moved aside. main() against moto in process, an injected clock. What the reader makes
of each field: tests/unit/test_state_file.py."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest

from autoscaler_pauser.cli import main
from autoscaler_pauser.lease import ASIDE
from autoscaler_pauser.records import schedule_name
from tests.support.clock import Clock
from tests.support.tool import base_env
from tests.support.world import SUSPENDED, add_table, targets

ROLE = "arn:aws:iam::123456789012:role/failsafe"
GROUP = "autoscaler-pauser"
TABLE = "autoscaler-pauser"
ITEM = "ecs:us-east-1/autoscaler/ddb-scaler"  # the pauser's default name: its ECS service's
# Set by a person before the backup: only scheduled scaling suspended. A resume keeps it.
HAND_SET = {**dict.fromkeys(SUSPENDED, False), "ScheduledScalingSuspended": True}


class Night:
    """The autoscaler service at 3 and the table orders with a hand-set suspension, a backup
    cluster tagged with the table, and the pauser with its failsafe on; its record in the state
    file or (`table`) in state_table."""

    def __init__(self, world, tmp_path: Path, table: bool):
        self.world, self.clock, self.table = world, Clock(), table
        world.create_service(desired=3)
        add_table(world, "orders", suspended=HAND_SET)
        more = {"STATE_TABLE": world.create_state_table(TABLE)} if table else {}
        self.env = base_env(
            tmp_path,
            DYNAMODB_TABLES="orders",
            CLUSTER_TABLES_TAG="backup-tables",
            FAILSAFE_MINUTES="30",
            FAILSAFE_ROLE_ARN=ROLE,
            **more,
        )
        self.path = Path(self.env["STATE_FILE"])
        self.cluster = ""

    def run(self, capsys, minutes: float = 1) -> tuple[int, str]:
        self.clock.advance(minutes=minutes)
        capsys.readouterr()
        code = main([], environ=self.env, aws_factory=self.world.clients, now=self.clock)
        return code, capsys.readouterr().err

    def paused(self, capsys) -> None:
        self.cluster = self.world.start_cluster(
            "nightly-backup-a", tags={"backup-tables": "orders"}
        )
        code, err = self.run(capsys)
        assert code == 0, err
        assert self.world.desired() == 0 and len(self.schedules()) == 3

    def record(self) -> dict:
        if self.table:
            return self.world.pause_item(TABLE)[ITEM]["record"]
        return json.loads(self.path.read_text())["pause"]

    def damage(self, change) -> None:
        """The record as a person leaves it: one change made to its JSON."""
        if self.table:
            record = self.record()
            change(record)
            self.world.set_record(ITEM, record, TABLE)
        else:
            data = json.loads(self.path.read_text())
            change(data["pause"])
            self.path.write_text(json.dumps(data))

    def saved(self) -> dict:
        return {
            key: target["saved"]
            for scope in self.record()["scopes"].values()
            for key, target in scope.get("targets", {}).items()
            if "saved" in target
        }

    def schedules(self) -> list[str]:
        found = self.world.scheduler().list_schedules(GroupName=GROUP)["Schedules"]
        return sorted(s["Name"] for s in found)

    def over(self, capsys) -> None:
        """The backup ends: the run resumes everything to what it was, and leaves no
        schedule."""
        self.world.stop_cluster(self.cluster)
        code, err = self.run(capsys)
        assert code == 0, err
        assert self.world.desired() == 3
        found = targets(self.world)
        assert {
            found[f"table/orders {d}"][0] == HAND_SET
            for d in ("ReadCapacityUnits", "WriteCapacityUnits")
        } == {True}
        assert self.schedules() == [], "no schedule outlives the night"


def _every_due(record: dict) -> None:
    for scope in record["scopes"].values():
        for target in scope.get("targets", {}).values():
            if "schedule" in target:
                target["schedule"]["due"] = "2026-12-06 02:00"


def _tables_as_text(record: dict) -> None:
    [cluster] = record["clusters"]
    record["clusters"][cluster] = "orders"


def _format_as_text(record: dict) -> None:
    record["format"] = "2"


# name -> (the change a person makes, what the one warning names)
DAMAGE = {
    "a due written by hand": (_every_due, "the due time of the schedule"),
    "a cluster's tables as text": (_tables_as_text, "the tables of cluster"),
    "the format as text": (_format_as_text, "the format in"),
}


@pytest.mark.parametrize("store", ["state file", "state_table"])
@pytest.mark.parametrize("name", list(DAMAGE))
def test_a_damaged_field_loses_no_saved_setting_and_leaves_no_schedule(
    world, tmp_path, capsys, name, store
):
    night = Night(world, tmp_path, table=store == "state_table")
    change, says = DAMAGE[name]
    night.paused(capsys)
    saved = night.saved()
    assert len(saved) == 3  # the service's count and the table's two suspensions
    night.damage(change)
    code, err = night.run(capsys)
    assert code == 0, err
    warnings = [line for line in err.splitlines() if " WARNING " in line]
    assert warnings and all("WARNING ignored " in w and says in w for w in warnings), err
    assert night.saved() == saved, "every saved setting is kept"
    assert world.desired() == 0 and len(night.schedules()) == 3
    night.over(capsys)


def test_a_schedule_the_record_lost_is_found_and_removed(world, tmp_path, capsys):
    """A schedule whose region was edited away cannot be removed where it was made: the run
    lists the pauser's schedules in its group and removes the one no record holds."""
    night = Night(world, tmp_path, table=False)
    night.paused(capsys)
    key = "dynamodb:us-east-1/table/orders:read"
    night.damage(lambda r: r["scopes"]["orders"]["targets"][key]["schedule"].update(region="mars"))
    code, err = night.run(capsys)
    assert code == 0, err
    assert "has no region" in err
    # Set again under the name the pauser gives it, the one on AWS moved.
    assert schedule_name(ITEM, key) in night.schedules() and len(night.schedules()) == 3
    assert "sweep" not in night.record(), "looked for once"
    night.over(capsys)


def _not_json(night: Night) -> None:
    night.path.write_bytes(b"\x00\x9f not json at all")


def _not_compressed(night: Night) -> None:
    night.world.dynamodb.update_item(
        TableName=TABLE,
        Key={"name": {"S": ITEM}},
        UpdateExpression="SET #r = :r",
        ExpressionAttributeNames={"#r": "record"},
        ExpressionAttributeValues={":r": {"B": b"not zlib"}},
    )


@pytest.mark.parametrize("store", ["state file", "state_table"])
def test_a_record_moved_aside_leaves_no_schedule_of_the_pauser_after_the_night(
    world, tmp_path, capsys, store
):
    night = Night(world, tmp_path, table=store == "state_table")
    night.paused(capsys)
    other = "0123456789-someone-else-s"  # another pauser's schedule in the same group
    world.scheduler().create_schedule(
        Name=other,
        GroupName=GROUP,
        ScheduleExpression="at(2030-01-01T00:00:00)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": "arn:aws:scheduler:::aws-sdk:ecs:updateService", "RoleArn": ROLE},
    )
    (_not_json if store == "state file" else _not_compressed)(night)
    code, err = night.run(capsys)
    assert code == 0, err
    if store == "state file":
        assert [p.name for p in night.path.parent.iterdir() if ".bad-" in p.name]
        assert "moved it to" in err
    else:
        aside = world.dynamodb.get_item(TableName=TABLE, Key={"name": {"S": ITEM + ASIDE}})
        assert aside["Item"]["record"]["B"] == b"not zlib"
        assert f"copied its item to {ITEM + ASIDE!r}" in err
    assert world.desired() == 0, "still paused: the backup runs"
    world.stop_cluster(night.cluster)
    code, err = night.run(capsys)
    assert code == 0, err
    assert world.desired() == 3
    assert night.schedules() == [other], "none of this pauser's is left; another's stays"


def test_an_item_moved_aside_goes_on_from_the_host_s_copy(world, tmp_path, capsys):
    night = Night(world, tmp_path, table=True)
    night.paused(capsys)
    _not_compressed(night)
    code, err = night.run(capsys)
    assert code == 0, err
    assert f"goes on from its copy in {night.path}" in err
    record = world.pause_item(TABLE)[ITEM]["record"]
    assert record["format"] == 2 and "sweep" not in record
    assert len(night.saved()) == 3, "the host's copy had every saved setting"
    night.over(capsys)


def test_an_item_not_json_is_moved_aside_too(world, tmp_path, capsys):
    night = Night(world, tmp_path, table=True)
    night.paused(capsys)
    night.path.unlink()  # no copy on this host: the run goes on from AWS
    world.dynamodb.update_item(
        TableName=TABLE,
        Key={"name": {"S": ITEM}},
        UpdateExpression="SET #r = :r",
        ExpressionAttributeNames={"#r": "record"},
        ExpressionAttributeValues={":r": {"B": zlib.compress(b"[1, 2")}},
    )
    code, err = night.run(capsys)
    assert code == 0, err
    assert "goes on from AWS" in err
    night.world.stop_cluster(night.cluster)
    code, err = night.run(capsys)
    assert code == 0 and world.desired() == 3, err
    assert night.schedules() == []
