"""iam-policy.json against what the tool calls: every AWS operation of a run is allowed by the
policy, on the resources it touches in their regions, and the policy allows nothing a run does not
call."""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import json
import re
import shlex
import subprocess
from typing import NamedTuple

import pytest
from botocore.client import BaseClient
from moto import mock_aws

from autoscaler_pauser import lease
from autoscaler_pauser.cli import main
from autoscaler_pauser.config import Config, load_config
from tests.support.iam import (
    APART,
    FAILSAFE_ROLE,
    PLACEHOLDERS,
    POLICY,
    Request,
    allowed,
    as_list,
    authorized,
    fill,
    filled_policy,
    iam_action,
    placeholders,
)
from tests.support.source_calls import called_in_source
from tests.support.tool import FAKE_CREDENTIALS, ROOT, base_env
from tests.support.world import REGION, World, add_table, register

ECS_TARGET = "ecs:service:DesiredCount"

# Actions the policy grants on "*": IAM cannot limit them to the tool's resources (scalable
# targets have no ARN before 2023, alarms are named by Application Auto Scaling, ListSchedules
# takes no resource).
UNSCOPED = {
    "scheduler:ListSchedules",
    "elasticmapreduce:ListClusters",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:RegisterScalableTarget",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:PutMetricAlarm",
    "cloudwatch:DeleteAlarms",
    "autoscaling:DescribeAutoScalingGroups",
}


def statements() -> list[dict]:
    return [s for s in POLICY["Statement"] if s["Effect"] == "Allow"]


def allowing(action: str) -> list[dict]:
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
    "EventBridge schedule rules": {
        "ecs": False,
        "own_target": False,
        "tables": False,
        "rules": True,
    },
    "Auto Scaling groups": {"ecs": False, "own_target": False, "tables": False, "groups": True},
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
    "both, with events on EventBridge (`events_bus`)": {
        "ecs": True,
        "own_target": True,
        "tables": True,
        "events": True,
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


class Night(NamedTuple):
    """What a night sent: every (service, operation), each request, and the config it ran with."""

    calls: frozenset[tuple[str, str]]
    requests: tuple[Request, ...]
    config: Config


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
    rules=False,
    groups=False,
    events=False,
    regions: dict[str, str] | None = None,
) -> Night:
    """A night of runs through main() in a world of the given setup: every request the tool's
    clients sent, whatever client made them. Setup calls of the test are not counted.
    `regions`: the region of the clusters, the service, the tables and the state table by their
    keys (tests.support.iam.APART); the world's by default. With `state_table`, the pause
    record's items hold a hundred bytes each, so that the record goes on in part items (as a
    fleet's does) and a night writes them too."""
    requests: list[Request] = []
    real_call = BaseClient._make_api_call

    def spy(client, operation, params):
        requests.append(Request.of(client, operation, params))
        return real_call(client, operation, params)

    at = {key: World(region=region) for key, region in (regions or {}).items()}
    emr, service, tables_at, state = (
        at.get(key, world)
        for key in ("EMR_REGION", "AUTOSCALER_REGION", "DYNAMODB_REGION", "STATE_TABLE_REGION")
    )
    env = {} if ecs else {"AUTOSCALER_CLUSTER": None, "AUTOSCALER_SERVICE": None}
    env.update(regions or {})
    if tables:
        env["DYNAMODB_TABLES"] = "orders"
    if state_table:
        env["STATE_TABLE"] = state.create_state_table()
    if failsafe:
        env["FAILSAFE_MINUTES"] = "30"
        env["FAILSAFE_ROLE_ARN"] = FAILSAFE_ROLE
    if tagged:
        env["CLUSTER_TABLES_TAG"] = "backup-tables"
    if rules:
        env["EVENTBRIDGE_RULES"] = "scaler-tick"
    if groups:
        env["AUTOSCALING_GROUPS"] = "dynamic-dynamodb"
    if events:  # a bus named, in the service's region
        service.event_queue("on-call")
        env["EVENTS_BUS"] = "on-call"

    def environ(**more):
        return {k: v for k, v in base_env(tmp_path, **env, **more).items() if v is not None}

    def run(*args, **more):
        with monkeypatch.context() as m:
            m.setattr(BaseClient, "_make_api_call", spy)
            m.setattr(lease, "PART_BYTES", 100)
            return main(list(args), environ=environ(**more))

    service.create_service(desired=3)
    if tables:
        add_table(tables_at, "orders", indexes=["by-date"])
    if own_target:
        register(
            service, f"service/{service.cluster}/{service.service}", ECS_TARGET, namespace="ecs"
        )
    if rules:
        service.create_rule("scaler-tick")
    if groups:
        service.create_group("dynamic-dynamodb")
    assert run() == 0  # steady, running
    cid = emr.start_cluster("nightly-backup-a", tags={"backup-tables": "orders"})
    assert run("--dry-run") == 0
    assert run() == 0  # pause
    assert run() == 0  # steady, paused
    if ecs:
        service.set_desired(5)
        assert run() == 0 and service.desired() == 0  # lifted during the backup: paused again
    if rules:
        service.events.enable_rule(Name="scaler-tick")
        assert run() == 0 and service.rule_state("scaler-tick") == "DISABLED"
    emr.stop_cluster(cid)
    assert run() == 0  # resume
    if rules:
        assert service.rule_state("scaler-tick") == "ENABLED"
    if groups:
        assert service.group("dynamic-dynamodb") == (1, 2, 1)
    if ecs:
        assert service.desired() == 3
        cid = emr.start_cluster("nightly-backup-b")
        assert run() == 0
        emr.stop_cluster(cid)
        service.set_desired(2)
        assert run() == 0 and service.desired() == 2  # resumed by hand: leftover tag cleared
        service.set_desired(0)
        assert run(RESUME_COUNT="4") == 0 and service.desired() == 4  # nothing saved
    if state_table:  # the record damaged by hand: its item copied aside, the record made anew
        region = service.kw["region_name"]
        name = f"ecs:{region}/{service.cluster}/{service.service}" if ecs else "autoscaler-pauser"
        state.dynamodb.update_item(
            TableName=env["STATE_TABLE"],
            Key={"name": {"S": name}},
            UpdateExpression="SET #r = :r",
            ExpressionAttributeNames={"#r": "record"},
            ExpressionAttributeValues={":r": {"B": b"not a record"}},
        )
        assert run() == 0
    assert run("status") == 0
    calls = frozenset((r.service, r.operation) for r in requests)
    return Night(calls, tuple(requests), load_config(None, environ()))


# Every feature on, each thing in a region of its own: the night the policy's regions are
# checked against (and the setups' nights, all in one region).
APART_NIGHT = {
    **SETUPS["both, with `state_table` and the failsafe"],
    "tagged": True,
    "events": True,
}


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    """Each setup's night, and (None) the night of every feature apart, recorded once, on
    demand."""

    @functools.cache
    def record(setup: str | None) -> Night:
        with mock_aws(), pytest.MonkeyPatch.context() as monkeypatch:
            for name, value in FAKE_CREDENTIALS.items():
                monkeypatch.setenv(name, value)
            tmp = tmp_path_factory.mktemp("night")
            if setup is None:
                return night(World(), tmp, monkeypatch, **APART_NIGHT, regions=APART)
            return night(World(), tmp, monkeypatch, **SETUPS[setup])

    return record


def test_the_docs_name_every_setup_and_only_statements_of_the_policy():
    variants = iam_variants()
    assert list(variants) == list(SETUPS)
    sids = {s["Sid"] for s in statements()}
    assert {sid for needed in variants.values() for sid in needed} == sids


def test_scenarios_reach_every_operation_the_source_calls(nights):
    source = called_in_source()
    assert source, "no client call found in autoscaler_pauser: the source scan is broken"
    recorded = set().union(*(nights(setup).calls for setup in SETUPS))
    assert source <= recorded, f"no scenario here makes {sorted(source - recorded)}: add one"


# Operations IAM authorizes by what they do, not by their name: each item of a transaction as the
# operation it stands for.
BY_ITEMS = {("dynamodb", "TransactWriteItems")}


def needs(requests) -> set[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs the requests need (tests.support.iam.authorized)."""
    return {pair for r in requests for pair in authorized(r)}


def actions(requests) -> set[str]:
    return {action for action, _ in needs(requests)}


@pytest.mark.parametrize("setup", list(SETUPS))
def test_each_setup_s_statements_allow_exactly_the_operations_its_runs_make(nights, setup):
    used = actions(nights(setup).requests)
    needed = used - OPTIONAL.get(setup, set())
    chosen = [s for s in statements() if s["Sid"] in iam_variants()[setup]]
    granted = {a for s in chosen for a in as_list(s["Action"])}
    missing = sorted(a for a in needed if not any(fnmatch.fnmatch(a, g) for g in granted))
    assert not missing, f"{setup}: its statements do not allow {missing}"
    unused = sorted(a for a in granted if not any(fnmatch.fnmatch(u, a) for u in used))
    assert not unused, f"{setup}: its statements allow {unused}, which its runs do not call"


def test_the_whole_policy_allows_exactly_the_operations_runs_make(nights):
    recorded = [r for setup in [*SETUPS, None] for r in nights(setup).requests]
    used = actions(recorded) | {iam_action(*call) for call in called_in_source() - BY_ITEMS}
    missing = sorted(a for a in used if not allowing(a))
    assert not missing, f"iam-policy.json does not allow {missing}"
    unused = sorted(a for a in policy_actions() if not any(fnmatch.fnmatch(u, a) for u in used))
    assert not unused, f"iam-policy.json allows {unused}, which no run calls: remove them"
    assert not any("*" in a for a in policy_actions()), "no wildcard actions"


def denied(night_: Night, config: Config, sids: list[str]) -> list[tuple[str, str]]:
    """What the night asked that the statements named, filled in for `config`, do not allow
    on the resource it touched."""
    chosen = [s for s in filled_policy(config)["Statement"] if s["Sid"] in sids]
    return sorted(pair for pair in needs(night_.requests) if not allowed(chosen, *pair))


@pytest.mark.parametrize(
    "setup", [*SETUPS, None], ids=[*SETUPS, "every feature, each in a region of its own"]
)
def test_the_filled_in_statements_allow_each_request_on_what_it_touches(nights, setup):
    """moto checks actions only: here each request's resource, its region included, is checked
    against the statements' Resource, filled in with the night's config."""
    n = nights(setup)
    if setup is None:
        assert {r.region for r in n.requests} == set(APART.values()), "a region left out"
    sids = iam_variants()[setup] if setup else [s["Sid"] for s in statements()]
    wrong = [(a, arn) for a, arn in denied(n, n.config, sids) if a not in OPTIONAL.get(setup, ())]
    assert not wrong, f"{setup or 'apart'}: the filled-in statements do not allow {wrong}"


# The ARN of a service made before 2021 (no cluster in it).
SHORT_SERVICE_ARN = re.compile(r"arn:aws:ecs:[^:]+:\d{12}:service/[^/]+")


def test_each_resource_the_filled_in_policy_names_is_one_a_night_touches(nights):
    """No region, table or group more than a night with every feature uses: each filled-in
    Resource (but `*`) is the resource of a request of that night, for one of its actions."""
    n = nights(None)
    touched = needs(n.requests)
    for s in filled_policy(n.config)["Statement"]:
        for resource in set(s["Resource"]) - {"*"}:
            if SHORT_SERVICE_ARN.fullmatch(resource):
                continue  # the night's service has the long ARN: the service's test has both
            assert any(
                fnmatch.fnmatchcase(arn, resource) and action in as_list(s["Action"])
                for action, arn in touched
            ), f"{s['Sid']}: {resource} is touched by no request"


def test_one_region_for_every_statement_denies_a_night_apart(nights):
    """The control: filled in with the service's region everywhere, as one REGION was, the
    policy denies the night's calls to the clusters, the tables, the state table and the tables'
    schedules."""
    n = nights(None)
    one = dataclasses.replace(
        n.config,
        emr_region=n.config.autoscaler_region,
        dynamodb_region=n.config.autoscaler_region,
        state_table_region=n.config.autoscaler_region,
    )
    refused = {action for action, _ in denied(n, one, [s["Sid"] for s in statements()])}
    assert {
        "elasticmapreduce:DescribeCluster",
        "dynamodb:UpdateTable",
        "dynamodb:UpdateItem",
        "scheduler:CreateSchedule",
    } <= refused


def test_the_docs_offer_no_table_wildcard_without_saying_it_means_every_table():
    text = (ROOT / "docs" / "iam.md").read_text()
    for sentence in re.split(r"(?<=[.;:])\s+", text):
        if "table/*" in sentence:
            assert "every table" in sentence, sentence


def test_only_unscopable_actions_are_granted_on_every_resource():
    for s in statements():
        if "*" in as_list(s["Resource"]):
            assert set(as_list(s["Action"])) <= UNSCOPED, s["Sid"]


@pytest.mark.parametrize("long_arn", [True, False], ids=["long ARN", "short ARN"])
def test_the_service_statement_allows_the_service_by_its_long_or_short_arn(world, long_arn):
    """A service made before 2021 has the short ARN `service/SERVICE`, which IAM checks."""
    if not long_arn:
        world.ecs.put_account_setting(name="serviceLongArnFormat", value="disabled")
    arn = world.create_service()
    assert arn.endswith(
        f":service/{world.cluster}/{world.service}" if long_arn else ":service/ddb-scaler"
    )
    config = Config(
        emr_prefix=("nightly-backup-",),
        emr_region=REGION,
        autoscaler_cluster=world.cluster,
        autoscaler_region=REGION,
        autoscaler_service=world.service,
    )
    [ecs] = [s for s in filled_policy(config)["Statement"] if s["Sid"] == "PauseAutoscalerService"]
    for action in ("ecs:DescribeServices", "ecs:UpdateService"):
        assert allowed([ecs], action, arn)
        assert not allowed([ecs], action, arn.replace(world.service, "web"))


def fill_in_command() -> list[str]:
    """The command of docs/iam.md that fills in iam-policy.json, as its words."""
    text = (ROOT / "docs" / "iam.md").read_text()
    [block] = [b for b in re.findall(r"```sh\n(.*?)```", text, re.S) if "iam-policy.json" in b]
    return shlex.split(block.replace("\\\n", " ").split(" > ", 1)[0])


def test_the_docs_fill_in_command_fills_each_placeholder_with_its_own_value():
    words = fill_in_command()
    assert words[0] == "sed" and words[-1] == "iam-policy.json", words
    expressions = [words[i + 1] for i, word in enumerate(words) if word == "-e"]
    values = {}
    for e in expressions:
        m = re.fullmatch(r"s(.)([A-Z_]+)\1(.*)\1g", e)
        assert m, f"{e}: not s/PLACEHOLDER/value/g"
        values[m[2]] = m[3]
    written = {
        p for s in POLICY["Statement"] for r in as_list(s["Resource"]) for p in placeholders(r)
    }
    assert set(values) == written == set(PLACEHOLDERS)

    r = subprocess.run(words, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    # Each placeholder filled whole with its own value (sed's order leaves no part of one to the
    # next), and nothing else changed.
    expected = {
        **POLICY,
        "Statement": [
            {
                **s,
                "Resource": fill(s["Resource"], values)[0]
                if isinstance(s["Resource"], str)
                else [fill(x, values)[0] for x in s["Resource"]],
            }
            for s in POLICY["Statement"]
        ],
    }
    assert json.loads(r.stdout) == expected
    [passing] = [s for s in expected["Statement"] if s["Sid"] == "PassFailsafeRole"]
    assert re.fullmatch(r"arn:aws:iam::\d{12}:role/[\w-]+/[\w-]+", passing["Resource"]), (
        "the docs' example is a role under a path"
    )
