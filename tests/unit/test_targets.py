"""Each kind of target answers for its own keys: the registry finds a key's kind, and the kind
makes the call that restores its target; a key no kind makes is an error."""

from __future__ import annotations

import pytest

from autoscaler_pauser.config import Config
from autoscaler_pauser.model import SUSPENDED, Suspension
from autoscaler_pauser.targets import kind_of, region_of, restore_call
from autoscaler_pauser.targets.dynamodb import DynamoDbScaling
from autoscaler_pauser.targets.ecs import EcsService, EcsServiceScaling
from autoscaler_pauser.targets.kind import UnknownTarget

CONFIG = Config(
    emr_prefix=("nightly-backup-",),
    emr_region="us-east-1",
    autoscaler_cluster="autoscaler",
    autoscaler_region="eu-west-1",
    autoscaler_service="ddb-scaler",
    dynamodb_tables=("orders",),
    dynamodb_region="us-west-2",
)
SERVICE = "ecs-service:autoscaler/ddb-scaler"
SERVICE_SCALING = "aas:ecs:service/autoscaler/ddb-scaler"
INDEX = "aas:dynamodb:table/orders/index/by-date:dynamodb:index:WriteCapacityUnits"


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
    assert region_of(key, CONFIG) == region


@pytest.mark.parametrize("key", ["", "ecs:autoscaler/ddb-scaler", "aas:lambda:function:f", "x"])
def test_a_key_no_kind_makes_is_an_error_not_a_default(key):
    with pytest.raises(UnknownTarget, match="is the key of no kind of target"):
        kind_of(key)
    with pytest.raises(UnknownTarget):
        restore_call(key, 3)
    with pytest.raises(UnknownTarget):
        region_of(key, CONFIG)


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
            "aas:dynamodb:table/orders:dynamodb:table:ReadCapacityUnits",
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
    assert kind_of(DynamoDbScaling.key_of("table/t", "dynamodb:table:ReadCapacityUnits")) is (
        DynamoDbScaling
    )
    assert kind_of(EcsService.key_of("c", "s")) is EcsService
