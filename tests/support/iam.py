"""What IAM authorizes a request of the tool as, and iam-policy.json filled in for a config: the
(action, resource ARN) pairs each request needs, as AWS's Service Authorization Reference names
them. moto's IAM enforcement checks actions only; these pairs let the tests check each
statement's Resource, its region included (tests/deploy/test_iam.py)."""

from __future__ import annotations

import copy
import fnmatch
import json
import re
from collections.abc import Callable
from typing import NamedTuple

from autoscaler_pauser.config import Config
from autoscaler_pauser.targets.dynamodb import DynamoDbScaling

from .tool import ROOT

ACCOUNT = "123456789012"  # moto's
ANY = "*"

POLICY = json.loads((ROOT / "iam-policy.json").read_text())

# A night with each thing in a region of its own: the config key of each region, and the region.
APART = {
    "EMR_REGION": "us-east-1",
    "AUTOSCALER_REGION": "eu-west-1",
    "DYNAMODB_REGION": "eu-central-1",
    "STATE_TABLE_REGION": "ap-southeast-2",
}
# The failsafe's role in a night: one under a path, as the IAM console makes a service role.
FAILSAFE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/autoscaler-pauser-failsafe"

# botocore service name → IAM action prefix. A client for another service fails the test
# until its prefix is added here (and its actions to iam-policy.json).
IAM_PREFIX = {
    "emr": "elasticmapreduce",
    "ecs": "ecs",
    "application-autoscaling": "application-autoscaling",
    "dynamodb": "dynamodb",
    "cloudwatch": "cloudwatch",
    "scheduler": "scheduler",
    "events": "events",
    "autoscaling": "autoscaling",
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


class Request(NamedTuple):
    """One request a run sent: botocore's service and operation names, the client's region
    and the parameters."""

    service: str
    operation: str
    region: str
    params: dict

    @classmethod
    def of(cls, client, operation: str, params: dict) -> Request:
        meta = client.meta
        return cls(
            meta.service_model.service_name, operation, meta.region_name, copy.deepcopy(params)
        )


def as_list(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def iam_action(service: str, operation: str) -> str:
    assert service in IAM_PREFIX, f"the tool calls {service}: add its IAM prefix to IAM_PREFIX"
    return f"{IAM_PREFIX[service]}:{operation}"


def arn(service: str, region: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


def _service(r: Request, service: str) -> str:
    """An ECS service as its request names it: its ARN, or its name in the request's cluster."""
    if service.startswith("arn:"):
        return service
    return arn("ecs", r.region, f"service/{r.params.get('cluster', 'default')}/{service}")


def _table(r: Request, table: str) -> str:
    return arn("dynamodb", r.region, f"table/{table}")


def _bus(r: Request, bus: str | None) -> str:
    """An event bus as an entry names it: its ARN, or its name (none: the default bus)."""
    return (
        bus
        if (bus or "").startswith("arn:")
        else arn("events", r.region, f"event-bus/{bus or 'default'}")
    )


def _schedule(r: Request) -> str:
    return arn(
        "scheduler", r.region, f"schedule/{r.params.get('GroupName', 'default')}/{r.params['Name']}"
    )


def _group(r: Request) -> str:
    """An Auto Scaling group's ARN, with the id AWS gives it (any, for the policy's `*`)."""
    name = r.params["AutoScalingGroupName"]
    return arn("autoscaling", r.region, f"autoScalingGroup:{GROUP_ID}:autoScalingGroupName/{name}")


GROUP_ID = "0b6e1d2c-3f4a-4b5c-8d9e-0f1a2b3c4d5e"

# What IAM authorizes each operation on; ANY where the action has no resource-level permissions
# or the policy grants it on every resource (tests/deploy/test_iam.py's UNSCOPED).
RESOURCES: dict[tuple[str, str], Callable[[Request], list[str]]] = {
    ("emr", "ListClusters"): lambda r: [ANY],
    ("emr", "DescribeCluster"): lambda r: [
        arn("elasticmapreduce", r.region, f"cluster/{r.params['ClusterId']}")
    ],
    ("ecs", "DescribeServices"): lambda r: [_service(r, s) for s in r.params["services"]],
    ("ecs", "UpdateService"): lambda r: [_service(r, r.params["service"])],
    ("ecs", "TagResource"): lambda r: [r.params["resourceArn"]],
    ("ecs", "UntagResource"): lambda r: [r.params["resourceArn"]],
    ("application-autoscaling", "DescribeScalableTargets"): lambda r: [ANY],
    ("application-autoscaling", "RegisterScalableTarget"): lambda r: [ANY],
    ("dynamodb", "GetItem"): lambda r: [_table(r, r.params["TableName"])],
    ("dynamodb", "UpdateItem"): lambda r: [_table(r, r.params["TableName"])],
    ("dynamodb", "PutItem"): lambda r: [_table(r, r.params["TableName"])],
    ("dynamodb", "DeleteItem"): lambda r: [_table(r, r.params["TableName"])],
    ("dynamodb", "BatchGetItem"): lambda r: [_table(r, t) for t in r.params["RequestItems"]],
    ("dynamodb", "Scan"): lambda r: [_table(r, r.params["TableName"])],
    ("scheduler", "GetScheduleGroup"): lambda r: [
        arn("scheduler", r.region, f"schedule-group/{r.params['Name']}")
    ],
    ("scheduler", "CreateScheduleGroup"): lambda r: [
        arn("scheduler", r.region, f"schedule-group/{r.params['Name']}")
    ],
    ("events", "DescribeRule"): lambda r: [arn("events", r.region, f"rule/{r.params['Name']}")],
    ("events", "DisableRule"): lambda r: [arn("events", r.region, f"rule/{r.params['Name']}")],
    ("events", "EnableRule"): lambda r: [arn("events", r.region, f"rule/{r.params['Name']}")],
    ("autoscaling", "DescribeAutoScalingGroups"): lambda r: [ANY],
    ("autoscaling", "UpdateAutoScalingGroup"): lambda r: [_group(r)],
    ("scheduler", "CreateSchedule"): lambda r: [_schedule(r)],
    ("scheduler", "UpdateSchedule"): lambda r: [_schedule(r)],
    ("scheduler", "DeleteSchedule"): lambda r: [_schedule(r)],
    ("events", "PutEvents"): lambda r: [
        _bus(r, e.get("EventBusName")) for e in r.params["Entries"]
    ],
    ("scheduler", "ListSchedules"): lambda r: [ANY],
}


def authorized(r: Request) -> set[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs IAM checks for a request: its own; for a
    transaction, each item as the write it stands for; and what Application Auto Scaling and
    Scheduler check of the caller (the target's actions, the role passed)."""
    if (r.service, r.operation) == ("dynamodb", "TransactWriteItems"):
        return {
            (f"dynamodb:{kind}Item", _table(r, item[kind]["TableName"]))
            for item in r.params["TransactItems"]
            for kind in item  # Put, Update, Delete or ConditionCheck
        }
    key = (r.service, r.operation)
    assert key in RESOURCES, f"the tool calls {key}: add what IAM authorizes it on to RESOURCES"
    action = iam_action(r.service, r.operation)
    return {(action, resource) for resource in RESOURCES[key](r)} | _implied(r)


def _implied(r: Request) -> set[tuple[str, str]]:
    if r.operation == "RegisterScalableTarget":
        namespace = r.params["ServiceNamespace"]
        target = arn(namespace, r.region, r.params["ResourceId"])
        return {(a, ANY if a in ALARMS else target) for a in IMPLIED[namespace]}
    if r.operation in ("CreateSchedule", "UpdateSchedule"):
        return {(a, r.params["Target"]["RoleArn"]) for a in IMPLIED["schedule"]}
    return set()


# iam-policy.json's placeholders, each the value of the config it stands for (TABLE: each of the
# tables, its lines repeated). The docs' fill-in command fills the same ones (docs/iam.md).
PLACEHOLDERS: dict[str, Callable[[Config], str | tuple[str, ...] | None]] = {
    "ACCOUNT_ID": lambda c: ACCOUNT,
    "EMR_REGION": lambda c: c.emr_region,
    "AUTOSCALER_REGION": lambda c: c.autoscaler_region,
    "DYNAMODB_REGION": lambda c: DynamoDbScaling.home_region(c),
    "STATE_TABLE_REGION": lambda c: c.record_region,
    "CLUSTER": lambda c: c.autoscaler_cluster,
    "SERVICE": lambda c: c.autoscaler_service,
    "TABLE": lambda c: c.dynamodb_tables,
    "STATE_TABLE": lambda c: c.state_table,
    "FAILSAFE_GROUP": lambda c: c.failsafe_group,
    "FAILSAFE_ROLE_ARN": lambda c: c.failsafe_role_arn,
    "EVENTBRIDGE_RULE": lambda c: c.eventbridge_rules,
    "AUTOSCALING_GROUP": lambda c: c.autoscaling_groups,
    "EVENTS_REGION": lambda c: c.events_region,
    "EVENTS_BUS": lambda c: c.events_bus and c.events_bus.rsplit("/", 1)[-1],
}
PLACEHOLDER = re.compile(r"\b[A-Z][A-Z_]*[A-Z]\b")


def placeholders(resource: str) -> set[str]:
    return set(PLACEHOLDER.findall(resource))


def fill(resource: str, values: dict[str, str | tuple[str, ...] | None]) -> list[str]:
    """A Resource of iam-policy.json with its placeholders filled in: one per value of a
    placeholder with several (TABLE); none if a placeholder has no value in this config."""
    filled = [resource]
    for name in placeholders(resource):
        value = values[name]
        options = [] if value is None else [value] if isinstance(value, str) else list(value)
        filled = [re.sub(rf"\b{name}\b", option, f) for f in filled for option in options]
    return filled


def filled_policy(config: Config) -> dict:
    """iam-policy.json filled in for a config, as a host's instance role gets it; a statement
    whose resources the config has none of is left out."""
    values = {name: value(config) for name, value in PLACEHOLDERS.items()}
    statements = []
    for s in POLICY["Statement"]:
        resources = [r for resource in as_list(s["Resource"]) for r in fill(resource, values)]
        if resources:
            statements.append({**s, "Resource": resources})
    return {**POLICY, "Statement": statements}


def allowed(statements: list[dict], action: str, arn: str) -> bool:
    """IAM's verdict on one action on one resource for these identity policy statements
    (actions match case-insensitively, resources case-sensitively)."""

    def matches(s: dict) -> bool:
        if not any(fnmatch.fnmatch(action.lower(), a.lower()) for a in as_list(s["Action"])):
            return False
        if "NotResource" in s:
            return not any(fnmatch.fnmatchcase(arn, r) for r in as_list(s["NotResource"]))
        return any(fnmatch.fnmatchcase(arn, r) for r in as_list(s["Resource"]))

    denied = any(matches(s) for s in statements if s["Effect"] == "Deny")
    return not denied and any(matches(s) for s in statements if s["Effect"] == "Allow")
