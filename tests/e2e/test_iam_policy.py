"""The IAM table (docs/iam.md), proved against moto server with IAM enforcement on: for each setup a
whole night (pause, a dry run, a steady run, a count lifted by hand, resume) passes as a user
holding just that row's statements of iam-policy.json, and fails with any one action the tool
calls taken out; and a night with every statement, the clusters, the service, the tables and the
state table each in a region of its own. moto checks actions, not resources: each statement is
widened to `*` (tests/deploy/test_iam.py checks the resources, their regions included, against a
night's requests). The actions Application Auto Scaling needs of the caller to register a target
(DynamoDB's and CloudWatch's) are not checked by moto, so they are not taken out here."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from tests.deploy.test_iam import APART_NIGHT, SETUPS, iam_variants, statements
from tests.support.iam import APART, FAILSAFE_ROLE, IMPLIED
from tests.support.motoserver import MotoServer
from tests.support.tool import base_env, run_tool
from tests.support.world import REGION, SCALING, SUSPENDED, World, add_table, register

pytestmark = pytest.mark.slow

TARGET = "ecs:service:DesiredCount"
# moto checks neither what Application Auto Scaling demands of its caller nor iam:PassRole.
NOT_CHECKED = {action for actions in IMPLIED.values() for action in actions} - {
    "ecs:DescribeServices",
    "ecs:UpdateService",
}
# A pause record over several items is read with BatchGetItem and written in a transaction (its
# items PutItem and DeleteItem); a night's record here fits one item. The nights of
# tests/deploy/test_iam.py spread the record over items and check these against the policy.
MULTI_ITEM = {"dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"}


@pytest.fixture(scope="module")
def server():
    """A moto server of its own: IAM enforcement holds for all its callers."""
    server = MotoServer()
    yield server
    server.stop()


def iam_user(iam, name: str, policy: dict) -> dict[str, str]:
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName=name, PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
    }


def policy(sids: list[str], without: str | None = None) -> dict:
    """The statements of iam-policy.json named, on every resource, one action left out."""
    chosen = []
    for s in statements():
        if s["Sid"] not in sids:
            continue
        actions = [a for a in s["Action"] if a != without]
        if actions:
            chosen.append({**s, "Action": actions, "Resource": "*"})
    # IAM takes no policy without a statement: one that allows nothing the tool calls.
    nothing = {"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}
    return {"Version": "2012-10-17", "Statement": chosen or [nothing]}


# Where the clusters, the service, the tables and the state table are: by the config key of
# their region.
PLACES = ("EMR_REGION", "AUTOSCALER_REGION", "DYNAMODB_REGION", "STATE_TABLE_REGION")


def worlds(server, regions: dict[str, str], keys: dict[str, str] | None = None) -> dict:
    """The account in the region of each place (`regions`, else the one region)."""
    return {k: World(server.url, keys, regions.get(k, REGION)) for k in PLACES}


def world_for(server, setup: dict, sids: list[str], without: str | None = None, regions=None):
    """A fresh account: the autoscaler service (and tables), an admin for the test's own calls,
    and the tool's user with the statements named; IAM enforced from then on. The admin's
    view of each place, as `worlds` gives it, and the user's keys."""
    server.reset()
    server.enforce_iam_after("inf")
    at = worlds(server, regions or {})
    service = at["AUTOSCALER_REGION"]
    service.create_service(desired=3)
    if setup["tables"]:
        add_table(at["DYNAMODB_REGION"], "orders", indexes=["by-date"])
    if setup["own_target"]:
        register(service, f"service/{service.cluster}/{service.service}", TARGET, namespace="ecs")
    if setup.get("state_table"):
        at["STATE_TABLE_REGION"].create_state_table()
    if setup.get("rules"):
        service.create_rule("scaler-tick")
    if setup.get("groups"):
        service.create_group("dynamic-dynamodb")
    if setup.get("events"):  # a bus named: in the service's region
        service.events.create_event_bus(Name="on-call")
    iam = boto3.client("iam", region_name=REGION, endpoint_url=server.url)
    admin = iam_user(
        iam,
        "admin",
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        },
    )
    tool = iam_user(iam, "pauser", policy(sids, without))
    server.enforce_iam_after(0)
    return worlds(server, regions or {}, admin), tool


def suspensions(w: World, namespace: str) -> list[dict]:
    found = w.aas.describe_scalable_targets(ServiceNamespace=namespace)["ScalableTargets"]
    return [{**SCALING, **t.get("SuspendedState", {})} for t in found]


def night(at: dict[str, World], env: dict[str, str], setup: dict) -> str | None:
    """A night of runs in the places `at` (world_for); None when each run exits 0 and leaves AWS
    as it should, else what went wrong first."""
    service, tables = at["AUTOSCALER_REGION"], at["DYNAMODB_REGION"]

    def settled(paused: bool) -> str | None:
        flags = SUSPENDED if paused else SCALING
        if setup["ecs"] and service.desired() != (0 if paused else 3):
            return f"the service is at {service.desired()}"
        if setup["own_target"] and suspensions(service, "ecs") != [flags]:
            return f"the service's scaling target is {suspensions(service, 'ecs')}"
        if setup["tables"] and any(s != flags for s in suspensions(tables, "dynamodb")):
            return "a table's scaling is not as it should be"
        if setup.get("rules") and service.rule_state("scaler-tick") != (
            "DISABLED" if paused else "ENABLED"
        ):
            return f"the rule is {service.rule_state('scaler-tick')}"
        if setup.get("groups") and service.group("dynamic-dynamodb") != (
            (0, 2, 0) if paused else (1, 2, 1)
        ):
            return f"the group is at {service.group('dynamic-dynamodb')}"
        if setup.get("failsafe"):
            # Each target's schedule in its target's region.
            for w, kind in ((service, "ecs"), (tables, "tables")):
                made = w.scheduler().list_schedules()["Schedules"]
                if setup[kind] and paused != bool(made):
                    return f"{len(made)} failsafe schedules are there for the {kind}"
        return None

    def run(step: str, paused: bool, *args: str) -> str | None:
        r = run_tool(list(args), env)
        if r.returncode != 0:
            return f"{step}: exit {r.returncode}: {r.stderr.strip()}"
        # A run that goes on without what it was denied says so in a WARNING: a cluster whose
        # tags are denied holds every table; an event it could not tell is not told.
        marks = ("its tags were not read", "could not tell events_bus")
        unread = [line for line in r.stderr.splitlines() if any(m in line for m in marks)]
        if unread:
            return f"{step}: {unread[0]}"
        wrong = settled(paused)
        return f"{step}: {wrong}" if wrong else None

    steps = [
        ("no backup", False, None),
        ("backup starts", True, "start"),
        ("a dry run", True, "--dry-run"),
        ("steady", True, None),
    ]
    if setup["ecs"]:
        steps.append(("lifted by hand", True, "lift"))
    steps.append(("backup over", False, "stop"))
    cluster = None
    for step, paused, change in steps:
        if change == "start":
            cluster = at["EMR_REGION"].start_cluster(
                "nightly-backup-users", tags={"backup-tables": "orders"}
            )
        elif change == "lift":
            service.set_desired(5)
        elif change == "stop":
            at["EMR_REGION"].stop_cluster(cluster)
        wrong = run(step, paused, *([change] if change == "--dry-run" else []))
        if wrong:
            return wrong
    return None


def tool_actions(sids: list[str]) -> list[str]:
    """The actions of the statements that the tool itself calls."""
    chosen = [s for s in statements() if s["Sid"] in sids]
    return [a for s in chosen for a in s["Action"] if a not in NOT_CHECKED | MULTI_ITEM]


def env_of(
    setup: dict, tmp_path: Path, server, keys: dict[str, str], regions=None
) -> dict[str, str]:
    env = base_env(tmp_path, AWS_ENDPOINT_URL=server.url, **keys, **(regions or {}))
    if setup["tables"]:
        env["DYNAMODB_TABLES"] = "orders"
    if not setup["ecs"]:
        del env["AUTOSCALER_CLUSTER"], env["AUTOSCALER_SERVICE"]
    if setup.get("state_table"):
        env["STATE_TABLE"] = "autoscaler-pauser"
    if setup.get("failsafe"):
        env["FAILSAFE_MINUTES"] = "30"
        env["FAILSAFE_ROLE_ARN"] = FAILSAFE_ROLE
    if setup.get("tagged"):
        env["CLUSTER_TABLES_TAG"] = "backup-tables"
    if setup.get("rules"):
        env["EVENTBRIDGE_RULES"] = "scaler-tick"
    if setup.get("groups"):
        env["AUTOSCALING_GROUPS"] = "dynamic-dynamodb"
    if setup.get("events"):
        env["EVENTS_BUS"] = "on-call"
    return env


# moto server answers every Auto Scaling request of an IAM user with SignatureDoesNotMatch once
# IAM is enforced, whatever the policy: this row's statements are checked against a night in
# process instead (tests/deploy/test_iam.py), resources and regions included.
ENFORCED = [name for name in SETUPS if name != "Auto Scaling groups"]


@pytest.mark.parametrize("name", ENFORCED)
def test_a_night_passes_with_exactly_the_statements_the_docs_name(server, tmp_path, name):
    setup, sids = SETUPS[name], iam_variants()[name]
    at, keys = world_for(server, setup, sids)
    assert night(at, env_of(setup, tmp_path / "whole", server, keys), setup) is None

    for action in tool_actions(sids):
        at, keys = world_for(server, setup, sids, without=action)
        wrong = night(at, env_of(setup, tmp_path / action.replace(":", "-"), server, keys), setup)
        assert wrong is not None, f"{name}: the night passed without {action}"
        print(f"{name}, without {action}: {wrong[:160]}")


def test_a_night_with_each_place_in_a_region_of_its_own_passes_with_the_whole_policy(
    server, tmp_path
):
    """The clusters, the service, the tables and the state table each in a region of its own,
    every feature on: the night passes as a user holding every statement (and fails without
    one the tool calls in the regions apart: here, the state table's)."""
    sids = [s["Sid"] for s in statements()]
    at, keys = world_for(server, APART_NIGHT, sids, regions=APART)
    assert {w.kw["region_name"] for w in at.values()} == set(APART.values())
    env = env_of(APART_NIGHT, tmp_path / "whole", server, keys, APART)
    assert night(at, env, APART_NIGHT) is None

    at, keys = world_for(server, APART_NIGHT, sids, without="dynamodb:GetItem", regions=APART)
    env = env_of(APART_NIGHT, tmp_path / "without", server, keys, APART)
    wrong = night(at, env, APART_NIGHT)
    assert wrong is not None and "GetItem failed: AccessDenied" in wrong, wrong


def test_without_application_auto_scaling_the_service_is_paused_with_a_warning(server, tmp_path):
    """The first row leaves out DescribeScalableTargets: each run that changes the service says
    that its own scaling target was not checked."""
    setup, name = SETUPS["an ECS autoscaler service"], "an ECS autoscaler service"
    at, keys = world_for(server, setup, iam_variants()[name])
    w = at["AUTOSCALER_REGION"]
    env = env_of(setup, tmp_path, server, keys)
    cluster = at["EMR_REGION"].start_cluster("nightly-backup-users")
    r = run_tool([], env)
    assert r.returncode == 0, r.stderr
    assert w.desired() == 0
    [warning] = [line for line in r.stderr.splitlines() if " WARNING " in line]
    assert "ddb-scaler's own scaling target was not checked: DescribeScalableTargets failed: " in (
        warning
    )
    assert "AccessDenied" in warning and "\n" not in warning
    at["EMR_REGION"].stop_cluster(cluster)
    r = run_tool([], env)
    assert r.returncode == 0 and w.desired() == 3, r.stderr


def test_moto_refuses_what_no_statement_allows(server, tmp_path):
    """The control: with IAM enforced, a user holding nothing is refused, so the nights above
    measure the policy."""
    setup = SETUPS["both"]
    at, keys = world_for(server, setup, [])
    r = run_tool([], env_of(setup, tmp_path, server, keys))
    assert r.returncode == 1 and "ListClusters failed: AccessDenied" in r.stderr, r.stderr
    assert at["AUTOSCALER_REGION"].desired() == 3
