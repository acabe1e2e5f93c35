"""cloudformation/autoscaler-pauser.yaml and the zip it deploys: cfn-lint passes on the template;
the function's role allows what iam-policy.json allows a run of the stack's setup, plus its
state table and its logs (and, with FailsafeMinutes, the failsafe's schedules and role; with
EventsBus, its bus), and nothing else; the failsafe role may make only the restoring calls on
the stack's targets; the stack creates in moto for each setup, with the failsafe on and off,
with an environment the tool's own config accepts; EMR's events wake the function for the
backup clusters only; the dashboard shows the metrics the function's runs log, and the events
of a pause reach the alarm topic as a line of text; and the zip that `make lambda` builds
imports in the function's Python with nothing else on the path."""

from __future__ import annotations

import ast
import glob
import io
import json
import re
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import boto3
import pytest
import yaml
from moto import mock_aws
from moto.cloudformation import parsing
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.events.models import EventPattern, Rule
from moto.scheduler.models import scheduler_backends

from autoscaler_pauser.config import KEYS as CONFIG_KEYS
from autoscaler_pauser.config import ConfigError, load_config
from autoscaler_pauser.timing import LEASE_SECONDS, RUN_SECONDS
from tests.deploy.test_iam import UNSCOPED, iam_variants, statements
from tests.support.docs import quoted, table
from tests.support.iam import ALARMS, GROUP_ID, IMPLIED, allowed, as_list, filled_policy
from tests.support.tool import ROOT
from tests.support.world import REGION

TEMPLATE_PATH = ROOT / "cloudformation" / "autoscaler-pauser.yaml"
BUILD_SCRIPT = ROOT / "cloudformation" / "build_lambda.py"
ACCOUNT = "123456789012"  # moto's
OTHER_REGION = "eu-west-1"

# What the function needs besides iam-policy.json's statements: its state and its logs.
# The shared pause record's statement of iam-policy.json: the stack's state table gets the same.
STATE_ACTIONS = {a for s in statements() if s["Sid"] == "SharedPauseRecord" for a in s["Action"]}
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}

# The IAM row (docs/iam.md) of a pauser whose record is in a DynamoDB table, as the stack's is; and
# iam-policy.json's statements that FailsafeMinutes adds to it.
STATE_TABLE_ROW = "both, with the pause record in `state_table`"
FAILSAFE_SIDS = ("FailsafeSchedules", "FindLostFailsafeSchedules", "PassFailsafeRole")
FAILSAFE_ON = {"FailsafeMinutes": "30"}
# iam-policy.json's statement that ClusterTablesTag adds.
TAGS_SIDS = ("ReadBackupClusterTags",)
# iam-policy.json's statement that EventsBus adds.
EVENTS_SIDS = ("PublishPauseEvents",)

# The stack's setups (its parameters) and the IAM setup (docs/iam.md) each one is. With only an ECS
# service the stack still allows Application Auto Scaling, for the service's own target.
SETUPS = {
    "both": {
        "params": {
            "AutoscalerCluster": "autoscaler",
            "AutoscalerService": "ddb-scaler",
            "DynamoDbTables": "orders,users",
        },
        "variant": "both",
    },
    "ecs": {
        "params": {"AutoscalerCluster": "autoscaler", "AutoscalerService": "ddb-scaler"},
        "variant": "an ECS service that is also a scalable target",
    },
    "tables": {
        "params": {"DynamoDbTables": "orders,users"},
        "variant": "DynamoDB tables (native auto scaling)",
    },
}

# Resource types moto 5.2.5 cannot create from a template (it warns and leaves them out).
MOTO_CANNOT_CREATE = {
    "AWS::Lambda::EventInvokeConfig",
    "AWS::Scheduler::Schedule",
    "AWS::Logs::MetricFilter",
}


class MotoScheduleGroup(CloudFormationModel):
    """AWS::Scheduler::ScheduleGroup, which moto 5.2.5 has in its EventBridge Scheduler but cannot
    create from a template; left out, every !Ref to it would be None. Made in moto's scheduler,
    named as moto names whatever a template leaves unnamed; !Ref gives the name, as on AWS.
    Defining the class registers it with moto's CloudFormation (for this process)."""

    def __init__(self, group):
        self.group = group

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Scheduler::ScheduleGroup"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    @property
    def physical_resource_id(self) -> str:
        return self.group.name

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.group.arn

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        backend = scheduler_backends[account_id][region_name]
        return cls(backend.create_schedule_group(resource_name, tags=[]))

    def delete(self, account_id: str, region_name: str) -> None:
        scheduler_backends[account_id][region_name].delete_schedule_group(self.group.name)


class MotoAlarm(CloudFormationModel):
    """AWS::CloudWatch::Alarm, which moto 5.2.5 has in its CloudWatch but cannot create from a
    template (left out, the dashboard's Fn::GetAtt of its Arn would fail the stack): made in
    moto's CloudWatch from the template's properties, named as moto names what a template
    leaves unnamed."""

    def __init__(self, alarm):
        self.alarm = alarm

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    @property
    def physical_resource_id(self) -> str:
        return self.alarm.name

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.alarm.alarm_arn

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        p = cloudformation_json["Properties"]
        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=resource_name,
            namespace=p["Namespace"],
            metric_name=p["MetricName"],
            comparison_operator=p["ComparisonOperator"],
            evaluation_periods=int(p["EvaluationPeriods"]),
            period=int(p["Period"]),
            threshold=float(p["Threshold"]),
            statistic=p["Statistic"],
            description=p.get("AlarmDescription", ""),
            dimensions=p.get("Dimensions", []),
            alarm_actions=[a for a in p.get("AlarmActions") or [] if a],
            ok_actions=[a for a in p.get("OKActions") or [] if a],
            treat_missing_data=p.get("TreatMissingData"),
        )
        return cls(alarm)


class MotoEventRule(CloudFormationModel):
    """AWS::Events::Rule whose EventPattern is JSON text, as the template's is: CloudFormation
    takes a property of type Json as an object or as its text, moto 5.2.5 only as an object (it
    would encode the text once more). The text is decoded, then moto's own Rule is made."""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Events::Rule"

    @staticmethod
    def cloudformation_name_type() -> str:
        return Rule.cloudformation_name_type()

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return Rule.has_cfn_attr(attr)

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[misc]
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        properties = cloudformation_json["Properties"]
        if isinstance(properties.get("EventPattern"), str):
            properties["EventPattern"] = json.loads(properties["EventPattern"])
        return Rule.create_from_cloudformation_json(
            resource_name, cloudformation_json, account_id, region_name, **kwargs
        )


# moto keeps the list and map of the models it found before these.
parsing.get_model_list.cache_clear()
parsing.get_model_map.cache_clear()


# --- the template as data -----------------------------------------------------------------------


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (!Ref, !Sub, !If, ...) read as their long forms."""


def _intrinsic(loader: CfnLoader, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _intrinsic)

TEMPLATE = yaml.load(TEMPLATE_PATH.read_text(), Loader=CfnLoader)
RESOURCES = TEMPLATE["Resources"]


def names_used(node) -> set[str]:
    """Parameters, resources and pseudo parameters a part of the template refers to."""
    if isinstance(node, dict):
        found = set()
        for key, value in node.items():
            if key == "Ref":
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0])
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                found |= set(re.findall(r"\$\{([^}!]+)\}", text))
                if not isinstance(value, str):
                    found |= names_used(value[1])
            else:
                found |= names_used(value)
        return found
    if isinstance(node, list):
        return set().union(*(names_used(v) for v in node)) if node else set()
    return set()


def template_statements(resource: str) -> list[dict]:
    """The statements of a role's policies, each Fn::If taken as true (every statement)."""
    found = []
    for policy in RESOURCES[resource]["Properties"]["Policies"]:
        for s in policy["PolicyDocument"]["Statement"]:
            found.append(s["Fn::If"][1] if "Fn::If" in s else s)
    return found


def by_sid(resource: str) -> dict[str, dict]:
    return {s["Sid"]: s for s in template_statements(resource)}


def variant_statements(variant: str) -> list[dict]:
    """iam-policy.json's statements that the IAM table in docs/iam.md gives a setup."""
    return [s for s in statements() if s["Sid"] in iam_variants()[variant]]


def rules_and_groups_statements() -> list[dict]:
    """iam-policy.json's statements for EventBridge rules and Auto Scaling groups."""
    rows = ("EventBridge schedule rules", "Auto Scaling groups")
    sids = {sid for row in rows for sid in iam_variants()[row]} - {"FindBackupClusters"}
    return [s for s in statements() if s["Sid"] in sids]


def failsafe_statements() -> list[dict]:
    """iam-policy.json's statements for the failsafe."""
    found = [s for s in statements() if s["Sid"] in FAILSAFE_SIDS]
    assert [s["Sid"] for s in found] == list(FAILSAFE_SIDS), "iam-policy.json lacks them"
    return found


def tags_statements() -> list[dict]:
    """iam-policy.json's statement for the clusters' tags (cluster_tables_tag)."""
    found = [s for s in statements() if s["Sid"] in TAGS_SIDS]
    assert [s["Sid"] for s in found] == list(TAGS_SIDS), "iam-policy.json lacks it"
    return found


def events_statements() -> list[dict]:
    """iam-policy.json's statement for the events (events_bus)."""
    found = [s for s in statements() if s["Sid"] in EVENTS_SIDS]
    assert [s["Sid"] for s in found] == list(EVENTS_SIDS), "iam-policy.json lacks it"
    return found


def actions_of(stmts: list[dict]) -> set[str]:
    return {a for s in stmts for a in as_list(s["Action"])}


def expected_actions(variant: str, failsafe: bool = False) -> set[str]:
    chosen = variant_statements(variant) + (failsafe_statements() if failsafe else [])
    return actions_of(chosen) | STATE_ACTIONS | LOG_ACTIONS


def failsafe_role_actions(
    ecs: bool, tables: bool, rules: bool = False, groups: bool = False
) -> set[str]:
    """What a failsafe schedule's restoring call needs: UpdateService for the service, and
    RegisterScalableTarget with what Application Auto Scaling demands of its caller, by the
    namespace of the target (test_iam.IMPLIED). With an ECS service its own scalable target may
    be restored too, as the function may suspend it."""
    needed = {"application-autoscaling:RegisterScalableTarget", *ALARMS}
    if ecs:
        needed |= {"ecs:UpdateService", *IMPLIED["ecs"]}
    if tables:
        needed |= IMPLIED["dynamodb"]
    if rules:
        needed.add("events:EnableRule")
    if groups:
        needed.add("autoscaling:UpdateAutoScalingGroup")
    return needed


# --- cfn-lint -----------------------------------------------------------------------------------


def test_cfn_lint_passes_on_the_template():
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    assert cfn_lint.exists(), "cfn-lint is a dev dependency: make .venv/.installed"
    r = subprocess.run(
        [str(cfn_lint), str(TEMPLATE_PATH)], capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0 and r.stdout == "", r.stdout + r.stderr


def test_no_check_is_silenced_without_a_written_reason():
    assert "Transform" not in TEMPLATE, "plain CloudFormation: no SAM, no macro"
    for name, resource in RESOURCES.items():
        metadata = resource.get("Metadata", {})
        assert "cfn-lint" not in metadata, f"{name}: cfn-lint rules silenced"
        for skip in metadata.get("checkov", {}).get("skip", []):
            assert len(skip.get("comment", "")) > 40, f"{name}: {skip['id']} skipped without why"


# --- the function's permissions, as written ---------------------------------------------------


def test_function_role_allows_exactly_the_state_table_row_the_failsafe_the_tags_and_its_logs():
    # Every Fn::If taken as true: every kind of target, the failsafe on, ClusterTablesTag set.
    allows = [s for s in template_statements("FunctionRole") if s["Effect"] == "Allow"]
    row = variant_statements(STATE_TABLE_ROW) + rules_and_groups_statements()
    assert actions_of(row) >= STATE_ACTIONS, "the row has the state table's statement"
    optional = failsafe_statements() + tags_statements() + events_statements()
    expected = actions_of(row + optional) | LOG_ACTIONS
    assert actions_of(allows) == expected
    assert not any("*" in a for a in actions_of(allows)), "no wildcard actions"
    for s in allows:
        if "*" in as_list(s["Resource"]):
            assert set(as_list(s["Action"])) <= UNSCOPED, s["Sid"]


def test_function_role_statements_are_those_of_iam_policy_json_by_sid():
    written = by_sid("FunctionRole")
    more = rules_and_groups_statements()
    optional = failsafe_statements() + tags_statements() + events_statements()
    for s in variant_statements("both") + more + optional:
        assert s["Sid"] in written, f"{s['Sid']} of iam-policy.json is missing"
        mine = written[s["Sid"]]
        assert set(as_list(mine["Action"])) == set(as_list(s["Action"])), s["Sid"]
        assert (mine["Resource"] == "*") == (s["Resource"] == "*"), s["Sid"]
        assert mine.get("Condition") == s.get("Condition"), s["Sid"]


def test_the_failsafe_s_statements_resources_and_variables_exist_only_with_failsafe_minutes():
    statements_ = RESOURCES["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    for s in statements_["Statement"]:
        plain = s["Fn::If"][1] if "Fn::If" in s else s
        if plain["Sid"] in FAILSAFE_SIDS:
            assert s["Fn::If"] == ["HasFailsafe", plain, {"Ref": "AWS::NoValue"}]
        else:
            assert not any(a.startswith(("scheduler:", "iam:")) for a in as_list(plain["Action"]))
    assert RESOURCES["FailsafeScheduleGroup"]["Condition"] == "HasFailsafe"
    assert RESOURCES["FailsafeRole"]["Condition"] == "HasFailsafe"
    assert TEMPLATE["Outputs"]["FailsafeGroupName"]["Condition"] == "HasFailsafe"
    variables = RESOURCES["Function"]["Properties"]["Environment"]["Variables"]
    for name in ("FAILSAFE_MINUTES", "FAILSAFE_ROLE_ARN", "FAILSAFE_GROUP"):
        assert variables[name]["Fn::If"][0] == "HasFailsafe", name
        assert variables[name]["Fn::If"][2] == {"Ref": "AWS::NoValue"}, name
    assert TEMPLATE["Conditions"]["HasFailsafe"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "FailsafeMinutes"}, "0"]}]
    }


def test_the_cluster_tags_statement_and_variable_exist_only_with_cluster_tables_tag():
    statements_ = RESOURCES["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    for s in statements_["Statement"]:
        plain = s["Fn::If"][1] if "Fn::If" in s else s
        if plain["Sid"] in TAGS_SIDS:
            assert s["Fn::If"] == ["HasClusterTablesTag", plain, {"Ref": "AWS::NoValue"}]
        else:
            assert "elasticmapreduce:DescribeCluster" not in as_list(plain["Action"])
    variables = RESOURCES["Function"]["Properties"]["Environment"]["Variables"]
    assert variables["CLUSTER_TABLES_TAG"] == {
        "Fn::If": ["HasClusterTablesTag", {"Ref": "ClusterTablesTag"}, {"Ref": "AWS::NoValue"}]
    }
    assert TEMPLATE["Parameters"]["ClusterTablesTag"]["Default"] == ""


def test_the_events_statement_and_variable_exist_only_with_events_bus():
    statements_ = RESOURCES["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    for s in statements_["Statement"]:
        plain = s["Fn::If"][1] if "Fn::If" in s else s
        if plain["Sid"] in EVENTS_SIDS:
            assert s["Fn::If"] == ["HasEventsBus", plain, {"Ref": "AWS::NoValue"}]
        else:
            assert "events:PutEvents" not in as_list(plain["Action"])
    variables = RESOURCES["Function"]["Properties"]["Environment"]["Variables"]
    assert variables["EVENTS_BUS"]["Fn::If"][0] == "HasEventsBus"
    assert variables["EVENTS_BUS"]["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    assert TEMPLATE["Parameters"]["EventsBus"]["Default"] == ""
    assert TEMPLATE["Parameters"]["NotifyPauseResume"]["Default"] == "false"
    assert RESOURCES["PauseResumeNotifyRule"]["Condition"] == "NotifiesPauseResume"


@pytest.mark.parametrize(
    "name, valid",
    [
        ("", True),
        ("nightly", True),
        ("ecs:us-east-1/autoscaler/ddb-scaler", True),
        ("nightly backups", True),
        (" nightly", False),
        ('night"ly', False),  # the dashboard's JSON text holds it as it is
        ("night\\ly", False),
        ("night\tly", False),
    ],
)
def test_pauser_name_takes_what_the_dashboard_s_json_can_hold(name, valid):
    parameter = TEMPLATE["Parameters"]["PauserName"]
    assert bool(re.fullmatch(parameter["AllowedPattern"], name)) == valid


def test_dynamodb_dimensions_offers_what_the_tool_takes_and_defaults_as_it_does():
    parameter = TEMPLATE["Parameters"]["DynamoDbDimensions"]
    [key] = [k for k in CONFIG_KEYS if k.name == "dynamodb_dimensions"]
    assert parameter["Default"] == ",".join(key.default)
    env = {
        "EMR_PREFIX": "nightly-backup-",
        "EMR_REGION": REGION,
        "DYNAMODB_TABLES": "orders",
        "DYNAMODB_REGION": REGION,
    }
    for value in parameter["AllowedValues"]:
        config = load_config(None, {**env, "DYNAMODB_DIMENSIONS": value})
        assert ",".join(config.dynamodb_dimensions) == value
    assert {"read", "write", "read,write"} == set(parameter["AllowedValues"])


@pytest.mark.parametrize(
    "minutes, valid",
    [
        ("0", True),
        ("2", True),
        ("30", True),
        ("1440", True),
        ("10079", True),
        ("10080", True),
        ("1", False),  # not above the one-minute schedule
        ("0.5", False),
        ("1.5", False),
        ("00", False),  # would turn the failsafe on with no time
        ("030", False),
        ("10081", False),
        ("20000", False),
        ("-5", False),
        ("", False),
        (" 30", False),
    ],
)
def test_failsafe_minutes_are_0_or_whole_minutes_above_the_schedule_up_to_a_week(minutes, valid):
    parameter = TEMPLATE["Parameters"]["FailsafeMinutes"]
    assert parameter["Default"] == "0", "off unless asked for"
    assert bool(re.fullmatch(parameter["AllowedPattern"], minutes)) == valid


def test_the_docs_list_every_parameter_with_its_default():
    """docs/serverless.md's table: every parameter of the template, and a default written as a
    value (`360`, `""`) is the template's."""
    params = TEMPLATE["Parameters"]
    listed = []
    for names, default, _ in table("serverless.md", "cfn-parameters"):
        for name in quoted(names):
            listed.append(name)
            if default == "required":
                assert "Default" not in params[name], name
            elif default.startswith("`"):
                value = quoted(default)[0]
                assert str(params[name]["Default"]) == value.strip('"'), name
    assert sorted(listed) == sorted(params)


def test_scoped_statements_name_the_parameters_and_the_stack_s_own_resources():
    s = by_sid("FunctionRole")
    assert {"AutoscalerCluster", "AutoscalerService", "AutoscalerRegion"} <= names_used(
        s["PauseAutoscalerService"]["Resource"]
    )
    assert "DynamoDbTables" in names_used(s["RegisterScalableTargetChecksTheTables"]["Resource"])
    deny = s["TheTablesOfThisAccountAndRegionOnly"]
    assert deny["Effect"] == "Deny" and "Resource" not in deny
    assert {"DynamoDbRegion", "AutoscalerRegion", "AWS::AccountId"} <= names_used(
        deny["NotResource"]
    )
    assert set(as_list(deny["Action"])) == set(
        as_list(s["RegisterScalableTargetChecksTheTables"]["Action"])
    )
    assert names_used(s["State"]["Resource"]) == {"StateTable"}
    assert "LogGroup" in names_used(s["Logs"]["Resource"])
    assert {"FailsafeScheduleGroup", "AutoscalerRegion", "DynamoDbRegion"} <= names_used(
        s["FailsafeSchedules"]["Resource"]
    )
    assert s["PassFailsafeRole"]["Resource"] == {"Fn::GetAtt": ["FailsafeRole", "Arn"]}


def test_the_schedule_s_role_may_only_invoke_the_function():
    [s] = template_statements("ScheduleRole")
    assert s["Effect"] == "Allow" and as_list(s["Action"]) == ["lambda:InvokeFunction"]
    assert s["Resource"] == {"Fn::GetAtt": ["Function", "Arn"]}
    trust = RESOURCES["ScheduleRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [t["Principal"] for t in trust] == [{"Service": "scheduler.amazonaws.com"}]


# --- what moto cannot create, read from the template -------------------------------------------


def test_the_schedule_runs_the_function_every_minute_at_the_minute():
    schedule = RESOURCES["Schedule"]["Properties"]
    assert schedule["ScheduleExpression"] == "rate(1 minute)"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["State"] == "ENABLED"
    assert schedule["Target"]["Arn"] == {"Fn::GetAtt": ["Function", "Arn"]}
    assert schedule["Target"]["RoleArn"] == {"Fn::GetAtt": ["ScheduleRole", "Arn"]}
    invoke = RESOURCES["FunctionEventInvokeConfig"]["Properties"]
    assert invoke["FunctionName"] == {"Ref": "Function"} and invoke["MaximumRetryAttempts"] == 0


def test_alarms_watch_the_function_s_errors_and_the_stuck_pause_lines():
    failing = RESOURCES["FunctionFailingAlarm"]["Properties"]
    assert (failing["Namespace"], failing["MetricName"]) == ("AWS/Lambda", "Errors")
    assert failing["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "Function"}}]
    assert failing["TreatMissingData"] == "breaching", "a function that does not run is failing"

    metric_filter = RESOURCES["StuckPauseMetricFilter"]["Properties"]
    assert metric_filter["LogGroupName"] == {"Ref": "LogGroup"}
    assert metric_filter["FilterPattern"] == "{ $.stuck IS TRUE }"
    [metric] = metric_filter["MetricTransformations"]
    stuck = RESOURCES["StuckPauseAlarm"]["Properties"]
    assert (stuck["Namespace"], stuck["MetricName"]) == (
        metric["MetricNamespace"],
        metric["MetricName"],
    )
    for alarm in (failing, stuck):
        for key in ("AlarmActions", "OKActions"):
            assert alarm[key] == {
                "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
            }
    function = RESOURCES["Function"]["Properties"]
    assert function["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": {"Ref": "LogGroup"}}


def test_the_state_table_is_on_demand_recoverable_and_kept():
    table = RESOURCES["StateTable"]
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["KeySchema"] == [{"AttributeName": "name", "KeyType": "HASH"}]


# --- the template's Rules, on the parameters a deploy may give ---------------------------------


def rule_value(node, params: dict):
    """A Rules assertion evaluated for the given parameters (the functions Rules allow)."""
    if isinstance(node, dict):
        [(fn, arg)] = node.items()
        if fn == "Ref":
            value = params.get(arg, TEMPLATE["Parameters"][arg].get("Default", ""))
            kind = TEMPLATE["Parameters"][arg]["Type"]
            return value.split(",") if kind == "CommaDelimitedList" else value
        args = [rule_value(a, params) for a in arg]
        if fn == "Fn::Equals":
            return args[0] == args[1]
        if fn == "Fn::EachMemberEquals":
            return all(v == args[1] for v in args[0])
        if fn == "Fn::Not":
            return not args[0]
        if fn == "Fn::And":
            return all(args)
        if fn == "Fn::Or":
            return any(args)
        raise AssertionError(f"no evaluator here for {fn}")
    return node


@pytest.mark.parametrize(
    "params, broken",
    [
        (SETUPS["both"]["params"], set()),
        (SETUPS["ecs"]["params"], set()),
        (SETUPS["tables"]["params"], set()),
        ({}, {"SomethingToPause"}),
        ({"AutoscalerCluster": "autoscaler"}, {"SomethingToPause", "EcsClusterAndServiceTogether"}),
        (
            {"AutoscalerService": "ddb-scaler", "DynamoDbTables": "orders"},
            {"EcsClusterAndServiceTogether"},
        ),
    ],
)
def test_rules_refuse_a_stack_with_nothing_to_pause_or_half_an_ecs_service(params, broken):
    failed = {
        name
        for name, rule in TEMPLATE["Rules"].items()
        for assertion in rule["Assertions"]
        if not rule_value(assertion["Assert"], params)
    }
    assert failed == broken


# --- the stack in moto --------------------------------------------------------------------------


class Stack:
    """A stack of the template created in moto, and what it made."""

    def __init__(self, params: dict[str, str], region: str = REGION):
        self.region = region
        kw = {"region_name": region}
        self.cf = boto3.client("cloudformation", **kw)
        self.lam = boto3.client("lambda", **kw)
        self.iam = boto3.client("iam", **kw)
        self.ddb = boto3.client("dynamodb", **kw)
        self.events = boto3.client("events", **kw)
        s3 = boto3.client("s3", **kw)
        s3.create_bucket(Bucket="pauser-code")
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("autoscaler_pauser/__init__.py", "")
        s3.put_object(Bucket="pauser-code", Key="pauser.zip", Body=code.getvalue())
        given = {
            "CodeS3Bucket": "pauser-code",
            "CodeS3Key": "pauser.zip",
            "EmrPrefix": "nightly-backup-",
            **params,
        }
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            self.cf.create_stack(
                StackName="pauser",
                TemplateBody=TEMPLATE_PATH.read_text(),
                Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in given.items()],
                Capabilities=["CAPABILITY_IAM"],
            )
            [stack] = self.cf.describe_stacks(StackName="pauser")["Stacks"]
            self.status = stack["StackStatus"]
            self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
            self.resources = {
                r["LogicalResourceId"]: r
                for r in self.cf.list_stack_resources(StackName="pauser")["StackResourceSummaries"]
            }
            self.function = self.lam.get_function(FunctionName=self.outputs["FunctionName"])[
                "Configuration"
            ]
        self.not_created = {
            m.group(1) for w in seen if (m := re.search(r"parse (\S+) but", str(w.message)))
        }

    def role_statements(self, logical_id: str) -> list[dict]:
        role = self.resources[logical_id]["PhysicalResourceId"]
        found = []
        for name in self.iam.list_role_policies(RoleName=role)["PolicyNames"]:
            document = self.iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
            if isinstance(document, str):  # moto hands back the document as Python's repr
                document = ast.literal_eval(document)
            # moto leaves an Fn::If's AWS::NoValue in a list as None; CloudFormation drops it.
            found += [s for s in document["Statement"] if s is not None]
        return found

    def roles(self) -> list[str]:
        """The logical ids of the stack's IAM roles."""
        return [k for k, r in self.resources.items() if r["ResourceType"] == "AWS::IAM::Role"]

    def role(self, logical_id: str) -> dict:
        role = self.resources[logical_id]["PhysicalResourceId"]
        return self.iam.get_role(RoleName=role)["Role"]

    def environment(self) -> dict[str, str]:
        variables = self.function["Environment"]["Variables"]
        return {k: str(v) for k, v in variables.items()}  # moto keeps a Number as a number


@pytest.fixture
def aws():
    with mock_aws():
        yield


def table_arn(name: str, region: str = REGION, account: str = ACCOUNT) -> str:
    return f"arn:aws:dynamodb:{region}:{account}:table/{name}"


def schedule_arns(group: str, region: str = REGION) -> tuple[str, str]:
    """A schedule group's ARN and that of a schedule in it."""
    prefix = f"arn:aws:scheduler:{region}:{ACCOUNT}"
    return f"{prefix}:schedule-group/{group}", f"{prefix}:schedule/{group}/ddb-scaler"


SCHEDULER_ACTIONS = [
    "scheduler:GetScheduleGroup",
    "scheduler:CreateScheduleGroup",
    "scheduler:CreateSchedule",
    "scheduler:UpdateSchedule",
    "scheduler:DeleteSchedule",
]


@pytest.mark.parametrize("failsafe", [False, True], ids=["failsafe-off", "failsafe-on"])
@pytest.mark.parametrize("setup", list(SETUPS))
def test_stack_creates_in_moto_with_the_role_of_its_setup(aws, setup, failsafe):
    stack = Stack({**SETUPS[setup]["params"], **(FAILSAFE_ON if failsafe else {})})
    assert stack.status == "CREATE_COMPLETE"
    assert stack.not_created <= MOTO_CANNOT_CREATE, "moto left out more than these"
    stmts = stack.role_statements("FunctionRole")
    granted = {a for s in stmts if s["Effect"] == "Allow" for a in as_list(s["Action"])}
    assert granted == expected_actions(SETUPS[setup]["variant"], failsafe)
    assert all(r for s in stmts for r in as_list(s.get("Resource", s.get("NotResource"))))

    state = table_arn(stack.outputs["StateTableName"])
    assert allowed(stmts, "dynamodb:UpdateItem", state)
    assert not allowed(stmts, "dynamodb:UpdateItem", table_arn("orders"))
    service = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/autoscaler/ddb-scaler"
    ecs = "AutoscalerService" in SETUPS[setup]["params"]
    assert allowed(stmts, "ecs:UpdateService", service) == ecs
    assert not allowed(stmts, "ecs:UpdateService", service.replace("ddb-scaler", "web"))
    tables = "DynamoDbTables" in SETUPS[setup]["params"]
    for name in ("orders", "users", "orders/index/by-day", "users/index/by-name"):
        assert allowed(stmts, "dynamodb:UpdateTable", table_arn(name)) == tables, name
        assert allowed(stmts, "dynamodb:DescribeTable", table_arn(name)) == tables, name
    for other in (
        table_arn("orders-archive"),
        table_arn("orders-archive/index/by-day"),
        table_arn("orders", region=OTHER_REGION),
        table_arn("orders", account="210987654321"),
        state,
    ):
        assert not allowed(stmts, "dynamodb:UpdateTable", other), other
    assert allowed(stmts, "elasticmapreduce:ListClusters", "*")
    log_stream = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/pauser:log-stream:x"
    assert allowed(stmts, "logs:PutLogEvents", log_stream)

    env = stack.environment()
    if not failsafe:
        # Nothing of the failsafe: no group, no role, no variable, and no role of the stack may
        # touch a schedule or pass a role.
        assert not {"FailsafeScheduleGroup", "FailsafeRole"} & set(stack.resources)
        assert not [k for k in env if k.startswith("FAILSAFE_")]
        assert "FailsafeGroupName" not in stack.outputs
        for role in stack.roles():
            for s in stack.role_statements(role):
                for action in as_list(s["Action"]):
                    assert not action.startswith("scheduler:"), (role, action)
                    assert action.lower() != "iam:passrole", role
        return

    group = stack.outputs["FailsafeGroupName"]
    assert env["FAILSAFE_GROUP"] == group
    scheduler = boto3.client("scheduler", region_name=REGION)
    assert scheduler.get_schedule_group(Name=group)["State"] == "ACTIVE"
    for arn in schedule_arns(group):
        for action in SCHEDULER_ACTIONS:
            assert allowed(stmts, action, arn), (action, arn)
    for arn in schedule_arns("autoscaler-pauser") + schedule_arns(group, OTHER_REGION):
        assert not allowed(stmts, "scheduler:CreateSchedule", arn), arn
    failsafe_role = stack.role("FailsafeRole")["Arn"]
    assert env["FAILSAFE_ROLE_ARN"] == failsafe_role
    assert allowed(stmts, "iam:PassRole", failsafe_role)
    assert not allowed(stmts, "iam:PassRole", stack.role("FunctionRole")["Arn"])
    [passing] = [s for s in stmts if s.get("Sid") == "PassFailsafeRole"]
    assert passing["Condition"] == {
        "StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}
    }


@pytest.mark.parametrize("setup", list(SETUPS))
def test_the_failsafe_role_makes_only_the_restoring_calls_on_the_stack_s_targets(aws, setup):
    stack = Stack({**SETUPS[setup]["params"], **FAILSAFE_ON})
    role = stack.role("FailsafeRole")
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    group = stack.outputs["FailsafeGroupName"]
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:scheduler:*:{ACCOUNT}:schedule-group/{group}"},
    }

    stmts = stack.role_statements("FailsafeRole")
    ecs = "AutoscalerService" in SETUPS[setup]["params"]
    tables = "DynamoDbTables" in SETUPS[setup]["params"]
    granted = {a for s in stmts if s["Effect"] == "Allow" for a in as_list(s["Action"])}
    assert granted == failsafe_role_actions(ecs, tables)
    for s in stmts:
        if s["Effect"] == "Allow" and "*" in as_list(s["Resource"]):
            assert set(as_list(s["Action"])) <= UNSCOPED, s["Sid"]
    assert allowed(stmts, "application-autoscaling:RegisterScalableTarget", "*")
    service = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/autoscaler/ddb-scaler"
    assert allowed(stmts, "ecs:UpdateService", service) == ecs
    # Application Auto Scaling describes the service before it registers the service's own
    # scalable target.
    assert allowed(stmts, "ecs:DescribeServices", service) == ecs
    assert not allowed(stmts, "ecs:UpdateService", service.replace("ddb-scaler", "web"))
    assert not allowed(stmts, "ecs:TagResource", service), "the function's tag stays for it"
    for name in ("orders", "users", "orders/index/by-day"):
        assert allowed(stmts, "dynamodb:UpdateTable", table_arn(name)) == tables, name
    for other in (
        table_arn("orders-archive"),
        table_arn("orders", region=OTHER_REGION),
        table_arn("orders", account="210987654321"),
        table_arn(stack.outputs["StateTableName"]),
    ):
        assert not allowed(stmts, "dynamodb:UpdateTable", other), other


def docs_failsafe_role() -> tuple[dict, dict]:
    """The failsafe role that docs/iam.md gives a host's pauser: its trust policy and its
    policy, the JSON blocks of that section in this order."""
    text = (ROOT / "docs" / "iam.md").read_text().split("## The failsafe role", 1)[1]
    text = text.split("\n## ", 1)[0]
    blocks = re.findall(r"```json\n(.*?)```", text, re.S)
    assert len(blocks) == 2, "docs/iam.md: the failsafe role's trust policy, then its policy"
    trust, policy = (json.loads(b) for b in blocks)
    return trust, policy


def test_the_docs_failsafe_role_is_the_stack_s_with_placeholders():
    """A host's failsafe role, as docs/iam.md writes it, may do what the stack's may with both
    kinds of target, statement by statement, and is trusted as the stack's is."""
    trust, policy = docs_failsafe_role()
    # The stack's Deny closes the region and account its table ARNs leave open; the docs' ARNs
    # name them.
    mine = {k: s for k, s in by_sid("FailsafeRole").items() if s["Effect"] == "Allow"}
    written = {s["Sid"]: s for s in policy["Statement"]}
    assert list(written) == list(mine)
    for sid, s in written.items():
        assert s["Effect"] == mine[sid]["Effect"] == "Allow", sid
        assert set(as_list(s["Action"])) == set(as_list(mine[sid]["Action"])), sid
        assert (s["Resource"] == "*") == (mine[sid]["Resource"] == "*"), sid
    assert actions_of(policy["Statement"]) == failsafe_role_actions(True, True, True, True)
    # The same placeholders as iam-policy.json's, for the same resources.
    pauser = {s["Sid"]: s for s in statements()}
    assert (
        written["RestoreAutoscalerService"]["Resource"]
        == (pauser["PauseAutoscalerService"]["Resource"])
    )
    assert (
        written["RegisterScalableTargetChecksTheTables"]["Resource"]
        == (pauser["RegisterScalableTargetChecksTheTables"]["Resource"])
    )

    [t] = trust["Statement"]
    [stack_t] = RESOURCES["FailsafeRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert (t["Effect"], t["Principal"], t["Action"]) == (
        stack_t["Effect"],
        stack_t["Principal"],
        stack_t["Action"],
    )
    assert t["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "ACCOUNT_ID"},
        "ArnLike": {
            "aws:SourceArn": "arn:aws:scheduler:*:ACCOUNT_ID:schedule-group/FAILSAFE_GROUP"
        },
    }
    assert {k: set(v) for k, v in t["Condition"].items()} == {
        k: set(v) for k, v in stack_t["Condition"].items()
    }


def test_iam_policy_json_s_service_arns_are_the_ones_the_stack_allows(aws):
    stack = Stack({**SETUPS["both"]["params"], "AutoscalerRegion": OTHER_REGION})
    config = load_config(None, stack.environment())
    [written] = [
        s for s in filled_policy(config)["Statement"] if s["Sid"] == "PauseAutoscalerService"
    ]
    [mine] = [s for s in stack.role_statements("FunctionRole") if s.get("Sid") == written["Sid"]]
    assert as_list(mine["Resource"]) == written["Resource"]
    assert len(written["Resource"]) == 2, "the service's long ARN and its short one"


@pytest.mark.parametrize("role", ["FunctionRole", "FailsafeRole"])
def test_a_service_made_before_2021_is_allowed_by_its_short_arn(aws, role):
    """IAM checks the ARN the service has: a service made before ECS's long ARN format has
    `service/SERVICE`, without its cluster, until it is migrated."""
    stack = Stack({**SETUPS["ecs"]["params"], **FAILSAFE_ON, "AutoscalerRegion": OTHER_REGION})
    ecs = boto3.client("ecs", region_name=OTHER_REGION)
    ecs.put_account_setting(name="serviceLongArnFormat", value="disabled")
    ecs.create_cluster(clusterName="autoscaler")
    ecs.register_task_definition(
        family="scaler", containerDefinitions=[{"name": "s", "image": "x", "memory": 128}]
    )
    service = ecs.create_service(
        cluster="autoscaler", serviceName="ddb-scaler", taskDefinition="scaler", desiredCount=3
    )
    short = service["service"]["serviceArn"]
    assert short == f"arn:aws:ecs:{OTHER_REGION}:{ACCOUNT}:service/ddb-scaler"
    stmts = stack.role_statements(role)
    for action in ("ecs:DescribeServices", "ecs:UpdateService"):
        assert allowed(stmts, action, short), (role, action)
        assert not allowed(stmts, action, short.replace("ddb-scaler", "web")), (role, action)
        assert not allowed(stmts, action, short.replace(OTHER_REGION, REGION)), (role, action)


@pytest.mark.parametrize("setup", list(SETUPS))
def test_function_runs_the_handler_once_at_a_time_with_a_config_the_tool_accepts(aws, setup):
    stack = Stack(SETUPS[setup]["params"])
    f = stack.function
    assert f["Runtime"] == "python3.12"
    assert f["Handler"] == "autoscaler_pauser.lambda_handler.handler"
    # Time for a whole run, and no longer than the lease it holds on the state table.
    assert RUN_SECONDS < f["Timeout"] <= LEASE_SECONDS
    assert f["Role"].endswith("/" + stack.resources["FunctionRole"]["PhysicalResourceId"])
    concurrency = stack.lam.get_function_concurrency(FunctionName=f["FunctionName"])
    assert concurrency["ReservedConcurrentExecutions"] == 1

    env = stack.environment()
    assert all(v.strip() for v in env.values()), f"a blank variable, which the tool refuses: {env}"
    assert env["STATE_TABLE"] == stack.outputs["StateTableName"]
    assert env["STATE_TABLE_REGION"] == REGION
    config = load_config(None, env)  # raises ConfigError, naming each problem, if it is not
    assert config.emr_prefix == ("nightly-backup-",) and config.emr_region == REGION
    if "AutoscalerService" in SETUPS[setup]["params"]:
        assert (config.autoscaler_cluster, config.autoscaler_service) == (
            "autoscaler",
            "ddb-scaler",
        )
        assert config.autoscaler_region == REGION
    else:
        assert not {"AUTOSCALER_CLUSTER", "AUTOSCALER_SERVICE", "AUTOSCALER_REGION"} & set(env)
    if "DynamoDbTables" in SETUPS[setup]["params"]:
        assert config.dynamodb_tables == ("orders", "users") and config.dynamodb_region == REGION
    else:
        assert not {"DYNAMODB_TABLES", "DYNAMODB_REGION"} & set(env)
    assert (config.resume_count, config.max_pause_minutes) == (1, 360)
    assert (config.force_resume_after_max_pause, config.resume_grace_seconds) == (False, 0)
    # The tool's defaults, which the stack's are: both dimensions, every cluster every table.
    assert not {"DYNAMODB_DIMENSIONS", "CLUSTER_TABLES_TAG"} & set(env)
    assert config.dynamodb_dimensions == ("read", "write") and config.cluster_tables_tag is None
    assert not allowed(
        stack.role_statements("FunctionRole"),
        "elasticmapreduce:DescribeCluster",
        f"arn:aws:elasticmapreduce:{REGION}:{ACCOUNT}:cluster/j-123456789ABCD",
    )
    # The record's key is the stack's name, whatever the tables: a table added or taken out
    # leaves the pause record where it is.
    assert env["PAUSER_NAME"] == "pauser" and config.pauser_name == "pauser"


def test_every_parameter_reaches_the_function_s_environment(aws):
    stack = Stack(
        {
            "EmrPrefix": "nightly-backup-,weekly-backup-",
            "EmrRegion": OTHER_REGION,
            "AutoscalerCluster": "autoscaler",
            "AutoscalerService": "ddb-scaler",
            "AutoscalerRegion": "us-west-2",
            "DynamoDbTables": "orders,users",
            "DynamoDbRegion": "eu-central-1",
            "ResumeCount": "4",
            "MaxPauseMinutes": "90",
            "ForceResumeAfterMaxPause": "true",
            "ResumeGraceSeconds": "300",
            "PauserName": "nightly",
            "FailsafeMinutes": "45",
            "DynamoDbDimensions": "write",
            "ClusterTablesTag": "backup-tables",
            "EventBridgeRules": "scaler-tick",
            "AutoScalingGroups": "dynamic-dynamodb",
            "EventsBus": "on-call",
        }
    )
    env = stack.environment()
    assert env == {
        "EMR_PREFIX": "nightly-backup-,weekly-backup-",
        "EMR_REGION": OTHER_REGION,
        "AUTOSCALER_CLUSTER": "autoscaler",
        "AUTOSCALER_SERVICE": "ddb-scaler",
        "AUTOSCALER_REGION": "us-west-2",
        "DYNAMODB_TABLES": "orders,users",
        "DYNAMODB_REGION": "eu-central-1",
        "DYNAMODB_DIMENSIONS": "write",
        "CLUSTER_TABLES_TAG": "backup-tables",
        "EVENTBRIDGE_RULES": "scaler-tick",
        "AUTOSCALING_GROUPS": "dynamic-dynamodb",
        "RESUME_COUNT": "4",
        "MAX_PAUSE_MINUTES": "90",
        "FORCE_RESUME_AFTER_MAX_PAUSE": "true",
        "RESUME_GRACE_SECONDS": "300",
        "STATE_TABLE": stack.outputs["StateTableName"],
        "STATE_TABLE_REGION": REGION,
        "PAUSER_NAME": "nightly",
        "FAILSAFE_MINUTES": "45",
        "FAILSAFE_ROLE_ARN": stack.role("FailsafeRole")["Arn"],
        "FAILSAFE_GROUP": stack.outputs["FailsafeGroupName"],
        "EVENTS_BUS": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/on-call",
    }
    config = load_config(None, env)
    assert config.force_resume_after_max_pause is True and config.resume_grace_seconds == 300
    assert config.events_region == REGION, "the stack's bus, wherever the targets are"
    assert config.dynamodb_dimensions == ("write",)
    assert config.cluster_tables_tag == "backup-tables"
    stmts = stack.role_statements("FunctionRole")
    assert allowed(stmts, "events:PutEvents", env["EVENTS_BUS"])
    assert not allowed(stmts, "events:PutEvents", env["EVENTS_BUS"].replace("on-call", "default"))
    # The clusters' tags, read in the clusters' region.
    cluster = f"arn:aws:elasticmapreduce:{OTHER_REGION}:{ACCOUNT}:cluster/j-123456789ABCD"
    assert allowed(stmts, "elasticmapreduce:DescribeCluster", cluster)
    assert not allowed(
        stmts, "elasticmapreduce:DescribeCluster", cluster.replace(OTHER_REGION, REGION)
    )
    service = f"arn:aws:ecs:us-west-2:{ACCOUNT}:service/autoscaler/ddb-scaler"
    assert allowed(stmts, "ecs:UpdateService", service)
    assert allowed(stmts, "dynamodb:UpdateTable", table_arn("orders", region="eu-central-1"))
    assert not allowed(stmts, "dynamodb:UpdateTable", table_arn("orders"))
    # Each target's failsafe schedule is in the target's region, not the stack's.
    group = env["FAILSAFE_GROUP"]
    for region in ("us-west-2", "eu-central-1"):
        for arn in schedule_arns(group, region):
            assert allowed(stmts, "scheduler:UpdateSchedule", arn), arn
    for arn in schedule_arns(group, REGION):
        assert not allowed(stmts, "scheduler:UpdateSchedule", arn), arn
    rule = f"arn:aws:events:us-west-2:{ACCOUNT}:rule/scaler-tick"
    asg = f"arn:aws:autoscaling:us-west-2:{ACCOUNT}:autoScalingGroup:{GROUP_ID}"
    asg += ":autoScalingGroupName/dynamic-dynamodb"
    assert allowed(stmts, "events:DisableRule", rule)
    assert not allowed(stmts, "events:DisableRule", rule.replace("us-west-2", REGION))
    assert not allowed(stmts, "events:DisableRule", rule.replace("scaler-tick", "other"))
    assert allowed(stmts, "autoscaling:UpdateAutoScalingGroup", asg)
    assert not allowed(stmts, "autoscaling:UpdateAutoScalingGroup", asg + "-other")
    failsafe = stack.role_statements("FailsafeRole")
    assert allowed(failsafe, "events:EnableRule", rule)
    assert not allowed(failsafe, "events:DisableRule", rule)
    assert allowed(failsafe, "autoscaling:UpdateAutoScalingGroup", asg)
    assert allowed(failsafe, "ecs:UpdateService", service)
    assert allowed(failsafe, "dynamodb:UpdateTable", table_arn("orders", region="eu-central-1"))
    assert not allowed(failsafe, "dynamodb:UpdateTable", table_arn("orders"))
    # EMR's events stay in the clusters' region: no rule here would ever fire.
    assert "EmrStateChangeRule" not in stack.resources
    assert stack.events.list_rules()["Rules"] == []


def test_tables_take_the_autoscaler_region_when_they_have_none_of_their_own(aws):
    stack = Stack({"DynamoDbTables": "orders", "AutoscalerRegion": OTHER_REGION})
    env = stack.environment()
    assert env["DYNAMODB_REGION"] == OTHER_REGION and "AUTOSCALER_REGION" not in env
    stmts = stack.role_statements("FunctionRole")
    assert allowed(stmts, "dynamodb:UpdateTable", table_arn("orders", region=OTHER_REGION))
    assert not allowed(stmts, "dynamodb:UpdateTable", table_arn("orders"))


def test_the_failsafe_environment_is_one_the_tool_accepts(aws):
    if "failsafe_minutes" not in {k.name for k in CONFIG_KEYS}:
        pytest.skip("the failsafe's config keys are not in this tree yet")
    stack = Stack({**SETUPS["both"]["params"], **FAILSAFE_ON})
    config = load_config(None, stack.environment())
    assert config.failsafe_minutes == 30
    assert config.failsafe_role_arn == stack.role("FailsafeRole")["Arn"]
    assert config.failsafe_group == stack.outputs["FailsafeGroupName"]


def test_the_failsafe_s_group_and_role_outlive_the_stack(aws):
    # A stack deleted during a pause is a pauser gone: its schedules must still fire and restore.
    for name in ("FailsafeScheduleGroup", "FailsafeRole"):
        assert RESOURCES[name]["DeletionPolicy"] == RESOURCES[name]["UpdateReplacePolicy"]
        assert RESOURCES[name]["DeletionPolicy"] == "Retain", name
    stack = Stack({**SETUPS["both"]["params"], **FAILSAFE_ON})
    group = stack.outputs["FailsafeGroupName"]
    failsafe_role = stack.role("FailsafeRole")["RoleName"]
    stack.cf.delete_stack(StackName="pauser")
    assert stack.lam.list_functions()["Functions"] == []
    scheduler = boto3.client("scheduler", region_name=REGION)
    assert scheduler.get_schedule_group(Name=group)["State"] == "ACTIVE"
    assert [r["RoleName"] for r in stack.iam.list_roles()["Roles"]] == [failsafe_role]


def emr_rule_pattern(*prefixes: str) -> dict:
    """The pattern of EMR's state changes of clusters named with one of these prefixes: the
    event's `detail.name` is the cluster's name."""
    return {
        "source": ["aws.emr"],
        "detail-type": ["EMR Cluster State Change"],
        "detail": {"name": [{"prefix": p} for p in prefixes]},
    }


def emr_event(name: str, detail_type: str = "EMR Cluster State Change") -> dict:
    """An event of EMR's, as EventBridge's reference gives it."""
    return {
        "version": "0",
        "id": "999cccaa-eaaa-0000-1111-123456789012",
        "detail-type": detail_type,
        "source": "aws.emr",
        "account": ACCOUNT,
        "time": "2016-12-16T20:43:05Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "severity": "INFO",
            "stateChangeReason": '{"code":""}',
            "name": name,
            "clusterId": "j-123456789ABCD",
            "state": "WAITING",
            "message": f"Amazon EMR cluster j-123456789ABCD ({name}) is waiting",
        },
    }


def test_emr_state_changes_invoke_the_function_at_once(aws):
    stack = Stack(SETUPS["both"]["params"])
    [rule] = stack.events.list_rules()["Rules"]
    assert json.loads(rule["EventPattern"]) == emr_rule_pattern("nightly-backup-")
    [target] = stack.events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert target["Arn"] == stack.function["FunctionArn"]
    [grant] = json.loads(
        stack.lam.get_policy(FunctionName=stack.outputs["FunctionName"])["Policy"]
    )["Statement"]
    assert grant["Principal"] == {"Service": "events.amazonaws.com"}
    assert grant["Condition"]["ArnLike"]["AWS:SourceArn"] == rule["Arn"]


@pytest.mark.parametrize(
    "prefixes, backups, others",
    [
        (
            "nightly-backup-",
            ["nightly-backup-orders", "nightly-backup-"],
            ["adhoc-etl", "weekly-backup-orders", "x-nightly-backup-orders", "nightly-backup"],
        ),
        (
            "nightly-backup-,weekly-backup-",
            ["nightly-backup-orders", "weekly-backup-users"],
            ["adhoc-etl", "monthly-backup-orders", "Nightly-backup-orders"],
        ),
    ],
    ids=["one-prefix", "two-prefixes"],
)
def test_the_emr_rule_wakes_the_function_only_for_the_backup_clusters(
    aws, prefixes, backups, others
):
    """Another cluster's state change does not invoke the function, nor count toward its
    failing alarm. moto has no TestEventPattern: its own matcher, the one its rules use, stands
    for EventBridge's."""
    stack = Stack({**SETUPS["both"]["params"], "EmrPrefix": prefixes})
    [rule] = stack.events.list_rules()["Rules"]
    written = json.loads(rule["EventPattern"])
    assert written == emr_rule_pattern(*prefixes.split(","))
    assert json.loads(emr_rule_pattern_text(prefixes)) == written, "as AWS is sent it"
    pattern = EventPattern.load(rule["EventPattern"])
    for name in backups:
        assert pattern.matches_event(emr_event(name)), name
    for name in others:
        assert not pattern.matches_event(emr_event(name)), name
    # A step of a backup cluster carries the step's name in `detail.name`.
    assert not pattern.matches_event(emr_event(backups[0], "EMR Step Status Change"))


def emr_rule_pattern_text(prefixes: str) -> str:
    """EmrStateChangeRule's pattern as CloudFormation resolves it for this EmrPrefix: the text
    EventBridge is sent, whose length its quota counts."""

    def value(node):
        if isinstance(node, str):
            return node
        [(fn, arg)] = node.items()
        if fn == "Ref":
            return {"EmrPrefix": prefixes}[arg]
        if fn == "Fn::Split":
            return value(arg[1]).split(arg[0])
        if fn == "Fn::Join":
            return arg[0].join(value(arg[1]))
        raise AssertionError(f"no evaluator here for {fn}")

    text, variables = RESOURCES["EmrStateChangeRule"]["Properties"]["EventPattern"]["Fn::Sub"]
    return re.sub(r"\$\{(\w+)\}", lambda m: value(variables[m.group(1)]), text)


# EventBridge's quota on the size of an event pattern, in characters (adjustable; this is its
# default).
EVENT_PATTERN_CHARACTERS = 2048


def test_the_emr_rule_s_pattern_fits_eventbridge_s_quota_for_every_emr_prefix_the_stack_takes():
    parameter = TEMPLATE["Parameters"]["EmrPrefix"]
    longest = parameter["MaxLength"]
    # The longest pattern: as many one-letter prefixes as fit, each adding its own braces.
    many = ",".join("a" * ((longest + 1) // 2))
    one = "a" * longest
    for prefixes in (many[:longest], one):
        assert re.fullmatch(parameter["AllowedPattern"], prefixes)
        assert len(emr_rule_pattern_text(prefixes)) <= EVENT_PATTERN_CHARACTERS
    assert json.loads(emr_rule_pattern_text(many)) == emr_rule_pattern(*many.split(","))


@pytest.mark.parametrize(
    "prefixes, valid",
    [
        ("nightly-backup-", True),
        ("nightly-backup-,weekly-backup-", True),
        ("backup (nightly) ", False),  # whitespace around: the tool refuses it too
        ("backup (nightly)", True),
        (",nightly-backup-", False),
        ("nightly-backup-,,weekly-backup-", False),
        ("", False),
        # The prefixes are written into the rule's JSON pattern as they are: a quote or a
        # backslash would end or escape its string.
        ('nightly"backup', False),
        ("nightly\\backup", False),
        ('nightly-backup-"', False),
        ("nightly\tbackup", False),
    ],
)
def test_emr_prefix_takes_prefixes_the_rule_s_pattern_can_hold(prefixes, valid):
    parameter = TEMPLATE["Parameters"]["EmrPrefix"]
    assert bool(re.fullmatch(parameter["AllowedPattern"], prefixes)) == valid


def test_the_state_table_outlives_the_stack(aws):
    stack = Stack(SETUPS["both"]["params"])
    table = stack.ddb.describe_table(TableName=stack.outputs["StateTableName"])["Table"]
    assert table["KeySchema"] == [{"AttributeName": "name", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "name", "AttributeType": "S"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    stack.cf.delete_stack(StackName="pauser")
    assert stack.ddb.list_tables()["TableNames"] == [stack.outputs["StateTableName"]]
    assert stack.lam.list_functions()["Functions"] == []


# --- the zip --------------------------------------------------------------------------------------


def python312() -> str | None:
    """The function's Python, where this machine has it."""
    for candidate in [
        *sorted(glob.glob("/root/.pyenv/versions/3.12*/bin/python3.12")),
        "python3.12",
    ]:
        try:
            r = subprocess.run([candidate, "-c", ""], capture_output=True, timeout=60)
        except OSError:
            continue
        if r.returncode == 0:
            return candidate
    return None


@pytest.fixture(scope="module")
def unzipped(tmp_path_factory):
    """The zip as `make lambda` builds it, and the folder it unzips to."""
    tmp = tmp_path_factory.mktemp("lambda")
    zip_path = tmp / "autoscaler-pauser-lambda.zip"
    r = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), str(zip_path)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    folder = tmp / "task"
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(folder)
    return zip_path, folder


IMPORT_CHECK = """
import importlib, json, pkgutil, sys
folder = sys.argv[1]
sys.path.insert(0, folder)
names = json.loads(sys.argv[2])
modules = [importlib.import_module(n) for n in names]
import autoscaler_pauser
for m in pkgutil.walk_packages(autoscaler_pauser.__path__, "autoscaler_pauser."):
    if m.name != "autoscaler_pauser.__main__":  # that one runs the command
        importlib.import_module(m.name)
import boto3, filelock, yaml
for service in ("emr", "ecs", "application-autoscaling", "dynamodb"):
    boto3.client(service, region_name="us-east-1", aws_access_key_id="x",
                 aws_secret_access_key="y")
outside = sorted(
    name for name, m in list(sys.modules.items())
    if name.split(".")[0] in {"autoscaler_pauser", "boto3", "botocore", "yaml", "filelock",
                               "s3transfer", "jmespath", "dateutil", "urllib3"}
    and not (getattr(m, "__file__", None) or folder).startswith(folder)
)
print(json.dumps({"outside": outside, "libyaml": yaml.__with_libyaml__,
                  "version": list(sys.version_info[:2]), "path": sys.path}))
"""


def import_in_clean_python(folder: Path, names: list[str]) -> dict:
    python = python312() or sys.executable
    r = subprocess.run(
        [python, "-I", "-S", "-c", IMPORT_CHECK, str(folder), json.dumps(names)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
        cwd=folder.parent,
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.slow
def test_zip_holds_the_package_and_its_dependencies_and_no_tests_or_caches(unzipped):
    zip_path, _ = unzipped
    with zipfile.ZipFile(zip_path) as z:
        infos = z.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names), "files in sorted order"
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    parts = {p for n in names for p in n.split("/")[:-1]}
    assert not parts & {"__pycache__", "tests", "test", "bin"}, parts & {"tests", "test"}
    assert not [n for n in names if n.endswith((".pyc", ".pyo"))]
    top = {n.split("/")[0] for n in names}
    assert {"autoscaler_pauser", "boto3", "botocore", "yaml", "filelock"} <= top
    assert sum(i.file_size for i in infos) < 250 * 1024 * 1024, "Lambda's limit, unzipped"
    assert [n for n in names if n.startswith("yaml/_yaml.cpython-312-x86_64-linux-gnu")], (
        "PyYAML's extension built for the function's runtime"
    )


@pytest.mark.slow
def test_zip_imports_in_a_clean_python_with_only_its_folder_on_the_path(unzipped):
    _, folder = unzipped
    seen = import_in_clean_python(folder, ["autoscaler_pauser", "boto3", "yaml", "filelock"])
    assert seen["outside"] == [], f"imported from outside the zip: {seen['outside']}"
    assert not [p for p in seen["path"] if "site-packages" in p]
    if seen["version"] == [3, 12]:
        assert seen["libyaml"], "PyYAML's C extension for python3.12 did not load"


@pytest.mark.slow
def test_zip_imports_the_lambda_handler(unzipped):
    if not (ROOT / "autoscaler_pauser" / "lambda_handler.py").exists():
        pytest.skip("autoscaler_pauser/lambda_handler.py is not in this tree yet")
    _, folder = unzipped
    seen = import_in_clean_python(folder, ["autoscaler_pauser.lambda_handler"])
    assert seen["outside"] == []
    handler = RESOURCES["Function"]["Properties"]["Handler"]
    module, _, function = handler.rpartition(".")
    check = f"import sys; sys.path.insert(0, {str(folder)!r}); import {module}; {module}.{function}"
    r = subprocess.run(
        [python312() or sys.executable, "-I", "-S", "-c", check],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize(
    "key",
    [
        "backup-tables",
        "team/backup tables",
        "sauvegarde:tables_été",
        "t" * 128,
        "backup-tables*",
        "backup,tables",
        " backup-tables",
        "backup-tables ",
        "aws:backup-tables",
        "AWS:backup-tables",
    ],
)
def test_cluster_tables_tag_takes_the_tag_keys_the_tool_takes(key):
    """The parameter's pattern (Java's, as CloudFormation reads it) and the tool's own check of
    the key agree: a stack never deploys a key every run would refuse."""
    from tests.support.contract import compiled

    parameter = TEMPLATE["Parameters"]["ClusterTablesTag"]
    taken = bool(compiled(parameter["AllowedPattern"]).fullmatch(key))
    assert len(key) <= parameter["MaxLength"]
    try:
        load_config(None, {"EMR_PREFIX": "b-", "EMR_REGION": REGION, "CLUSTER_TABLES_TAG": key})
    except ConfigError as e:
        tool = not [p for p in e.problems if p.startswith("cluster_tables_tag:")]
    else:
        tool = True
    # The tool drops whitespace around a key; the stack refuses it.
    assert taken == (tool and key == key.strip()), (taken, tool)
    assert compiled(parameter["AllowedPattern"]).fullmatch(""), "empty: no key"


# --- what on-call sees -----------------------------------------------------------------------


def pause_event(pauser: str) -> dict:
    """The event the function puts on the bus when it pauses a table, as EventBridge hands it
    to a rule: the tool's own entry, in EventBridge's envelope."""
    from datetime import datetime, timezone

    from autoscaler_pauser.config import Config
    from autoscaler_pauser.decide import Plan, Verdict
    from autoscaler_pauser.events import entries
    from autoscaler_pauser.history import Story, Told
    from autoscaler_pauser.model import (
        SCALING,
        SUSPENDED,
        Change,
        Cluster,
        Hold,
        PauseRecord,
        Why,
    )

    now = datetime(2026, 11, 26, 1, 2, tzinfo=timezone.utc)
    cluster = Cluster("j-1ABC", 'nightly "backup" orders', "RUNNING", "nightly")
    key = "dynamodb:us-east-1/table/orders:read"
    change = Change(key, "table/orders read", Why.PAUSE, SCALING, SUSPENDED, scope="orders")
    plan = Plan({"orders": Verdict(True, "held", ("j-1ABC",))}, (change,), {key: SCALING})
    config = Config(("nightly",), REGION, name=pauser, events_bus="on-call")
    after = PauseRecord(pauser, {"orders": Hold("2026-11-26T01:02:00Z", None, ("j-1ABC",))})
    story = Story(config, PauseRecord(pauser), after, plan, {}, (cluster,), {}, now)
    [entry] = entries(story, [(Told.PAUSED, "orders")])
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": ACCOUNT,
        "time": "2026-11-26T01:02:00Z",
        "region": REGION,
        "resources": [],
        "detail": json.loads(entry["Detail"]),
    }


def transformed(transformer: dict, event: dict) -> str:
    """What an input transformer makes of an event: each path of InputPathsMap (plain dotted
    JSONPath, as these are) put in place of its <name> in InputTemplate."""

    def at(path: str):
        value = event
        for part in path.removeprefix("$.").split("."):
            value = value[part]
        return value

    text = transformer["InputTemplate"]
    for name, path in transformer["InputPathsMap"].items():
        text = text.replace(f"<{name}>", str(at(path)))
    return text


def test_the_stack_s_events_reach_its_alarm_topic_as_a_line_of_text(aws):
    boto3.client("events", region_name=REGION).create_event_bus(Name="on-call")
    topic = boto3.client("sns", region_name=REGION).create_topic(Name="on-call")["TopicArn"]
    stack = Stack(
        {
            **SETUPS["both"]["params"],
            "EventsBus": "on-call",
            "AlarmTopicArn": topic,
            "NotifyPauseResume": "true",
        }
    )
    assert stack.status == "CREATE_COMPLETE"
    [rule] = stack.events.list_rules(EventBusName="on-call")["Rules"]
    assert stack.resources["PauseResumeNotifyRule"]["PhysicalResourceId"] == rule["Name"]
    pattern = EventPattern.load(rule["EventPattern"])
    assert pattern.matches_event(pause_event("pauser")), "the stack's own pauser"
    assert not pattern.matches_event(pause_event("another-pauser"))
    [target] = stack.events.list_targets_by_rule(Rule=rule["Name"], EventBusName="on-call")[
        "Targets"
    ]
    assert target["Arn"] == topic
    text = transformed(target["InputTransformer"], pause_event("pauser"))
    assert json.loads(text) == (
        "autoscaler-pauser pauser, 2026-11-26T01:02:00Z: Autoscaler Paused: paused table "
        "orders (1 target), held by j-1ABC"
    ), "a JSON string: SNS sends its text"


@pytest.mark.parametrize(
    "params",
    [
        {"EventsBus": "on-call", "AlarmTopicArn": "", "NotifyPauseResume": "true"},
        {"EventsBus": "on-call", "NotifyPauseResume": "false"},
        {"EventsBus": "", "NotifyPauseResume": "true"},
    ],
    ids=["no alarm topic", "not asked for", "no bus"],
)
def test_without_a_bus_a_topic_and_the_ask_no_event_goes_to_the_topic(aws, params):
    boto3.client("events", region_name=REGION).create_event_bus(Name="on-call")
    topic = "arn:aws:sns:us-east-1:123456789012:on-call"
    stack = Stack({**SETUPS["both"]["params"], "AlarmTopicArn": topic, **params})
    assert "PauseResumeNotifyRule" not in stack.resources
    assert stack.events.list_rules(EventBusName="on-call")["Rules"] == []


def test_the_dashboard_shows_the_metrics_the_runs_log_beside_the_two_alarms(aws):
    from autoscaler_pauser.metrics import DIMENSION, EMF_METRICS, NAMESPACE

    stack = Stack({**SETUPS["both"]["params"], "PauserName": "nightly"})
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    name = stack.outputs["DashboardName"]
    assert name == "pauser-autoscaler-pauser"
    body = json.loads(cloudwatch.get_dashboard(DashboardName=name)["DashboardBody"])
    shown = set()
    for widget in body["widgets"]:
        properties = widget["properties"]
        for metric in properties.get("metrics", []):
            names = [m for m in metric if isinstance(m, str)]
            namespace, metric_name, dimension, value = names
            if namespace == "AWS/Lambda":
                assert metric_name in ("Errors", "Duration") and dimension == "FunctionName"
                assert value == stack.function["FunctionName"]
                continue
            assert (namespace, dimension, value) == (NAMESPACE, DIMENSION, "nightly")
            shown.add(metric_name)
    assert shown == {m for m, _, _ in EMF_METRICS}, "every metric a run logs, no other"
    [alarms] = [w["properties"]["alarms"] for w in body["widgets"] if w["type"] == "alarm"]
    made = {a["AlarmName"]: a["AlarmArn"] for a in cloudwatch.describe_alarms()["MetricAlarms"]}
    assert sorted(alarms) == sorted(made.values()) and len(alarms) == 2
    for logical in ("FunctionFailingAlarm", "StuckPauseAlarm"):
        assert stack.resources[logical]["PhysicalResourceId"] in made
