"""A world that changes during a pause, through main() against moto in process: a table taken
off the list, the failsafe turned off or moved to another group, two pausers on one state file,
saved values edited by hand, a host whose clock is off."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from autoscaler_pauser.cli import main
from autoscaler_pauser.targets.ecs import SAVED_COUNT_TAG
from tests.support.clock import T0, Clock
from tests.support.state import read as read_state
from tests.support.tool import base_env
from tests.support.world import SCALING, SUSPENDED, add_table, targets

ROLE = "arn:aws:iam::123456789012:role/failsafe"


@pytest.fixture
def clock():
    return Clock()


class Pauser:
    """The tool on one host: its environment, run through main() with the test's clock."""

    def __init__(self, world, folder: Path, clock: Clock, **env: str):
        self.world, self.folder, self.clock = world, folder, clock
        self.env = base_env(folder, **env)

    def run(self, *args: str, minutes: float | None = None, **env: str | None) -> int:
        if minutes is not None:
            self.clock.now = T0 + timedelta(minutes=minutes)
        environ = {k: v for k, v in {**self.env, **env}.items() if v is not None}
        return main(list(args), environ=environ, aws_factory=self.world.clients, now=self.clock)

    @property
    def state(self) -> dict:
        return read_state(self.folder / "state" / "state.json")


def logged(capsys, level: str) -> list[str]:
    """The messages of the log lines of a level that the runs since the last call printed."""
    lines = capsys.readouterr().err.splitlines()
    return [line.split(f" {level} ", 1)[1] for line in lines if f" {level} " in line]


def suspension(world, target: str) -> dict:
    return targets(world)[target][0]


def schedules(world, group: str = "autoscaler-pauser") -> set[str]:
    client = world.scheduler()
    try:
        return {s["Name"] for s in client.list_schedules(GroupName=group)["Schedules"]}
    except client.exceptions.ResourceNotFoundException:
        return set()


# --- a target the config no longer names is given back --------------------------------------------


def test_a_table_taken_off_the_list_mid_pause_gets_its_setting_back_at_the_next_run(
    world, tmp_path, clock, capsys
):
    add_table(world, "orders", indexes=["by-date"])
    add_table(world, "users")
    world.create_service(desired=3)
    tool = Pauser(world, tmp_path, clock, DYNAMODB_TABLES="orders,users")
    world.start_cluster("nightly-backup-a")
    assert tool.run(minutes=0) == 0
    assert suspension(world, "table/orders ReadCapacityUnits") == SUSPENDED
    capsys.readouterr()
    assert tool.run(minutes=1, DYNAMODB_TABLES="users") == 0  # the backup still runs
    given = [line for line in logged(capsys, "INFO") if line.startswith("gave back")]
    for target in ("table/orders", "table/orders/index/by-date"):
        for side in ("ReadCapacityUnits", "WriteCapacityUnits"):
            assert suspension(world, f"{target} {side}") == SCALING, target
    assert suspension(world, "table/users ReadCapacityUnits") == SUSPENDED
    assert world.desired() == 0
    assert len(given) == 4 and all("the config no longer names it" in line for line in given)
    assert "gave back table/orders read suspended → scaling" in "\n".join(given)
    assert not [k for k in tool.state["saved"] if "/table/orders" in k], "the record lets go"
    assert "orders" not in tool.state["holds"]


def test_a_table_taken_off_and_deleted_is_forgotten_with_a_line(world, tmp_path, clock, capsys):
    add_table(world, "orders")
    add_table(world, "users")
    world.create_service(desired=3)
    tool = Pauser(world, tmp_path, clock, DYNAMODB_TABLES="orders,users")
    world.start_cluster("nightly-backup-a")
    assert tool.run(minutes=0) == 0
    for side in ("ReadCapacityUnits", "WriteCapacityUnits"):
        world.aas.deregister_scalable_target(
            ServiceNamespace="dynamodb",
            ResourceId="table/orders",
            ScalableDimension=f"dynamodb:table:{side}",
        )
    capsys.readouterr()
    assert tool.run(minutes=1, DYNAMODB_TABLES="users") == 0
    [line] = [line for line in logged(capsys, "INFO") if line.startswith("forgot")]
    assert "2 targets AWS no longer has" in line
    assert not [k for k in tool.state["saved"] if "/table/orders" in k]


def test_the_ecs_service_taken_off_a_named_pauser_gets_its_count_back(world, tmp_path, clock):
    add_table(world, "orders")
    world.create_service(desired=3)
    tool = Pauser(world, tmp_path, clock, DYNAMODB_TABLES="orders", PAUSER_NAME="nightly")
    world.start_cluster("nightly-backup-a")
    assert tool.run(minutes=0) == 0 and world.desired() == 0
    assert tool.run(minutes=1, AUTOSCALER_CLUSTER=None, AUTOSCALER_SERVICE=None) == 0
    assert world.desired() == 3 and SAVED_COUNT_TAG not in world.tags()
    assert suspension(world, "table/orders ReadCapacityUnits") == SUSPENDED


def test_reads_only_leave_every_write_target_unwritten(world, tmp_path, clock):
    add_table(world, "orders", indexes=["by-date"])
    world.create_service(desired=3)
    tool = Pauser(world, tmp_path, clock, DYNAMODB_TABLES="orders", DYNAMODB_DIMENSIONS="read")
    world.start_cluster("nightly-backup-a")
    world.calls.clear()
    assert tool.run(minutes=0) == 0
    assert world.calls["RegisterScalableTarget"] == 2
    for target in ("table/orders", "table/orders/index/by-date"):
        assert suspension(world, f"{target} ReadCapacityUnits") == SUSPENDED
        assert suspension(world, f"{target} WriteCapacityUnits") == SCALING
    assert all(key.endswith(":read") for key in tool.state["saved"] if "dynamodb" in key)


# --- the failsafe follows its setting ----------------------------------------------------------


@pytest.fixture
def guarded(world, tmp_path, clock):
    world.create_service(desired=3)
    add_table(world, "orders")
    tool = Pauser(
        world,
        tmp_path,
        clock,
        DYNAMODB_TABLES="orders",
        FAILSAFE_MINUTES="30",
        FAILSAFE_ROLE_ARN=ROLE,
    )
    world.start_cluster("nightly-backup-a")
    assert tool.run(minutes=0) == 0
    assert len(schedules(world)) == 3
    return tool


def test_the_failsafe_turned_off_mid_pause_removes_its_schedules(world, guarded):
    assert guarded.run(minutes=1, FAILSAFE_MINUTES="0") == 0
    assert schedules(world) == set() and guarded.state["schedules"] == {}
    assert world.desired() == 0, "the pause goes on"


def deny_deletes(world, monkeypatch):
    """DeleteSchedule refused, as when the failsafe's permissions were taken away with it."""
    from botocore.client import BaseClient

    real = BaseClient._make_api_call

    def refuse(client, operation, params):
        if operation == "DeleteSchedule":
            error = {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}
            raise ClientError(error, operation)
        return real(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", refuse)


def test_a_schedule_that_cannot_be_removed_is_one_warning_until_its_time_has_passed(
    world, guarded, monkeypatch, capsys
):
    deny_deletes(world, monkeypatch)
    capsys.readouterr()
    assert guarded.run(minutes=1, FAILSAFE_MINUTES="0") == 0, "never a failing run"
    [warning] = logged(capsys, "WARNING")
    assert warning.startswith("could not remove 3 failsafe schedules, kept in the pause record")
    assert "due 2026-11-26T01:30:00Z" in warning and "AccessDeniedException" in warning
    assert len(guarded.state["schedules"]) == 3 and guarded.state["warnings"] == [warning]
    assert guarded.run(minutes=31, FAILSAFE_MINUTES="0") == 0  # their time has passed
    assert guarded.state["schedules"] == {} and not guarded.state["warnings"]
    assert logged(capsys, "WARNING") == []


def test_a_new_group_moves_the_schedules_there_in_one_run_and_says_so(world, guarded, capsys):
    capsys.readouterr()
    assert guarded.run(minutes=1, FAILSAFE_GROUP="night-guard") == 0
    assert schedules(world) == set(), "removed from the group they were made in"
    assert len(schedules(world, "night-guard")) == 3, "set in the new group by the same run"
    entries = guarded.state["schedules"].values()
    assert {s["group"] for s in entries} == {"night-guard"}
    assert not any("replaces" in s or s.get("unset") for s in entries)
    assert logged(capsys, "INFO")[-1] == (
        "moved the failsafe of 3 targets from autoscaler-pauser (us-east-1) to night-guard "
        "(us-east-1)"
    )
    assert guarded.run(minutes=2, FAILSAFE_GROUP="night-guard") == 0
    assert not [line for line in logged(capsys, "INFO") if "moved the failsafe" in line]


def test_a_move_whose_old_schedules_cannot_be_removed_keeps_them_recorded_until_they_are(
    world, guarded, monkeypatch, capsys
):
    with monkeypatch.context() as denied:
        deny_deletes(world, denied)
        capsys.readouterr()
        assert guarded.run(minutes=1, FAILSAFE_GROUP="night-guard") == 1
        errors = logged(capsys, "ERROR")
        assert len(errors) == 3 and errors[0].startswith("could not move the failsafe of ")
        assert " from autoscaler-pauser (us-east-1) to night-guard (us-east-1): " in errors[0]
        assert "DeleteSchedule failed: AccessDeniedException" in errors[0]
        assert len(schedules(world, "night-guard")) == 3, "the new ones are set all the same"
        entries = guarded.state["schedules"].values()
        assert all(s["replaces"][0]["group"] == "autoscaler-pauser" for s in entries)
    assert guarded.run(minutes=2, FAILSAFE_GROUP="night-guard") == 0  # deletes allowed again
    assert schedules(world) == set() and len(schedules(world, "night-guard")) == 3
    assert not any("replaces" in s for s in guarded.state["schedules"].values())
    assert "moved the failsafe of 3 targets" in logged(capsys, "INFO")[-1]


# --- a record says whose it is ----------------------------------------------------------------


def test_a_second_pauser_on_the_same_state_file_stops_before_any_aws_call(
    world, tmp_path, clock, capsys
):
    add_table(world, "orders")
    world.create_service(desired=3)
    first = Pauser(world, tmp_path, clock)
    world.start_cluster("nightly-backup-a")
    assert first.run(minutes=0) == 0 and world.desired() == 0
    world.calls.clear()
    other = {"AUTOSCALER_SERVICE": "other-scaler"}
    assert first.run(minutes=1, **other) == 2
    assert world.calls == {}, "no AWS call"
    err = capsys.readouterr().err
    assert "holds the pause record of the pauser 'ecs:us-east-1/autoscaler/ddb-scaler'" in err
    assert "this config is the pauser 'ecs:us-east-1/autoscaler/other-scaler'" in err
    assert "give each pauser its own state_file" in err
    assert first.run("check-config", **other) == 2, "check-config says the same"


# --- values read back are inputs ------------------------------------------------------------------


def edit_saved(tool: Pauser, value) -> None:
    path = tool.folder / "state" / "state.json"
    data = json.loads(path.read_text())
    [target] = data["pause"]["scopes"]["*"]["targets"].values()
    target["saved"] = value
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("value", [-3, 99999999999, 0, "3", [True, True, True]])
def test_an_edited_saved_count_is_never_sent(world, tmp_path, clock, capsys, value):
    world.create_service(desired=3)
    tool = Pauser(world, tmp_path, clock)
    cluster = world.start_cluster("nightly-backup-a")
    assert tool.run(minutes=0) == 0
    edit_saved(tool, value)
    world.ecs.untag_resource(resourceArn=world.describe()["serviceArn"], tagKeys=[SAVED_COUNT_TAG])
    world.stop_cluster(cluster)
    capsys.readouterr()
    assert tool.run(minutes=1) == 0
    assert world.desired() == 1, "neither the edited count nor the lost tag: resume_count"
    [warning, *_] = logged(capsys, "WARNING")
    assert warning.startswith(
        "ignored the saved setting of ecs:us-east-1/autoscaler/ddb-scaler in state file "
    ), warning
    assert f": {value!r} is not a setting it can have" in warning


def test_an_edited_saved_count_gives_way_to_the_tag(world, tmp_path, clock):
    world.create_service(desired=3)
    tool = Pauser(world, tmp_path, clock)
    cluster = world.start_cluster("nightly-backup-a")
    assert tool.run(minutes=0) == 0
    edit_saved(tool, -3)
    world.stop_cluster(cluster)
    assert tool.run(minutes=1) == 0 and world.desired() == 3


# --- one clock: AWS's ---------------------------------------------------------------------------


def test_a_host_whose_clock_is_ahead_goes_by_aws_s_and_says_so(world, tmp_path, capsys):
    """moto answers with the real time; this host's clock is 90 s ahead of it."""
    from datetime import datetime, timezone

    world.create_service(desired=3)
    table = world.create_state_table()
    ahead = Clock(datetime.now(timezone.utc) + timedelta(seconds=90))

    def clients(config, session=None):
        return world.clients(config, session, dates=True)

    env = base_env(tmp_path, STATE_TABLE=table)
    world.start_cluster("nightly-backup-a")
    capsys.readouterr()
    assert main([], environ=env, aws_factory=clients, now=ahead) == 0
    [warning] = logged(capsys, "WARNING")
    seconds = int(warning.removeprefix("this host's clock is ").split(" s ahead of AWS's")[0])
    assert 88 <= seconds <= 92, warning
    paused_at = read_state(tmp_path / "state" / "state.json")["paused_at"]
    real = datetime.now(timezone.utc)
    began = datetime.strptime(paused_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert abs((real - began).total_seconds()) < 10, "the pause began by AWS's clock"


# --- nothing set is unrecorded --------------------------------------------------------------------


def test_a_lost_record_write_leaves_no_schedule_behind(world, tmp_path, clock, monkeypatch, capsys):
    """The pause's last write to state_table is throttled out after its schedules were set: they
    were recorded before they were made, so the resume finds them all and removes them."""
    from botocore.client import BaseClient

    world.create_service(desired=3)
    add_table(world, "orders")
    table = world.create_state_table()
    tool = Pauser(
        world,
        tmp_path,
        clock,
        DYNAMODB_TABLES="orders",
        STATE_TABLE=table,
        FAILSAFE_MINUTES="30",
        FAILSAFE_ROLE_ARN=ROLE,
    )
    real = BaseClient._make_api_call
    refused = []

    def throttle_the_last_write(client, operation, params):
        expression = params.get("UpdateExpression", "")
        if (
            operation == "UpdateItem"
            and "#record" in expression
            and "REMOVE lease_holder" in expression
        ):
            refused.append(operation)
            error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
            raise ClientError(error, operation)
        return real(client, operation, params)

    cluster = world.start_cluster("nightly-backup-a")
    with monkeypatch.context() as m:
        m.setattr(BaseClient, "_make_api_call", throttle_the_last_write)
        assert tool.run(minutes=0) == 1
    assert refused and len(schedules(world)) == 3
    assert "the pause record was not written: UpdateItem failed: ThrottlingException" in (
        capsys.readouterr().err
    )
    world.stop_cluster(cluster)
    assert tool.run(minutes=1) == 0
    assert schedules(world) == set(), "every schedule was in the record: none outlives the night"
    assert world.desired() == 3
