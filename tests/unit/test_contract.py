"""The contract checker of tests/support/contract.py, on botocore's real service models: each rule
catches a request that breaks it and passes one that keeps it; each pattern of the shapes the
tool sends is read as Java reads it."""

from __future__ import annotations

import copy
import functools
from datetime import datetime, timezone

import boto3
import botocore.session
import pytest
from botocore.model import Shape
from botocore.stub import Stubber

from tests.support.contract import (
    Contract,
    UnsupportedPattern,
    check_request,
    check_time,
    check_value,
    compiled,
    python_pattern,
    shapes_in,
)
from tests.support.source_calls import called_in_source


@functools.cache
def model(service: str):
    return botocore.session.get_session().get_service_model(service)


def violations(service: str, operation: str, params: dict) -> list[tuple[str, str]]:
    return [
        (v.path, v.rule) for v in check_request(model(service).operation_model(operation), params)
    ]


DELETE = object()


def changed(params: dict, path: str, value) -> dict:
    """The request with the member at the dotted path (list indexes as numbers) set, or deleted."""
    params = copy.deepcopy(params)
    *parents, last = path.split(".")
    here = params
    for part in parents:
        here = here[int(part)] if isinstance(here, list) else here[part]
    if value is DELETE:
        del here[last]
    elif isinstance(here, list):
        here[int(last)] = value
    else:
        here[last] = value
    return params


ROLE = "arn:aws:iam::123456789012:role/failsafe"
SUSPENDED = dict.fromkeys(
    ["DynamicScalingInSuspended", "DynamicScalingOutSuspended", "ScheduledScalingSuspended"], True
)
REQUESTS = {
    ("scheduler", "CreateSchedule"): {
        "Name": "orders-by-date_1.x",
        "GroupName": "autoscaler-pauser",
        "Description": "autoscaler-pauser failsafe",
        "ScheduleExpression": "at(2026-11-26T01:31:00)",
        "ScheduleExpressionTimezone": "UTC",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {
            "Arn": "arn:aws:scheduler:::aws-sdk:ecs:updateService",
            "RoleArn": ROLE,
            "Input": "{}",
            "RetryPolicy": {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185},
        },
        "ActionAfterCompletion": "DELETE",
        "State": "ENABLED",
    },
    ("ecs", "UpdateService"): {"cluster": "autoscaler", "service": "ddb-scaler", "desiredCount": 3},
    ("ecs", "DescribeServices"): {"cluster": "c", "services": ["s"], "include": ["TAGS"]},
    ("ecs", "TagResource"): {
        "resourceArn": "arn:aws:ecs:us-east-1:123456789012:service/c/s",
        "tags": [{"key": "autoscaler-pauser:saved-scaling", "value": "in=false out=café 3"}],
    },
    ("application-autoscaling", "RegisterScalableTarget"): {
        "ServiceNamespace": "dynamodb",
        "ResourceId": "table/orders/index/by-date",
        "ScalableDimension": "dynamodb:index:ReadCapacityUnits",
        "SuspendedState": SUSPENDED,
        "Tags": {"team": "data"},
    },
    ("application-autoscaling", "DescribeScalableTargets"): {
        "ServiceNamespace": "dynamodb",
        "ResourceIds": [f"table/t{i}" for i in range(50)],
    },
    ("application-autoscaling", "PutScalingPolicy"): {
        "PolicyName": "p",
        "ServiceNamespace": "dynamodb",
        "ResourceId": "table/t",
        "ScalableDimension": "dynamodb:table:ReadCapacityUnits",
        "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 70},
    },
    ("dynamodb", "UpdateItem"): {
        "TableName": "autoscaler-pauser",
        "Key": {"name": {"S": "p"}},
        "UpdateExpression": "SET #record = :record",
        "ExpressionAttributeNames": {"#record": "record"},
        "ExpressionAttributeValues": {":record": {"S": "{}"}},
    },
    ("dynamodb", "GetItem"): {
        "TableName": "t",
        "Key": {"name": {"B": b"p"}},
        "ConsistentRead": True,
    },
    ("dynamodb", "UpdateTable"): {
        "TableName": "t",
        "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 5},
    },
    ("dynamodb", "BatchGetItem"): {
        "RequestItems": {f"t{i}": {"Keys": [{"k": {"S": "v"}}]} for i in range(100)}
    },
    ("emr", "AddTags"): {
        "ResourceId": "j-1ABCDEFGHIJKL",
        "Tags": [
            {"Key": "backup-tables", "Value": "orders users prefix:events-2026"},
            {"Key": "backup-tables-2", "Value": "café\u00a0½ team@example.com a/b=c+d_e.f"},
            {"Key": "k" * 128, "Value": "v" * 256},
            {"Key": "owner", "Value": ""},
        ],
    },
    ("ecs", "UpdateService", "union"): {
        "service": "s",
        "serviceConnectConfiguration": {
            "enabled": True,
            "containerConfigurations": [{"logLevel": "info"}],
        },
    },
}
TOO_MANY_TABLES = {f"t{i}": {"Keys": [{"k": {"S": "v"}}]} for i in range(101)}

# (request, member, a value that breaks the rule, the violation's path and rule)
BROKEN = [
    # a structure: its required members, no unknown member, a union sets exactly one
    ("scheduler.CreateSchedule", "FlexibleTimeWindow", DELETE, "FlexibleTimeWindow", "required"),
    ("scheduler.CreateSchedule", "Target.RoleArn", DELETE, "Target.RoleArn", "required"),
    ("ecs.UpdateService", "desiredcount", 3, "desiredcount", "unknown"),
    (
        "ecs.UpdateService.union",
        "serviceConnectConfiguration.containerConfigurations.0",
        {},
        "serviceConnectConfiguration.containerConfigurations[0]",
        "union",
    ),
    # types
    ("scheduler.CreateSchedule", "Name", 5, "Name", "type"),
    ("ecs.UpdateService", "desiredCount", "3", "desiredCount", "type"),
    ("ecs.UpdateService", "desiredCount", True, "desiredCount", "type"),
    (
        "dynamodb.UpdateTable",
        "ProvisionedThroughput.ReadCapacityUnits",
        1.5,
        "ProvisionedThroughput.ReadCapacityUnits",
        "type",
    ),
    ("dynamodb.GetItem", "ConsistentRead", "true", "ConsistentRead", "type"),
    ("ecs.DescribeServices", "services", "s", "services", "type"),
    ("dynamodb.GetItem", "Key", [("name", {"S": "p"})], "Key", "type"),
    ("scheduler.CreateSchedule", "FlexibleTimeWindow", "OFF", "FlexibleTimeWindow", "type"),
    ("dynamodb.GetItem", "Key.name.B", 5, "Key['name'].B", "type"),
    ("scheduler.CreateSchedule", "StartDate", "after the backup", "StartDate", "type"),
    (
        "application-autoscaling.PutScalingPolicy",
        "TargetTrackingScalingPolicyConfiguration.TargetValue",
        "70",
        "TargetTrackingScalingPolicyConfiguration.TargetValue",
        "type",
    ),
    # string lengths, in characters
    ("scheduler.CreateSchedule", "Description", "é" * 513, "Description", "max"),
    (
        "scheduler.CreateSchedule",
        "ScheduleExpressionTimezone",
        "",
        "ScheduleExpressionTimezone",
        "min",
    ),
    (
        "application-autoscaling.RegisterScalableTarget",
        "ResourceId",
        "table/" + "t" * 1595,
        "ResourceId",
        "max",
    ),
    # integer and long values
    (
        "scheduler.CreateSchedule",
        "Target.RetryPolicy.MaximumRetryAttempts",
        186,
        "Target.RetryPolicy.MaximumRetryAttempts",
        "max",
    ),
    (
        "scheduler.CreateSchedule",
        "Target.RetryPolicy.MaximumEventAgeInSeconds",
        59,
        "Target.RetryPolicy.MaximumEventAgeInSeconds",
        "min",
    ),
    (
        "dynamodb.UpdateTable",
        "ProvisionedThroughput.ReadCapacityUnits",
        0,
        "ProvisionedThroughput.ReadCapacityUnits",
        "min",
    ),
    # list lengths
    (
        "application-autoscaling.DescribeScalableTargets",
        "ResourceIds",
        [f"table/t{i}" for i in range(51)],
        "ResourceIds",
        "max",
    ),
    ("dynamodb.GetItem", "AttributesToGet", [], "AttributesToGet", "min"),
    # maps: their entries, their keys' and values' shapes
    ("dynamodb.BatchGetItem", "RequestItems", TOO_MANY_TABLES, "RequestItems", "max"),
    (
        "application-autoscaling.RegisterScalableTarget",
        "Tags",
        {"k" * 129: "v"},
        f"Tags (key {'k' * 40!r}…)",
        "max",
    ),
    (
        "application-autoscaling.RegisterScalableTarget",
        "Tags",
        {"team": "v" * 257},
        "Tags['team']",
        "max",
    ),
    ("dynamodb.UpdateItem", "Key", {"n" * 65536: {"S": "p"}}, f"Key (key {'n' * 40!r}…)", "max"),
    (
        "dynamodb.UpdateItem",
        "ExpressionAttributeNames.#record",
        "r" * 65536,
        "ExpressionAttributeNames['#record']",
        "max",
    ),
    # patterns, matched against the whole value
    ("scheduler.CreateSchedule", "Name", "orders/by-date", "Name", "pattern"),
    ("scheduler.CreateSchedule", "Name", "orders\n", "Name", "pattern"),
    ("scheduler.CreateSchedule", "Target.RoleArn", ROLE + "é", "Target.RoleArn", "pattern"),
    ("ecs.TagResource", "tags.0.key", "saved#count", "tags[0].key", "pattern"),
    (
        "application-autoscaling.RegisterScalableTarget",
        "ResourceId",
        "table/\x00",
        "ResourceId",
        "pattern",
    ),
    # EMR's tags, as EMR's docs state them (the model does not): its alphabet, their lengths
    ("emr.AddTags", "Tags.0.Value", "orders,orders-archive", "Tags[0].Value", "pattern"),
    ("emr.AddTags", "Tags.0.Value", "events-*", "Tags[0].Value", "pattern"),
    ("emr.AddTags", "Tags.0.Value", "orders\tusers", "Tags[0].Value", "pattern"),
    ("emr.AddTags", "Tags.0.Key", "backup-tables*", "Tags[0].Key", "pattern"),
    ("emr.AddTags", "Tags.0.Key", "k" * 129, "Tags[0].Key", "max"),
    ("emr.AddTags", "Tags.0.Key", "", "Tags[0].Key", "min"),
    ("emr.AddTags", "Tags.0.Value", "v" * 257, "Tags[0].Value", "max"),
    # enums
    (
        "application-autoscaling.RegisterScalableTarget",
        "ScalableDimension",
        "dynamodb:index:ReadCapacity",
        "ScalableDimension",
        "enum",
    ),
    ("ecs.DescribeServices", "include.0", "tags", "include[0]", "enum"),
    ("scheduler.CreateSchedule", "State", "ON", "State", "enum"),
]


def request(name: str) -> tuple[str, str, dict]:
    service, operation, *variant = name.split(".")
    return service, operation, REQUESTS[(service, operation, *variant)]


@pytest.mark.parametrize("name", sorted({b[0] for b in BROKEN}))
def test_a_request_that_keeps_the_contract_passes(name):
    service, operation, params = request(name)
    assert violations(service, operation, params) == []


@pytest.mark.parametrize(
    "name, member, value, path, rule",
    BROKEN,
    ids=[f"{b[0].split('.')[1]}-{b[4]}-{b[1]}" for b in BROKEN],
)
def test_a_request_that_breaks_a_rule_is_caught(name, member, value, path, rule):
    service, operation, params = request(name)
    assert violations(service, operation, changed(params, member, value)) == [(path, rule)]


def test_the_limits_are_kept_to_the_last_one():
    """512 characters is a Description Scheduler takes; 50 ids, 185 retries, 1600 characters are
    what the other operations take."""
    service, operation, params = request("scheduler.CreateSchedule")
    assert violations(service, operation, changed(params, "Description", "é" * 512)) == []
    assert violations(service, operation, changed(params, "Description", "")) == []
    service, operation, params = request("application-autoscaling.RegisterScalableTarget")
    long_id = "table/" + "t" * 1594
    assert violations(service, operation, changed(params, "ResourceId", long_id)) == []


def test_emr_s_tags_are_checked_in_the_request_that_starts_a_cluster_too():
    params = {
        "Name": "nightly-backup-orders",
        "Instances": {},
        "Tags": [{"Key": "backup-tables", "Value": "orders,users"}],
    }
    assert violations("emr", "RunJobFlow", params) == [("Tags[0].Value", "pattern")]


def test_a_violation_says_the_operation_the_rule_and_the_value_s_length():
    service, operation, params = request("scheduler.CreateSchedule")
    [found] = check_request(
        model(service).operation_model(operation), changed(params, "Description", "x" * 600)
    )
    assert str(found) == (
        f"scheduler.CreateSchedule Description: max: 600 characters: {'x' * 40!r}…, at most 512"
    )


def test_every_violation_of_a_request_is_recorded_at_once():
    service, operation, params = request("scheduler.CreateSchedule")
    params = changed(changed(params, "Name", "a/b"), "State", "ON")
    params = changed(params, "Target.RetryPolicy.MaximumRetryAttempts", 1000)
    assert sorted(violations(service, operation, params)) == [
        ("Name", "pattern"),
        ("State", "enum"),
        ("Target.RetryPolicy.MaximumRetryAttempts", "max"),
    ]


def test_an_attached_client_records_each_request_and_sends_it_all_the_same():
    """Through a real client (botocore's Stubber answers; no AWS): botocore itself takes the
    600-character Description, which AWS refuses."""
    contract = Contract(now=lambda: BEFORE)
    client = contract.attach(boto3.client("scheduler", region_name="us-east-1"))
    _, _, params = request("scheduler.CreateSchedule")
    arn = "arn:aws:scheduler:us-east-1:123456789012:schedule/autoscaler-pauser/orders"
    with Stubber(client) as stub:
        stub.add_response("create_schedule", {"ScheduleArn": arn})
        stub.add_response("create_schedule", {"ScheduleArn": arn})
        client.create_schedule(**params)
        client.create_schedule(**changed(params, "Description", "x" * 600))
    assert contract.calls == {("scheduler", "CreateSchedule"): 2}
    assert [(v.operation, v.path, v.rule) for v in contract.violations] == [
        ("scheduler.CreateSchedule", "Description", "max")
    ]


BEFORE = datetime(2026, 11, 26, 1, 0, tzinfo=timezone.utc)  # REQUESTS' schedule is due at 01:31


@pytest.mark.parametrize(
    "expression, zone, now, late",
    [
        ("at(2026-11-26T01:31:00)", "UTC", BEFORE, True),
        (
            "at(2026-11-26T01:31:00)",
            "UTC",
            datetime(2026, 11, 26, 1, 31, tzinfo=timezone.utc),
            False,
        ),
        ("at(2026-11-26T01:31:00)", "UTC", datetime(2026, 12, 6, tzinfo=timezone.utc), False),
        # 01:31 in New York is 06:31 UTC
        (
            "at(2026-11-26T01:31:00)",
            "America/New_York",
            datetime(2026, 11, 26, 6, tzinfo=timezone.utc),
            True,
        ),
        (
            "at(2026-11-26T01:31:00)",
            "America/New_York",
            datetime(2026, 11, 26, 7, tzinfo=timezone.utc),
            False,
        ),
        ("rate(5 minutes)", "UTC", datetime(2030, 1, 1, tzinfo=timezone.utc), True),
    ],
)
def test_a_schedule_sent_is_due_after_the_request_s_own_time(expression, zone, now, late):
    service, _, params = request("scheduler.CreateSchedule")
    params = changed(
        changed(params, "ScheduleExpression", expression), "ScheduleExpressionTimezone", zone
    )
    for name in ("CreateSchedule", "UpdateSchedule"):
        found = check_time(model(service).operation_model(name), params, now)
        assert [(v.path, v.rule) for v in found] == (
            [] if late else [("ScheduleExpression", "past")]
        )


def test_an_attached_client_checks_a_schedule_s_time_by_the_clock_it_is_given():
    contract = Contract(now=lambda: datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc))
    client = contract.attach(boto3.client("scheduler", region_name="us-east-1"))
    _, _, params = request("scheduler.CreateSchedule")
    arn = "arn:aws:scheduler:us-east-1:123456789012:schedule/autoscaler-pauser/orders"
    with Stubber(client) as stub:
        stub.add_response("create_schedule", {"ScheduleArn": arn})
        client.create_schedule(**params)
    [found] = contract.violations
    assert str(found) == (
        "scheduler.CreateSchedule ScheduleExpression: past: at(2026-11-26T01:31:00) is not "
        "after the request's time, 2026-11-26T02:00:00+00:00"
    )


# --- the models' patterns, as Java reads them -------------------------------------------------

# Every pattern of the shapes of the operations the tool calls, with values Java's regex takes
# and values it refuses (whole-value match). A pattern a new operation or a new botocore brings
# fails test_every_pattern_the_tool_s_operations_have_is_tried until it is added here.
PATTERNS = {
    "[0-9a-zA-Z-_.]+": (["orders-by-date_1.x", "-"], ["", "a/b", "a:b", "é", "a\n"]),
    "[a-zA-Z0-9-_]+": (["1f0e-4c2b_x"], ["", "a.b", "a b"]),
    "[a-zA-Z0-9_.-]+": (["by-date_1.x", "-"], ["", "a/b", "a b", "é"]),
    "[^/]+": (["a b:c", "é"], ["", "a/b"]),
    "[A-Za-z0-9\\-_]*": (["", "a-b_C"], ["a.b", "a b"]),
    "arn:aws[a-z-]*:iam::\\d{12}:role\\/[\\w+=,.@\\/-]+": (
        [ROLE, "arn:aws-us-gov:iam::123456789012:role/path/x+=,.@-_"],
        [ROLE + "é", "arn:aws:iam::123456789012:user/x", "arn:aws:iam::١٢٣٤٥٦٧٨٩٠١٢:role/x"],
    ),
    "arn:aws[a-z-]*:kms:[a-z0-9\\-]+:\\d{12}:(key|alias)\\/[0-9a-zA-Z-_]*": (
        [
            "arn:aws:kms:us-east-1:123456789012:key/1f0e-4c2b",
            "arn:aws-cn:kms:cn-north-1:123456789012:alias/x",
        ],
        ["arn:aws:kms:us-east-1:123456789012:grant/x", "arn:aws:kms:us-east-1:1234:key/x"],
    ),
    "arn:aws[a-z-]*:sqs:[a-z0-9\\-]+:\\d{12}:[a-zA-Z0-9\\-_]+": (
        ["arn:aws:sqs:us-east-1:123456789012:failsafe-dlq_1"],
        ["arn:aws:sns:us-east-1:123456789012:x", "arn:aws:sqs:us-east-1:123456789012:a.fifo"],
    ),
    # Java's . is no line terminator: a \n or \u2028 ends what .* takes.
    "(?=[/\\.\\-_A-Za-z0-9]+)((?!aws\\.).*)|(\\$(\\.[\\w_-]+(\\[(\\d+|\\*)\\])*)*)": (
        ["com.example", "my-app", "$.detail[0]", "$.a.b[*]"],
        ["aws.events", "a\nb", "a\u2028b", "$x", ""],
    ),
    # PutEvents' EventBusName: a bus's name, or its ARN.
    "(arn:aws[\\w-]*:events:[a-z]+-[a-z]+-[\\w-]+:[0-9]{12}:event-bus\\/)?[\\.\\-_A-Za-z0-9]+": (
        [
            "default",
            "on-call.team_1",
            "arn:aws:events:us-east-1:123456789012:event-bus/on-call",
            "arn:aws-us-gov:events:us-gov-west-1:123456789012:event-bus/default",
        ],
        ["", "aws.partner/saas/x", "on call", "é", "arn:aws:events:us-east-1:1234:event-bus/x"],
    ),
    # PutEvents' EndpointId (the tool sends none).
    "^[A-Za-z0-9\\-]+[\\.][A-Za-z0-9\\-]+$": (
        ["abcde.veo", "a-1.b-2"],
        ["", "abc", "a.b.c", "a_b.c"],
    ),
    # A supplementary code point, written in Java as the surrogate pair \uD800\uDC00.
    "[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\r\\n\\t]*": (
        ["table/orders/index/by-date", "", "😀", "a\tb\r\n", "\U0010ffff"],
        ["\x00", "a\x1fb", "\ufffe", "\x7f\x00"],
    ),
    # \p{L}, \p{Z}, \p{N}: letters, separators, numbers of every script.
    "([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)": (
        ["autoscaler-pauser:saved-count", "in=false out=true", "café ٣ 日本", "", "a\u2028b"],
        ["a#b", "a!b", "a\tb", "😀", "a,b"],
    ),
}


def tool_patterns() -> set[str]:
    """The patterns of every shape in the input of every operation the tool's source calls."""
    return {
        shape.metadata["pattern"]
        for service, operation in called_in_source()
        for shape in shapes_in(model(service).operation_model(operation).input_shape)
        if "pattern" in shape.metadata
    }


def test_every_pattern_the_tool_s_operations_have_is_tried():
    assert tool_patterns() <= set(PATTERNS), sorted(tool_patterns() - set(PATTERNS))


@pytest.mark.parametrize("pattern", sorted(PATTERNS))
def test_a_model_pattern_takes_and_refuses_what_java_does(pattern):
    taken, refused = PATTERNS[pattern]
    regex = compiled(pattern)
    assert [v for v in taken if not regex.fullmatch(v)] == []
    assert [v for v in refused if regex.fullmatch(v)] == []


@pytest.mark.parametrize(
    "java, python",
    [
        ("[\\uD800\\uDC00-\\uDBFF\\uDFFF]", "[\\U00010000-\\U0010FFFF]"),
        ("a.b\\z", "a[^\\n\\r\\x85\\u2028\\u2029]b\\Z"),
        ("[.]", "[.]"),
        ("[\\w-_]+", "[\\w\\-_]+"),
        ("[a||b]", "[a\\|\\|b]"),
        ("\\p{Digit}+", "[0-9]+"),
        ("[\\p{Alnum}_]", "[a-zA-Z0-9_]"),
        ("\\[a.b\\]", "\\[a[^\\n\\r\\x85\\u2028\\u2029]b\\]"),
    ],
)
def test_java_patterns_are_converted_where_python_reads_them_otherwise(java, python):
    assert python_pattern(java) == python


def test_a_unicode_category_outside_a_class_and_negated_is_a_class():
    assert compiled("\\p{Lu}+").fullmatch("ÉA") and not compiled("\\p{Lu}+").fullmatch("Éa")
    assert compiled("\\P{N}+").fullmatch("ab") and not compiled("\\P{N}+").fullmatch("a٣")
    assert compiled("\\pL").fullmatch("ж")


@pytest.mark.parametrize(
    "java", ["[\\p{Print}&&[^|:/]]+", "[a[b]]", "[\\P{C}\\s]+", "[\\p{Whatever}]", "a\\Z", "\\h"]
)
def test_a_pattern_java_reads_otherwise_is_unsupported_not_misread(java):
    with pytest.raises(UnsupportedPattern):
        compiled(java)


def test_a_value_of_a_pattern_that_cannot_be_converted_is_a_violation_not_a_pass():
    shape = Shape("Odd", {"type": "string", "pattern": "[a&&b]"})
    [(path, rule, detail)] = check_value(shape, "a", "Odd")
    assert (path, rule) == ("Odd", "pattern") and "cannot be checked here" in detail


def test_a_timestamp_is_a_datetime_or_what_botocore_reads_as_one():
    service, operation, params = request("scheduler.CreateSchedule")
    for when in (
        datetime(2026, 11, 26, tzinfo=timezone.utc),
        "2026-11-26T01:31:00Z",
        1_790_000_000,
    ):
        assert violations(service, operation, changed(params, "StartDate", when)) == []


def test_a_shape_the_checker_has_no_rule_for_is_reported_not_passed():
    [(path, rule, _)] = check_value(Shape("Odd", {"type": "bigdecimal"}), 1, "Odd")
    assert (path, rule) == ("Odd", "checker")
