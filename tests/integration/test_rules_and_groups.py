"""The autoscalers that are not an ECS service: a Lambda fired by an EventBridge schedule rule,
and a daemon in an EC2 Auto Scaling group, each paused through main() against moto in process.
A config of either alone is enough; every matching cluster holds them."""

from __future__ import annotations

import json

import pytest

from autoscaler_pauser.cli import main
from tests.support.state import read as read_state
from tests.support.tool import base_env

RULE, GROUP = "scaler-tick", "dynamic-dynamodb"
ONLY = {"AUTOSCALER_CLUSTER": None, "AUTOSCALER_SERVICE": None}


def run(world, tmp_path, **env):
    environ = {k: v for k, v in {**base_env(tmp_path), **ONLY, **env}.items() if v is not None}
    return main([], environ=environ, aws_factory=world.clients)


def rules(world, tmp_path, *names):
    return run(world, tmp_path, EVENTBRIDGE_RULES=",".join(names))


def groups(world, tmp_path, *names):
    return run(world, tmp_path, AUTOSCALING_GROUPS=",".join(names))


def state(tmp_path):
    return read_state(tmp_path / "state" / "state.json")


def ran_before(tmp_path, targets=None):
    """The state of a pauser that has run before, with nothing paused, or holding `targets`
    (key -> its record) in a pause of every table that began at 01:00."""
    path = tmp_path / "state" / "state.json"
    path.parent.mkdir(mode=0o700)
    scopes = {}
    if targets:
        stamp = "2026-11-26T01:00:00Z"
        scopes["*"] = {"paused_at": stamp, "last_seen": stamp, "targets": targets}
    record = {"format": 2, "pauser": "autoscaler-pauser", "scopes": scopes}
    path.write_text(json.dumps({"version": 2, "pause": record, "run": {}}))


def test_a_rules_only_night_disables_the_enabled_rule_and_leaves_a_disabled_one(
    world, tmp_path, capsys
):
    world.create_rule(RULE)
    world.create_rule("off-before", state="DISABLED")
    ran_before(tmp_path)
    cid = world.start_cluster("nightly-backup-orders")
    assert rules(world, tmp_path, RULE, "off-before") == 0
    assert world.rule_state(RULE) == "DISABLED"
    assert world.rule_state("off-before") == "DISABLED"
    assert state(tmp_path)["saved"] == {
        f"eventbridge-rule:us-east-1/{RULE}": "ENABLED",
        "eventbridge-rule:us-east-1/off-before": "DISABLED",
    }
    err = capsys.readouterr().err
    assert f"paused rule {RULE} ENABLED → DISABLED: 1 active cluster matches" in err
    assert f"({cid})" in err
    world.calls.clear()
    assert rules(world, tmp_path, RULE, "off-before") == 0  # a steady run writes nothing
    assert set(world.calls) == {"ListClusters", "DescribeRule"}
    world.stop_cluster(cid)
    assert rules(world, tmp_path, RULE, "off-before") == 0
    assert world.rule_state(RULE) == "ENABLED"
    assert world.rule_state("off-before") == "DISABLED"
    assert state(tmp_path)["saved"] == {} and not state(tmp_path)["paused"]


def test_a_rule_enabled_by_hand_mid_pause_is_disabled_again_and_resumed_once(world, tmp_path):
    world.create_rule(RULE)
    cid = world.start_cluster("nightly-backup-orders")
    assert rules(world, tmp_path, RULE) == 0
    world.events.enable_rule(Name=RULE)
    assert rules(world, tmp_path, RULE) == 0
    assert world.rule_state(RULE) == "DISABLED"
    world.stop_cluster(cid)
    assert rules(world, tmp_path, RULE) == 0
    assert world.rule_state(RULE) == "ENABLED"


def test_a_missing_rule_fails_the_run_naming_it_and_its_region(world, tmp_path, capsys):
    world.start_cluster("nightly-backup-orders")
    assert rules(world, tmp_path, "no-such-rule") == 1
    err = capsys.readouterr().err
    assert "EventBridge rule 'no-such-rule' not found on the default event bus in us-east-1" in err


def test_a_groups_only_night_takes_the_group_to_zero_and_back_leaving_max_size(world, tmp_path):
    world.create_group(GROUP, low=1, high=2, desired=1)
    cid = world.start_cluster("nightly-backup-orders")
    assert groups(world, tmp_path, GROUP) == 0
    assert world.group(GROUP) == (0, 2, 0)
    assert state(tmp_path)["saved"] == {f"autoscaling-group:us-east-1/{GROUP}": [1, 1]}
    world.calls.clear()
    assert groups(world, tmp_path, GROUP) == 0
    assert set(world.calls) == {"ListClusters", "DescribeAutoScalingGroups"}
    world.stop_cluster(cid)
    assert groups(world, tmp_path, GROUP) == 0
    assert world.group(GROUP) == (1, 2, 1)


def test_a_group_scaled_up_by_hand_mid_pause_is_paused_again_and_resumed_to_its_first_sizes(
    world, tmp_path
):
    world.create_group(GROUP, low=2, high=4, desired=3)
    cid = world.start_cluster("nightly-backup-orders")
    assert groups(world, tmp_path, GROUP) == 0
    world.autoscaling.update_auto_scaling_group(AutoScalingGroupName=GROUP, DesiredCapacity=1)
    assert groups(world, tmp_path, GROUP) == 0
    assert world.group(GROUP) == (0, 4, 0)
    world.stop_cluster(cid)
    assert groups(world, tmp_path, GROUP) == 0
    assert world.group(GROUP) == (2, 4, 3)


def test_a_group_at_zero_before_the_night_stays_at_zero(world, tmp_path):
    world.create_group(GROUP, low=0, high=2, desired=0)
    ran_before(tmp_path)
    cid = world.start_cluster("nightly-backup-orders")
    assert groups(world, tmp_path, GROUP) == 0
    assert world.group(GROUP) == (0, 2, 0)
    world.stop_cluster(cid)
    assert groups(world, tmp_path, GROUP) == 0
    assert world.group(GROUP) == (0, 2, 0)


def test_a_missing_group_fails_the_run_naming_it(world, tmp_path, capsys):
    world.start_cluster("nightly-backup-orders")
    assert groups(world, tmp_path, "no-such-group") == 1
    assert "Auto Scaling group 'no-such-group' not found in us-east-1" in capsys.readouterr().err


@pytest.mark.parametrize(
    "saved, why",
    [("enabled", "not a setting it can have"), ([2, 1], "not a setting it can have")],
    ids=["a rule's state in lower case", "a group's minimum above its desired"],
)
def test_a_bad_saved_value_is_ignored_with_a_warning_and_the_default_used(
    world, tmp_path, capsys, saved, why
):
    """A saved setting that cannot be one is warned of, as for the service: the rule is
    enabled, the group given the default sizes."""
    world.create_rule(RULE, state="DISABLED")
    world.create_group(GROUP, low=0, high=2, desired=0)
    key = (
        f"eventbridge-rule:us-east-1/{RULE}"
        if isinstance(saved, str)
        else f"autoscaling-group:us-east-1/{GROUP}"
    )
    ran_before(tmp_path, {key: {"saved": saved}})
    code = run(world, tmp_path, EVENTBRIDGE_RULES=RULE, AUTOSCALING_GROUPS=GROUP)
    assert code == 0
    err = capsys.readouterr().err
    assert f"ignored the saved setting of {key}" in err and why in err
    if isinstance(saved, str):
        assert world.rule_state(RULE) == "ENABLED"
    else:
        assert world.group(GROUP) == (1, 2, 1)


def test_the_service_rules_groups_and_tables_pause_and_resume_together(world, tmp_path):
    from tests.support.world import SCALING, SUSPENDED, add_table, targets

    world.create_service(desired=3)
    world.create_rule(RULE)
    world.create_group(GROUP, low=1, high=2, desired=1)
    add_table(world, "orders", indexes=("by-date",))
    env = {**{k: None for k in ONLY}, "AUTOSCALER_CLUSTER": "autoscaler"}
    env |= {"AUTOSCALER_SERVICE": "ddb-scaler", "DYNAMODB_TABLES": "orders"}
    env |= {"EVENTBRIDGE_RULES": RULE, "AUTOSCALING_GROUPS": GROUP}
    cid = world.start_cluster("nightly-backup-orders")
    assert run(world, tmp_path, **env) == 0
    assert world.desired() == 0 and world.rule_state(RULE) == "DISABLED"
    assert world.group(GROUP) == (0, 2, 0)
    assert all(t[0] == SUSPENDED for t in targets(world).values())
    world.stop_cluster(cid)
    assert run(world, tmp_path, **env) == 0
    assert world.desired() == 3 and world.rule_state(RULE) == "ENABLED"
    assert world.group(GROUP) == (1, 2, 1)
    assert all(t[0] == SCALING for t in targets(world).values())


def test_each_failsafe_restore_applied_by_hand_gives_the_target_back(world, tmp_path):
    """What a rule's and a group's schedule would call, made by hand mid-pause: the rule is
    enabled, the group has its sizes back."""
    from autoscaler_pauser.targets import restore_call, setting_of

    world.create_rule(RULE)
    world.create_group(GROUP, low=1, high=3, desired=2)
    ran_before(tmp_path)
    world.start_cluster("nightly-backup-orders")
    assert run(world, tmp_path, EVENTBRIDGE_RULES=RULE, AUTOSCALING_GROUPS=GROUP) == 0
    assert world.rule_state(RULE) == "DISABLED" and world.group(GROUP) == (0, 3, 0)
    clients = {"eventbridge": world.events, "autoscaling": world.autoscaling}
    for key, value in state(tmp_path)["saved"].items():
        call = restore_call(key, setting_of(key, value))
        action = "".join("_" + c.lower() if c.isupper() else c for c in call.action)
        getattr(clients[call.service], action)(**call.input)
    assert world.rule_state(RULE) == "ENABLED" and world.group(GROUP) == (1, 3, 2)
