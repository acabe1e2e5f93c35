"""Every kind of autoscaler in one night against moto server, as cron runs the command on two
hosts that share state_table, with the failsafe on: the ECS service, the tables' native auto
scaling, an EventBridge schedule rule and an Auto Scaling group pause together and each returns
to exactly its setting; each failsafe schedule, fired as Scheduler would, restores its target."""

from __future__ import annotations

import json

import botocore.session
import pytest

from tests.support.contract import check_request
from tests.support.tool import base_env, run_tool
from tests.support.world import SCALING, SUSPENDED, add_table, targets

pytestmark = pytest.mark.slow

ROLE = "arn:aws:iam::123456789012:role/autoscaler-pauser-failsafe"
GROUP, RULE, ASG = "autoscaler-pauser", "scaler-tick", "dynamic-dynamodb"
# The SDKs' names of services, as a Scheduler universal target has them, and botocore's.
BOTOCORE = {"applicationautoscaling": "application-autoscaling", "eventbridge": "events"}


@pytest.fixture
def hosts(server_world, tmp_path):
    w = server_world
    w.create_service(desired=3)
    add_table(w, "orders", indexes=["by-date"])
    w.create_rule(RULE)
    w.create_rule("off-before")  # disabled by a person in the evening, before the backups
    w.create_group(ASG, low=1, high=2, desired=1)
    table = w.create_state_table()
    env = {}
    for host in ("a", "b"):
        env[host] = base_env(
            tmp_path / host,
            AWS_ENDPOINT_URL=w.kw["endpoint_url"],
            DYNAMODB_TABLES="orders",
            EVENTBRIDGE_RULES=f"{RULE},off-before",
            AUTOSCALING_GROUPS=ASG,
            STATE_TABLE=table,
            FAILSAFE_MINUTES="30",
            FAILSAFE_ROLE_ARN=ROLE,
        )
    return w, env


def ok(env) -> str:
    r = run_tool([], env)
    assert r.returncode == 0, r.stderr
    return r.stderr


def world_now(w) -> dict:
    return {
        "service": w.desired(),
        "rules": (w.rule_state(RULE), w.rule_state("off-before")),
        "group": w.group(ASG),
        "tables": {key: flags for key, (flags, _, _) in targets(w).items()},
    }


def schedules(w) -> list[dict]:
    client = w.scheduler()
    try:
        found = client.list_schedules(GroupName=GROUP)["Schedules"]
    except client.exceptions.ResourceNotFoundException:
        return []
    return [client.get_schedule(Name=s["Name"], GroupName=GROUP) for s in found]


def fire(w, schedule: dict) -> None:
    """What Scheduler does when a schedule is due: its universal target's call, with its Input
    (which the operation's model must take), then the schedule deleted."""
    service, action = schedule["Target"]["Arn"].split(":")[-2:]
    request = json.loads(schedule["Target"]["Input"])
    model = botocore.session.get_session().get_service_model(BOTOCORE.get(service, service))
    operation = model.operation_model(action[0].upper() + action[1:])
    by_lower = {name.lower(): name for name in operation.input_shape.members}
    named = {by_lower[k.lower()]: v for k, v in request.items()}
    assert check_request(operation, named) == [], schedule["Name"]
    client = {
        "ecs": w.ecs,
        "applicationautoscaling": w.aas,
        "eventbridge": w.events,
        "autoscaling": w.autoscaling,
    }[service]
    if service == "ecs":  # boto3 names ECS's members as its model does: lower camel case
        named = {k[0].lower() + k[1:]: v for k, v in named.items()}
    getattr(client, operation.name[0].lower() + _snake(operation.name[1:]))(**named)
    w.scheduler().delete_schedule(Name=schedule["Name"], GroupName=GROUP)


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def test_every_kind_pauses_and_resumes_to_exactly_its_setting_across_two_hosts(hosts):
    w, env = hosts
    ok(env["a"])  # the evening: nothing runs
    w.events.disable_rule(Name="off-before")
    ok(env["b"])
    before = world_now(w)
    assert before["rules"] == ("ENABLED", "DISABLED") and before["group"] == (1, 2, 1)
    cid = w.start_cluster("nightly-backup-orders")
    ok(env["a"])  # the pause
    paused = world_now(w)
    assert paused["service"] == 0 and paused["rules"] == ("DISABLED", "DISABLED")
    assert paused["group"] == (0, 2, 0)
    assert all(flags == SUSPENDED for flags in paused["tables"].values())
    armed = schedules(w)
    restores = sorted(s["Target"]["Arn"].split(":")[-2] for s in armed)
    assert restores == ["applicationautoscaling"] * 4 + ["autoscaling", "ecs", "eventbridge"], (
        "a schedule for each target with a setting to restore, none for a rule off before"
    )
    w.events.enable_rule(Name=RULE)  # enabled by hand during the backup
    ok(env["b"])  # the other host: paused again, nothing else written
    assert w.rule_state(RULE) == "DISABLED" and world_now(w)["group"] == (0, 2, 0)
    w.stop_cluster(cid)
    ok(env["b"])  # the resume, by the host that did not pause
    assert world_now(w) == before
    assert schedules(w) == []


def test_each_kind_s_failsafe_schedule_fired_restores_its_target(hosts):
    w, env = hosts
    ok(env["a"])
    w.events.disable_rule(Name="off-before")
    before = world_now(w)
    w.start_cluster("nightly-backup-orders")
    ok(env["a"])
    armed = schedules(w)
    assert armed, "the pause left schedules"
    for schedule in armed:  # the pauser died: every schedule fires
        fire(w, schedule)
    assert world_now(w) == before
    assert all(flags == SCALING for flags in before["tables"].values())
