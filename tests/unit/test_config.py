"""Config: file + environment, every problem reported at once, docs made from the same table."""

from __future__ import annotations

import re

import pytest

from autoscaler_pauser.config import KEYS, ConfigError, load_config
from autoscaler_pauser.keys import Kind
from autoscaler_pauser.model import EVERY_TABLE
from autoscaler_pauser.targets.dynamodb import DynamoDbScaling
from tests.support.tool import ROOT
from tests.unit.scene import ENV

ENV_ONLY = {
    "EMR_PREFIX": "nightly-backup-",
    "EMR_REGION": "us-east-1",
    "AUTOSCALER_CLUSTER": "autoscaler",
    "AUTOSCALER_REGION": "eu-west-1",
    "AUTOSCALER_SERVICE": "ddb-scaler",
}


def test_original_environment_variables_alone_are_a_full_config():
    config = load_config(None, ENV_ONLY)
    assert config.emr_prefix == ("nightly-backup-",)
    assert config.autoscaler_region == "eu-west-1"
    assert config.resume_count == 1 and config.lock_timeout == 10
    assert config.state_file == "/var/lib/autoscaler-pauser/state.json"
    assert config.lock_path == "/var/lib/autoscaler-pauser/state.json.lock"
    assert config.debug_output is False


@pytest.mark.parametrize("value", ["", "1", "false", "anything"])
def test_debug_output_present_in_environment_turns_it_on(value):
    assert load_config(None, {**ENV_ONLY, "DEBUG_OUTPUT": value}).debug_output


def test_environment_wins_over_file(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text((ROOT / "config.example.yaml").read_text() + "resume_count: 4\n")
    config = load_config(str(f), {"EMR_PREFIX": "adhoc-", "RESUME_COUNT": "7"})
    assert config.emr_prefix == ("adhoc-",) and config.resume_count == 7
    assert config.autoscaler_service == "ddb-scaler"


def test_tables_alone_are_a_target_and_take_the_autoscaler_region_by_default():
    env = {"EMR_PREFIX": "b-", "EMR_REGION": "us-east-1", "DYNAMODB_TABLES": "orders, users,"}
    config = load_config(None, {**env, "DYNAMODB_REGION": "eu-west-1"})
    assert config.dynamodb_tables == ("orders", "users") and config.autoscaler_service is None
    assert DynamoDbScaling.home_region(config) == "eu-west-1"
    assert config.scopes == ("orders", "users")
    both = load_config(None, {**ENV_ONLY, "DYNAMODB_TABLES": "orders"})
    assert both.autoscaler_service and DynamoDbScaling.home_region(both) == "eu-west-1"
    assert both.scopes == (EVERY_TABLE, "orders")


def test_prefix_list_from_file_and_env():
    env = {**ENV_ONLY, "EMR_PREFIX": "a-,b-,a-"}
    assert load_config(None, env).emr_prefix == ("a-", "b-")


def test_example_config_loads_as_each_key_s_example_or_default():
    config = load_config(str(ROOT / "config.example.yaml"), {})
    for key in KEYS:
        expected = key.example if key.example is not None else key.default
        if key.kind is Kind.PREFIXES:
            expected = (expected,)
        if key.kind in (Kind.TABLES, Kind.DIMENSIONS, Kind.NAMES):
            expected = tuple(expected)
        assert getattr(config, key.name) == expected, key.name


def test_every_problem_is_reported_at_once(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("emr_prefix: ' '\nemr_region: moon\nresume_count: -1\nbogus: 1\n")
    with pytest.raises(ConfigError) as e:
        load_config(str(f), {})
    assert e.value.problems == [
        "bogus: unknown key",
        "emr_prefix: must not be blank",
        "emr_region: is not a region name like us-east-1, got 'moon'",
        "resume_count: must be at least 1, got -1",
        "autoscaler_cluster: required (set it in the config file or AUTOSCALER_CLUSTER), "
        "unless dynamodb_tables, eventbridge_rules or autoscaling_groups is set",
        "autoscaler_region: required (set it in the config file or AUTOSCALER_REGION), "
        "unless dynamodb_tables, eventbridge_rules or autoscaling_groups is set",
        "autoscaler_service: required (set it in the config file or AUTOSCALER_SERVICE), "
        "unless dynamodb_tables, eventbridge_rules or autoscaling_groups is set",
    ]


def test_a_region_alone_names_no_target_and_is_not_asked_for_again():
    env = {"EMR_PREFIX": "b-", "EMR_REGION": "us-east-1", "AUTOSCALER_REGION": "us-east-1"}
    for blank_tables in ({},):
        with pytest.raises(ConfigError) as e:
            load_config(None, {**env, **blank_tables})
        assert e.value.problems == [
            "autoscaler_cluster: required (set it in the config file or AUTOSCALER_CLUSTER), "
            "unless dynamodb_tables, eventbridge_rules or autoscaling_groups is set",
            "autoscaler_service: required (set it in the config file or AUTOSCALER_SERVICE), "
            "unless dynamodb_tables, eventbridge_rules or autoscaling_groups is set",
        ]


def test_the_docs_list_every_environment_name():
    page = (ROOT / "docs" / "configuration.md").read_text()
    for key in KEYS:
        assert re.search(rf"`{key.env}`", page), key.env


@pytest.mark.parametrize(
    "bus, region",
    [
        ("default", "us-east-1"),
        ("on-call", "us-east-1"),
        ("arn:aws:events:eu-west-1:123456789012:event-bus/on-call", "eu-west-1"),
        ("arn:aws-us-gov:events:us-gov-west-1:123456789012:event-bus/default", "us-gov-west-1"),
    ],
)
def test_events_bus_is_a_name_in_the_autoscaler_s_region_or_an_arn_in_its_own(bus, region):
    config = load_config(None, {**ENV, "EVENTS_BUS": bus})
    assert config.events_bus == bus and config.events_region == region


def test_events_bus_of_tables_only_is_in_their_region():
    env = {k: v for k, v in ENV.items() if not k.startswith("AUTOSCALER_")}
    env.update(DYNAMODB_TABLES="orders", DYNAMODB_REGION="eu-central-1", EVENTS_BUS="on-call")
    assert load_config(None, env).events_region == "eu-central-1"


def test_without_events_bus_there_are_no_events():
    config = load_config(None, ENV)
    assert config.events_bus is None and config.events_region is None
