"""iam-policy.json against what the tool calls: every AWS operation of a run is allowed by the
policy, and the policy allows nothing a run does not call."""

from __future__ import annotations

import fnmatch
import functools
import json
import re

import pytest
from botocore.client import BaseClient
from moto import mock_aws

from autoscaler_pauser import lease
from autoscaler_pauser.cli import main
from tests.support.source_calls import called_in_source
from tests.support.tool import FAKE_CREDENTIALS, ROOT, base_env
from tests.support.world import REGION, World, add_table, register

ECS_TARGET = "ecs:service:DesiredCount"

POLICY = json.loads((ROOT / "iam-policy.json").read_text())

# botocore service name → IAM action prefix. A client for another service fails the test
# until its prefix is added here (and its actions to iam-policy.json).
IAM_PREFIX = {
    "emr": "elasticmapreduce",
    "ecs": "ecs",
    "application-autoscaling": "application-autoscaling",
    "dynamodb": "dynamodb",
    "cloudwatch": "cloudwatch",
    "scheduler": "scheduler",
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
# By the namespace of the target registered.
ALARMS = {"cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"}
IMPLIED = {
    "dynamodb": {"dynamodb:DescribeTable", "dynamodb:UpdateTable", *ALARMS},
    "ecs": {"ecs:DescribeServices", "ecs:UpdateService", *ALARMS},
    # A schedule with a role: the caller passes the role to Scheduler.
    "schedule": {"iam:PassRole"},
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


# The setups of the IAM table in docs/iam.md, as the worlds a night runs in.
SETUPS = {
    "an ECS autoscaler service": {"ecs": True, "own_target": False, "tables": False},
    "an ECS service that is also a scalable target": {
        "ecs": True,
        "own_target": True,
        "tables": False,
    },
    "DynamoDB tables (native auto scaling)": {"ecs": False, "own_target": False, "tables": True},
    "both": {"ecs": True, "own_target": True, "tables": True},
    "both, with the pause record in `state_table`": {
        "ecs": True,
        "own_target": True,
        "tables": True,
        "state_table": True,
    },
    "both, with `state_table` and the failsafe": {
        "ecs": True,
        "own_target": True,
        "tables": True,
        "state_table": True,
        "failsafe": True,
    },
    "both, with clusters tagged with the tables they back up (`cluster_tables_tag`)": {
        "ecs": True,
        "own_target": True,
        "tables": True,
        "tagged": True,
    },
}
# Calls a setup makes that its policy may leave out: without DescribeScalableTargets, a run that
# changes the service logs a warning and goes on (tests/e2e/test_iam_policy.py shows it).
OPTIONAL = {"an ECS autoscaler service": {"application-autoscaling:DescribeScalableTargets"}}


def iam_variants() -> dict[str, list[str]]:
    """The IAM table in docs/iam.md: setup -> the Sids of the statements it needs."""
    text = (ROOT / "docs" / "iam.md").read_text()
    table = text.split("<!-- iam-variants", 1)[1].split("<!-- /iam-variants -->", 1)[0]
    rows = [line.split("|")[1:3] for line in table.splitlines()[3:] if line.startswith("|")]
    return {setup.strip(): re.findall(r"`(\w+)`", sids) for setup, sids in rows}


def night(
    world,
    tmp_path,
    monkeypatch,
    ecs=True,
    own_target=True,
    tables=True,
    state_table=False,
    failsafe=False,
    tagged=False,
) -> set:
    """A night of runs through main() in a world of the given setup: every (service, operation)
    the tool's clients sent, whatever client made them. Setup calls of the test are not
    counted. With `state_table`, the pause record's items hold a hundred bytes each, so that
    the record goes on in part items (as a fleet's does) and a night writes them too."""
    calls: set[tuple[str, str]] = set()
    real_call = BaseClient._make_api_call

    def spy(client, operation, params):
        calls.add((client.meta.service_model.service_name, operation))
        for item in params.get("TransactItems", []) if operation == "TransactWriteItems" else []:
            [kind] = item
            calls.add(
                (
                    "by-item",
                    "dynamodb:ConditionCheckItem"
                    if kind == "ConditionCheck"
                    else f"dynamodb:{kind}Item",
                )
            )
        if operation == "RegisterScalableTarget":
            calls.add(("implied", params["ServiceNamespace"]))
        if operation in ("CreateSchedule", "UpdateSchedule"):
            calls.add(("implied", "schedule"))
        return real_call(client, operation, params)

    env = {} if ecs else {"AUTOSCALER_CLUSTER": None, "AUTOSCALER_SERVICE": None}
    if tables:
        env["DYNAMODB_TABLES"] = "orders"
    if state_table:
        env["STATE_TABLE"] = world.create_state_table()
    if failsafe:
        env["FAILSAFE_MINUTES"] = "30"
        env["FAILSAFE_ROLE_ARN"] = "arn:aws:iam::123456789012:role/failsafe"
    if tagged:
        env["CLUSTER_TABLES_TAG"] = "backup-tables"

    def run(*args, **more):
        environ = {k: v for k, v in base_env(tmp_path, **env, **more).items() if v is not None}
        with monkeypatch.context() as m:
            m.setattr(BaseClient, "_make_api_call", spy)
            m.setattr(lease, "PART_BYTES", 100)
            return main(list(args), environ=environ)

    world.create_service(desired=3)
    if tables:
        add_table(world, "orders")
    if own_target:
        register(world, f"service/{world.cluster}/{world.service}", ECS_TARGET, namespace="ecs")
    assert run() == 0  # steady, running
    cid = world.start_cluster("nightly-backup-a", tags={"backup-tables": "orders"})
    assert run("--dry-run") == 0
    assert run() == 0  # pause
    assert run() == 0  # steady, paused
    if ecs:
        world.set_desired(5)
        assert run() == 0 and world.desired() == 0  # lifted during the backup: paused again
    world.stop_cluster(cid)
    assert run() == 0  # resume
    if ecs:
        assert world.desired() == 3
        cid = world.start_cluster("nightly-backup-b")
        assert run() == 0
        world.stop_cluster(cid)
        world.set_desired(2)
        assert run() == 0 and world.desired() == 2  # resumed by hand: leftover tag cleared
        world.set_desired(0)
        assert run(RESUME_COUNT="4") == 0 and world.desired() == 4  # nothing saved
    assert run("status") == 0
    return calls


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """Each setup's night, recorded once, on demand."""

    @functools.cache
    def record(setup: str) -> frozenset:
        with mock_aws(), pytest.MonkeyPatch.context() as monkeypatch:
            for name, value in FAKE_CREDENTIALS.items():
                monkeypatch.setenv(name, value)
            tmp = tmp_path_factory.mktemp("night")
            return frozenset(night(World(), tmp, monkeypatch, **SETUPS[setup]))

    return record


def test_the_docs_name_every_setup_and_only_statements_of_the_policy():
    variants = iam_variants()
    assert list(variants) == list(SETUPS)
    sids = {s["Sid"] for s in statements()}
    assert {sid for needed in variants.values() for sid in needed} == sids


def test_scenarios_reach_every_operation_the_source_calls(nights):
    source = called_in_source()
    assert source, "no client call found in autoscaler_pauser: the source scan is broken"
    recorded = set().union(*(nights(setup) for setup in SETUPS))
    assert source <= recorded, f"no scenario here makes {sorted(source - recorded)}: add one"


# Operations IAM authorizes by what they do, not by their name: each item of a transaction as the
# operation it stands for (`by-item` calls).
BY_ITEMS = {("dynamodb", "TransactWriteItems")}


def actions(calls) -> set[str]:
    """The IAM actions the calls need: their own (a transaction's items each), and those
    Application Auto Scaling needs of the caller to register a target of a namespace."""
    return {
        action
        for service, name in calls
        if (service, name) not in BY_ITEMS
        for action in (
            IMPLIED[name]
            if service == "implied"
            else {name}
            if service == "by-item"
            else {iam_action(service, name)}
        )
    }


@pytest.mark.parametrize("setup", list(SETUPS))
def test_each_setup_s_statements_allow_exactly_the_operations_its_runs_make(nights, setup):
    used = actions(nights(setup))
    needed = used - OPTIONAL.get(setup, set())
    chosen = [s for s in statements() if s["Sid"] in iam_variants()[setup]]
    granted = {a for s in chosen for a in as_list(s["Action"])}
    missing = sorted(a for a in needed if not any(fnmatch.fnmatch(a, g) for g in granted))
    assert not missing, f"{setup}: its statements do not allow {missing}"
    unused = sorted(a for a in granted if not any(fnmatch.fnmatch(u, a) for u in used))
    assert not unused, f"{setup}: its statements allow {unused}, which its runs do not call"


def test_the_whole_policy_allows_exactly_the_operations_runs_make(nights):
    used = actions(set().union(*(nights(setup) for setup in SETUPS)) | called_in_source())
    missing = sorted(a for a in used if not allowed(a))
    assert not missing, f"iam-policy.json does not allow {missing}"
    unused = sorted(a for a in policy_actions() if not any(fnmatch.fnmatch(u, a) for u in used))
    assert not unused, f"iam-policy.json allows {unused}, which no run calls: remove them"
    assert not any("*" in a for a in policy_actions()), "no wildcard actions"


def test_the_docs_offer_no_table_wildcard_without_saying_it_means_every_table():
    text = (ROOT / "docs" / "iam.md").read_text()
    for sentence in re.split(r"(?<=[.;:])\s+", text):
        if "table/*" in sentence:
            assert "every table" in sentence, sentence


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
