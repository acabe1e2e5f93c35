"""The failsafe's schedules over a night with an injected clock: made at the pause, left alone
while more than half their time is ahead, moved when less is, removed at the resume; one
schedule group, looked up and made only when missing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from autoscaler_pauser.cli import main
from tests.support.clock import Clock
from tests.support.state import read as read_state
from tests.support.tool import base_env
from tests.support.world import add_table

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=timezone.utc)
ROLE = "arn:aws:iam::123456789012:role/failsafe"
SCHEDULER = {"GetScheduleGroup", "CreateScheduleGroup", "CreateSchedule", "UpdateSchedule"}
SCHEDULER |= {"DeleteSchedule"}


@pytest.fixture
def night(world, tmp_path):
    world.create_service(desired=3)
    add_table(world, "orders")
    clock = Clock()
    env = base_env(
        tmp_path, DYNAMODB_TABLES="orders", FAILSAFE_MINUTES="30", FAILSAFE_ROLE_ARN=ROLE
    )

    def run(minutes: float) -> dict:
        """A run `minutes` after T0: the Scheduler calls it made."""
        clock.now = T0 + timedelta(minutes=minutes)
        world.calls.clear()
        assert main([], environ=env, aws_factory=world.clients, now=clock) == 0
        return {name: n for name, n in world.calls.items() if name in SCHEDULER}

    return run


def test_schedules_move_only_when_less_than_half_their_time_is_left(world, night):
    assert night(0) == {}
    cluster = world.start_cluster("nightly-backup-users")
    assert night(1) == {"GetScheduleGroup": 1, "CreateScheduleGroup": 1, "CreateSchedule": 3}
    due = {s["Name"]: s["ScheduleExpression"] for s in schedules(world)}
    assert set(due.values()) == {"at(2026-11-26T01:31:00)"}
    assert night(2) == {} and night(15) == {}, "more than half of 30 minutes left: left alone"
    assert night(16.5) == {"GetScheduleGroup": 1, "UpdateSchedule": 3}
    assert {s["ScheduleExpression"] for s in schedules(world)} == {"at(2026-11-26T01:46:30)"}
    assert night(20) == {}
    world.stop_cluster(cluster)
    assert night(21) == {"DeleteSchedule": 3}
    assert schedules(world) == [] and night(22) == {}


def test_a_group_that_is_there_is_used_as_it_is(world, night):
    """Making a group that is there would replace it, and drop its schedules."""
    world.scheduler().create_schedule_group(Name="autoscaler-pauser")
    world.start_cluster("nightly-backup-users")
    assert night(1) == {"GetScheduleGroup": 1, "CreateSchedule": 3}
    assert len(schedules(world)) == 3


def schedules(world) -> list[dict]:
    client = world.scheduler()
    found = client.list_schedules(GroupName="autoscaler-pauser")["Schedules"]
    return [client.get_schedule(Name=s["Name"], GroupName="autoscaler-pauser") for s in found]


def run_without_time(world, env, clock) -> int:
    """A run whose time for writes is spent before its first write: every write is left for
    the next run (run_once's budget of 0 seconds)."""
    from autoscaler_pauser.config import load_config
    from autoscaler_pauser.run import run_once
    from autoscaler_pauser.state_file import check_files

    config = load_config(None, env)
    check_files(config)
    return run_once(config, world.clients(config), clock, False, "host:1", budget=0)


def recorded(tmp_path) -> dict:
    return read_state(tmp_path / "state" / "state.json")["schedules"]


def test_schedules_left_for_the_next_run_stay_recorded_until_they_are_set_or_removed(
    world, tmp_path
):
    world.create_service(desired=3)
    add_table(world, "orders")
    clock = Clock()
    env = base_env(
        tmp_path, DYNAMODB_TABLES="orders", FAILSAFE_MINUTES="30", FAILSAFE_ROLE_ARN=ROLE
    )
    cluster = world.start_cluster("nightly-backup-users")
    assert run_without_time(world, env, clock) == 0
    assert schedules(world) == [] and len(recorded(tmp_path)) == 3
    assert all(s["unset"] for s in recorded(tmp_path).values()), "recorded before they are set"
    assert main([], environ=env, aws_factory=world.clients, now=clock) == 0
    assert len(schedules(world)) == 3 and not any(
        s.get("unset") for s in recorded(tmp_path).values()
    )
    world.stop_cluster(cluster)
    clock.advance(minutes=1)
    assert run_without_time(world, env, clock) == 0
    assert len(schedules(world)) == 3 and len(recorded(tmp_path)) == 3, "left: still recorded"
    assert world.desired() == 0, "and the targets still paused"
    clock.advance(minutes=1)
    assert main([], environ=env, aws_factory=world.clients, now=clock) == 0
    assert schedules(world) == [] and recorded(tmp_path) == {} and world.desired() == 3
