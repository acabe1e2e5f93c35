"""Each kind of target answers for its own keys: the registry finds a key's kind, and the kind
makes the call that restores its target; a key no kind makes is an error."""

from __future__ import annotations

import dataclasses

import pytest

from autoscaler_pauser.config import Config
from autoscaler_pauser.model import EVERY_TABLE, SUSPENDED, Suspension
from autoscaler_pauser.targets import (
    configured,
    kind_of,
    region_of,
    restore_call,
    scope_of,
    setting_of,
)
from autoscaler_pauser.targets.dynamodb import DynamoDbScaling
from autoscaler_pauser.targets.ecs import EcsService, EcsServiceScaling
from autoscaler_pauser.targets.kind import UnknownTarget
from tests.unit import scene

# The shared night, each kind in a region of its own: a key's region is its kind's, never
# another's.
CONFIG = dataclasses.replace(
    scene.CONFIG, autoscaler_region="eu-west-1", dynamodb_region="us-west-2"
)
SERVICE = "ecs:eu-west-1/autoscaler/ddb-scaler"
SERVICE_SCALING = "ecs-scaling:eu-west-1/autoscaler/ddb-scaler"
INDEX = "dynamodb:us-west-2/table/orders/index/by-date:write"


@pytest.mark.parametrize(
    "key, kind, region",
    [
        (SERVICE, EcsService, "eu-west-1"),
        (SERVICE_SCALING, EcsServiceScaling, "eu-west-1"),
        (INDEX, DynamoDbScaling, "us-west-2"),
    ],
)
def test_a_key_belongs_to_one_kind_which_knows_its_region(key, kind, region):
    assert kind_of(key) is kind
    assert region_of(key) == region
    assert configured(key, CONFIG)


@pytest.mark.parametrize(
    "key", ["", "ecs-service:autoscaler/ddb-scaler", "aas:lambda:function:f", "x"]
)
def test_a_key_no_kind_makes_is_an_error_not_a_default(key):
    with pytest.raises(UnknownTarget, match="is the key of no kind of target"):
        kind_of(key)
    with pytest.raises(UnknownTarget):
        restore_call(key, 3)
    with pytest.raises(UnknownTarget):
        region_of(key)


# key -> its scope; whether this config names it
SCOPES = [
    (SERVICE, EVERY_TABLE, True),
    (SERVICE_SCALING, EVERY_TABLE, True),
    (INDEX, "orders", True),
    ("dynamodb:us-west-2/table/orders:read", "orders", True),
    ("dynamodb:us-west-2/table/users:read", "users", False),  # not a listed table
    ("dynamodb:us-east-1/table/orders:read", "orders", False),  # another region
    ("ecs:eu-west-1/autoscaler/other", EVERY_TABLE, False),
]


@pytest.mark.parametrize("key, scope, named", SCOPES)
def test_a_kind_knows_the_scope_of_its_keys_and_whether_the_config_names_them(key, scope, named):
    assert scope_of(key) == scope and configured(key, CONFIG) is named


def test_a_dimension_the_config_leaves_out_is_not_named():
    reads = dataclasses.replace(CONFIG, dynamodb_dimensions=("read",))
    assert configured("dynamodb:us-west-2/table/orders:read", reads)
    assert not configured(INDEX, reads)


# kind's key, value read back -> the setting, or None when it is not one
SETTINGS = [
    (SERVICE, 3, 3),
    (SERVICE, 2147483647, 2147483647),
    (SERVICE, 2147483648, None),
    (SERVICE, 0, None),
    (SERVICE, -3, None),
    (SERVICE, True, None),
    (SERVICE, "3", None),
    (SERVICE, [False, False, False], None),
    (INDEX, [True, False, True], Suspension(True, False, True)),
    (INDEX, [True, False], None),
    (INDEX, [1, 0, 1], None),
    (INDEX, 3, None),
    (SERVICE_SCALING, [False, False, False], Suspension(False, False, False)),
]


@pytest.mark.parametrize("key, value, setting", SETTINGS)
def test_a_setting_read_back_is_checked_by_its_kind(key, value, setting):
    assert setting_of(key, value) == setting


def test_the_service_key_the_config_names_is_the_one_its_kind_makes():
    assert EcsService.configured_key(CONFIG) == SERVICE
    tables_only = Config(emr_prefix=("b-",), emr_region="us-east-1", dynamodb_tables=("t1t",))
    assert EcsService.configured_key(tables_only) is None


def test_the_service_is_restored_by_update_service_with_its_count():
    call = restore_call(SERVICE, 3)
    assert (call.service, call.action) == ("ecs", "updateService")
    assert call.input == {"Cluster": "autoscaler", "Service": "ddb-scaler", "DesiredCount": 3}


@pytest.mark.parametrize(
    "key, namespace, resource, dimension",
    [
        (SERVICE_SCALING, "ecs", "service/autoscaler/ddb-scaler", "ecs:service:DesiredCount"),
        (INDEX, "dynamodb", "table/orders/index/by-date", "dynamodb:index:WriteCapacityUnits"),
        (
            "dynamodb:us-west-2/table/orders:read",
            "dynamodb",
            "table/orders",
            "dynamodb:table:ReadCapacityUnits",
        ),
    ],
)
def test_a_scalable_target_is_restored_with_exactly_its_three_flags(
    key, namespace, resource, dimension
):
    call = restore_call(key, Suspension(True, False, True))
    assert (call.service, call.action) == ("applicationautoscaling", "registerScalableTarget")
    assert call.input == {
        "ServiceNamespace": namespace,
        "ResourceId": resource,
        "ScalableDimension": dimension,
        "SuspendedState": {
            "DynamicScalingInSuspended": True,
            "DynamicScalingOutSuspended": False,
            "ScheduledScalingSuspended": True,
        },
    }


@pytest.mark.parametrize("key, setting", [(SERVICE, SUSPENDED), (INDEX, 3), (SERVICE_SCALING, 0)])
def test_a_setting_of_the_wrong_kind_is_never_made_a_call(key, setting):
    with pytest.raises(ValueError, match="setting is its"):
        restore_call(key, setting)


def test_keys_made_by_a_kind_are_found_again_by_the_registry():
    assert kind_of(DynamoDbScaling.key_of("us-east-1", "table/t", "read")) is DynamoDbScaling
    assert kind_of(EcsService.key_of("us-east-1", "c", "s")) is EcsService
    assert kind_of(EcsServiceScaling.key_of("us-east-1", "c", "s")) is EcsServiceScaling
