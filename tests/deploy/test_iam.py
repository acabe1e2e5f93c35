"""iam-policy.json against what the tool calls: every AWS operation of a run is allowed by the
policy, and the policy allows nothing a run does not call."""

from __future__ import annotations

import ast
import fnmatch
import functools
import json

import pytest
from botocore.client import BaseClient

from autoscaler_pauser.aws import make_clients
from autoscaler_pauser.cli import main
from autoscaler_pauser.config import Config
from tests.support.tool import ROOT, base_env
from tests.support.world import REGION

POLICY = json.loads((ROOT / "iam-policy.json").read_text())

# botocore service name → IAM action prefix. A client for another service fails the test
# until its prefix is added here (and its actions to iam-policy.json).
IAM_PREFIX = {
    "emr": "elasticmapreduce",
    "ecs": "ecs",
    "application-autoscaling": "application-autoscaling",
    "dynamodb": "dynamodb",
    "cloudwatch": "cloudwatch",
}

# Actions the policy grants on "*": IAM cannot limit them to the tool's resources (scalable
# targets have no ARN before 2023, alarms are named by Application Auto Scaling).
UNSCOPED = {
    "elasticmapreduce:ListClusters",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:RegisterScalableTarget",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:PutMetricAlarm",
    "cloudwatch:DeleteAlarms",
}

# Application Auto Scaling checks that whoever calls RegisterScalableTarget may also act on the
# target and its alarms, so the caller needs these too although the tool never calls them.
IMPLIED = {
    "application-autoscaling:RegisterScalableTarget": {
        "dynamodb:DescribeTable",
        "dynamodb:UpdateTable",
        "ecs:DescribeServices",
        "ecs:UpdateService",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:DeleteAlarms",
    }
}


def iam_action(service: str, operation: str) -> str:
    assert service in IAM_PREFIX, f"the tool calls {service}: add its IAM prefix to IAM_PREFIX"
    return f"{IAM_PREFIX[service]}:{operation}"


def statements() -> list[dict]:
    return [s for s in POLICY["Statement"] if s["Effect"] == "Allow"]


def as_list(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def allowed(action: str) -> list[dict]:
    """The statements that allow the action (IAM matches actions case-insensitively)."""
    return [
        s
        for s in statements()
        if any(fnmatch.fnmatch(action.lower(), a.lower()) for a in as_list(s["Action"]))
    ]


def policy_actions() -> set[str]:
    return {a for s in statements() for a in as_list(s["Action"])}


@pytest.fixture
def recorded(world, tmp_path, monkeypatch):
    """Runs main() through a backup night and more; returns every (service, operation) the
    tool's clients sent, whatever client made them. Setup calls of the test are not counted."""
    calls: set[tuple[str, str]] = set()
    real_call = BaseClient._make_api_call

    def spy(client, operation, params):
        calls.add((client.meta.service_model.service_name, operation))
        return real_call(client, operation, params)

    def run(*args, **env):
        with monkeypatch.context() as m:
            m.setattr(BaseClient, "_make_api_call", spy)
            return main(list(args), environ=base_env(tmp_path, **env))

    world.create_service(desired=3)
    for dim in ("ReadCapacityUnits", "WriteCapacityUnits"):
        world.aas.register_scalable_target(
            ServiceNamespace="dynamodb",
            ResourceId="table/orders",
            ScalableDimension=f"dynamodb:table:{dim}",
            MinCapacity=5,
            MaxCapacity=50,
        )
    world.aas.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=f"service/{world.cluster}/{world.service}",
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=1,
        MaxCapacity=5,
    )
    assert run(DYNAMODB_TABLES="orders") == 0  # both targets: suspended, then restored
    cid = world.start_cluster("nightly-backup-0")
    assert run(DYNAMODB_TABLES="orders") == 0 and world.desired() == 0
    world.stop_cluster(cid)
    assert run(DYNAMODB_TABLES="orders") == 0 and world.desired() == 3
    assert run() == 0  # steady, running
    cid = world.start_cluster("nightly-backup-a")
    assert run("--dry-run") == 0
    assert run() == 0 and world.desired() == 0  # pause
    assert run() == 0  # steady, paused
    world.set_desired(5)
    assert run() == 0 and world.desired() == 0  # lifted during the backup: paused again
    world.stop_cluster(cid)
    assert run() == 0 and world.desired() == 3  # resume
    cid = world.start_cluster("nightly-backup-b")
    assert run() == 0
    world.stop_cluster(cid)
    world.set_desired(2)
    assert run() == 0 and world.desired() == 2  # resumed by hand: leftover tag cleared
    world.set_desired(0)
    assert run(RESUME_COUNT="4") == 0 and world.desired() == 4  # nothing saved: resume_count
    assert run("status") == 0
    return calls


@functools.cache
def called_in_source() -> frozenset[tuple[str, str]]:
    """Every client method the package calls on a client by the names it gives them
    (self.ecs.x(...), emr.get_paginator("x"), aas.x(...)), also those no scenario reaches."""
    aws = make_clients(Config(("p-",), REGION, "c", REGION, "s"))
    clients = {
        "emr": aws.emr,
        "ecs": aws.client("ecs", REGION),
        "aas": aws.client("application-autoscaling", REGION),
    }
    found = set()
    trees = [ast.parse(f.read_text()) for f in sorted((ROOT / "autoscaler_pauser").rglob("*.py"))]
    for node in (node for tree in trees for node in ast.walk(tree)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        receiver = node.func.value
        name = getattr(receiver, "attr", None) or getattr(receiver, "id", None)
        if name not in clients:
            continue
        method = node.func.attr
        if method == "get_paginator" and isinstance(node.args[0], ast.Constant):
            method = node.args[0].value
        mapping = clients[name].meta.method_to_api_mapping
        if method in mapping:
            found.add((clients[name].meta.service_model.service_name, mapping[method]))
    return frozenset(found)


def test_scenarios_reach_every_operation_the_source_calls(recorded):
    source = called_in_source()
    assert source, "no client call found in autoscaler_pauser: the source scan is broken"
    assert source <= recorded, f"no scenario here makes {sorted(source - recorded)}: add one"


def test_policy_allows_exactly_the_operations_runs_make(recorded):
    used = {iam_action(*call) for call in recorded | called_in_source()}
    used |= {implied for action in used for implied in IMPLIED.get(action, ())}
    missing = sorted(a for a in used if not allowed(a))
    assert not missing, f"iam-policy.json does not allow {missing}"
    unused = sorted(a for a in policy_actions() if not any(fnmatch.fnmatch(u, a) for u in used))
    assert not unused, f"iam-policy.json allows {unused}, which no run calls: remove them"
    assert not any("*" in a for a in policy_actions()), "no wildcard actions"


def test_only_unscopable_actions_are_granted_on_every_resource():
    for s in statements():
        if "*" in as_list(s["Resource"]):
            assert set(as_list(s["Action"])) <= UNSCOPED, s["Sid"]


def test_service_statement_names_the_autoscaler_service_arn(world):
    arn = world.create_service()
    account = arn.split(":")[4]
    ecs = allowed("ecs:UpdateService")
    ecs = [s for s in ecs if "*" not in as_list(s["Resource"])]
    assert len(ecs) == 1
    resources = [
        r.replace("REGION", REGION)
        .replace("ACCOUNT_ID", account)
        .replace("CLUSTER", world.cluster)
        .replace("SERVICE", world.service)
        for r in as_list(ecs[0]["Resource"])
    ]
    assert resources == [arn]
