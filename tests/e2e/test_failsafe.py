"""The failsafe against moto server: the schedules a pause leaves with EventBridge Scheduler, what
they would do if the pauser died (played here: each schedule's call made as Scheduler would), and
faults of Scheduler itself, which must never stop a pause."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from autoscaler_pauser.targets.ecs import SAVED_COUNT_TAG
from tests.support.contract import schedule_due
from tests.support.proxy import FaultProxy
from tests.support.state import read as read_state
from tests.support.tool import base_env, run_tool
from tests.support.world import WRITE, add_table, fire, register, targets

pytestmark = pytest.mark.slow

ROLE = "arn:aws:iam::123456789012:role/autoscaler-pauser-failsafe"
GROUP = "autoscaler-pauser"
FLAGS = ("DynamicScalingInSuspended", "DynamicScalingOutSuspended", "ScheduledScalingSuspended")
PARTIAL = {**dict.fromkeys(FLAGS, False), "ScheduledScalingSuspended": True}


@pytest.fixture
def world(server_world, fault_proxy, tmp_path):
    w = server_world
    w.create_service(desired=3)
    add_table(w, "orders", indexes=["by-date"])
    register(w, "table/orders", f"dynamodb:table:{WRITE}", PARTIAL)
    w.env = base_env(
        tmp_path,
        AWS_ENDPOINT_URL=fault_proxy.url,
        DYNAMODB_TABLES="orders",
        FAILSAFE_MINUTES="30",
        FAILSAFE_ROLE_ARN=ROLE,
    )
    return w


def schedules(w) -> dict[str, dict]:
    """The group's schedules, by name, as GetSchedule gives them."""
    try:
        found = w.scheduler().list_schedules(GroupName=GROUP)["Schedules"]
    except w.scheduler().exceptions.ResourceNotFoundException:
        return {}
    return {s["Name"]: w.scheduler().get_schedule(Name=s["Name"], GroupName=GROUP) for s in found}


def state(w) -> dict:
    return read_state(w.env["STATE_FILE"])


def flags(w) -> dict[str, dict]:
    return {key: s for key, (s, _, _) in targets(w).items()}


def ok(w, **env) -> str:
    r = run_tool([], {**w.env, **env})
    assert r.returncode == 0, r.stderr
    return r.stderr


def test_a_pause_leaves_one_schedule_per_target_restoring_exactly_its_setting(world):
    w = world
    before = flags(w)
    w.start_cluster("nightly-backup-users")
    started = datetime.now(timezone.utc)
    ok(w)
    found = schedules(w)
    assert len(found) == 5, "the service and four scalable targets"
    inputs = {}
    for s in found.values():
        at = datetime.strptime(s["ScheduleExpression"], "at(%Y-%m-%dT%H:%M:%S)").replace(
            tzinfo=timezone.utc
        )
        assert timedelta(minutes=29) < at - started < timedelta(minutes=31), s["ScheduleExpression"]
        assert s["ScheduleExpressionTimezone"] == "UTC"
        assert s["FlexibleTimeWindow"] == {"Mode": "OFF"}
        assert s["ActionAfterCompletion"] == "DELETE"
        assert s["Target"]["RoleArn"] == ROLE
        assert s["Target"]["RetryPolicy"]["MaximumRetryAttempts"] > 0
        assert len(s["Name"]) <= 64
        action = s["Target"]["Arn"].split(":")[-1]
        inputs.setdefault(action, []).append(json.loads(s["Target"]["Input"]))
    assert inputs["updateService"] == [
        {"Cluster": "autoscaler", "Service": "ddb-scaler", "DesiredCount": 3}
    ]
    restored = {
        f"{i['ResourceId']} {i['ScalableDimension'].split(':')[-1]}": i["SuspendedState"]
        for i in inputs["registerScalableTarget"]
    }
    assert restored == before, "each schedule restores exactly the setting before the pause"
    assert set(state(w)["failsafe"]) == set(state(w)["saved"])


def test_a_resume_removes_the_schedules_and_no_failsafe_calls_nothing(world, fault_proxy):
    w = world
    cluster = w.start_cluster("nightly-backup-users")
    ok(w)
    w.stop_cluster(cluster)
    ok(w)
    assert schedules(w) == {} and state(w)["failsafe"] == {}
    fault_proxy.forget()
    cluster = w.start_cluster("nightly-backup-other")
    ok(w, FAILSAFE_MINUTES="0")
    w.stop_cluster(cluster)
    ok(w, FAILSAFE_MINUTES="0")
    assert [a for a in fault_proxy.calls if "/schedule" in a] == [], "no Scheduler call at all"


def test_a_dead_pauser_s_schedules_restore_everything_and_a_new_one_goes_on(world):
    """Play the dead host: pause, stop running the pauser, fire each schedule. Then a pauser
    comes back, first with the backup still running, then with it over."""
    w = world
    before = flags(w)
    cluster = w.start_cluster("nightly-backup-users")
    ok(w)
    assert w.desired() == 0
    for schedule in schedules(w).values():
        fire(w, schedule)
    assert w.desired() == 3 and flags(w) == before, "the failsafe restored every target"
    assert schedules(w) == {}

    err = ok(w)  # the backup still runs: paused again, with the right settings kept
    assert w.desired() == 0 and all(set(s.values()) == {True} for s in flags(w).values())
    assert w.tags() == {SAVED_COUNT_TAG: "3"} and "paused ddb-scaler 3 → 0" in err
    assert len(schedules(w)) == 5
    for schedule in schedules(w).values():
        fire(w, schedule)
    w.stop_cluster(cluster)
    err = ok(w)  # the backup is over: nothing to change, the records cleared
    assert w.desired() == 3 and flags(w) == before
    assert " resumed " not in err and " paused " not in err
    s = state(w)
    assert s["saved"] == {} and s["failsafe"] == {} and s["paused"] is False
    assert schedules(w) == {}


@pytest.mark.parametrize("kind", ["throttle", "denied"])
def test_scheduler_failing_never_stops_the_pause_and_the_next_run_sets_it(world, fault_proxy, kind):
    w, proxy = world, fault_proxy
    proxy.fail("POST /schedules/", kind)  # CreateSchedule
    w.start_cluster("nightly-backup-users")
    r = run_tool([], w.env)
    assert r.returncode == 1, r.stderr
    assert w.desired() == 0 and all(set(s.values()) == {True} for s in flags(w).values())
    errors = [line for line in r.stderr.splitlines() if " ERROR " in line]
    assert errors and all("could not set the failsafe of " in line for line in errors)
    code = {"throttle": "ThrottlingException", "denied": "AccessDeniedException"}[kind]
    assert f"CreateSchedule failed: {code}" in errors[0]
    s = state(w)
    assert s["last_result"] == "error" and "CreateSchedule failed" in s["last_error"]
    assert s["paused"] is True and set(s["schedules"]) == set(s["saved"])
    assert all(entry["unset"] for entry in s["schedules"].values()), "recorded, not set"
    proxy.heal()
    ok(w)
    assert len(schedules(w)) == 5 and set(state(w)["failsafe"]) == set(state(w)["saved"])
    assert not any(entry.get("unset") for entry in state(w)["schedules"].values())


# Scheduler's REST calls, as the proxy names them: CreateSchedule, UpdateSchedule.
SCHEDULE_WRITES = ("POST /schedules/", "PUT /schedules/")


def test_behind_a_slow_endpoint_no_schedule_is_sent_due_before_it_arrives(
    server_world, moto_server, tmp_path
):
    """The shortest failsafe the config takes with runs a second apart, behind an endpoint that
    adds a second to every call: each CreateSchedule and UpdateSchedule is due after it came."""
    w = server_world
    w.create_service(desired=3)
    add_table(w, "orders", indexes=["by-date"])
    env = base_env(
        tmp_path,
        DYNAMODB_TABLES="orders",
        FAILSAFE_ROLE_ARN=ROLE,
        INTERVAL="1",
        FAILSAFE_MINUTES="0.1",
    )
    refused = run_tool(["check-config"], env)
    assert refused.returncode == 2, refused.stderr
    least = re.search(r"failsafe_minutes: must be at least ([0-9.]+), ", refused.stderr)
    assert least is not None, refused.stderr
    slow = FaultProxy(moto_server.url, delay=1.0)
    try:
        w.env = {**env, "AWS_ENDPOINT_URL": slow.url, "FAILSAFE_MINUTES": least.group(1)}
        w.start_cluster("nightly-backup-users")
        ok(w)  # the pause: each schedule made
        ok(w)  # due within a run and the interval of this run: each moved later
        sent = [
            (at, json.loads(body))
            for action, at, body in slow.arrived
            if action.startswith(SCHEDULE_WRITES)
        ]
        assert slow.errors == []
    finally:
        slow.stop()
    methods = [
        action.split()[0] for action, _, _ in slow.arrived if action.startswith(SCHEDULE_WRITES)
    ]
    assert methods.count("POST") == 5 and methods.count("PUT") == 5, methods
    late = [
        (at.isoformat(), body["ScheduleExpression"])
        for at, body in sent
        if schedule_due(body) <= at
    ]
    assert late == [], "sent with a time already past"
