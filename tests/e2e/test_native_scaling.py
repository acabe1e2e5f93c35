"""DynamoDB's native auto scaling (Application Auto Scaling) as a target, and an ECS autoscaler
service that is itself a scalable target; against moto server over real HTTP."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from autoscaler_pauser.cli import main
from autoscaler_pauser.targets.ecs import SAVED_SCALING_TAG
from tests.support.state import read as read_state
from tests.support.tool import base_env, run_tool
from tests.support.world import READ, SCALING, SUSPENDED, WRITE, add_table, register, targets


@pytest.fixture
def aws(server_world, moto_server, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    return server_world


def hook(world, event, handler):
    """Have every client the tool makes call handler on a botocore event."""
    original = world.clients

    def clients(config, session=None):
        aws = original(config, session)
        make = aws.make

        def make_hooked(service, region):
            client = make(service, region)
            client.meta.events.register(event, handler)
            return client

        aws.make = make_hooked
        return aws

    world.clients = clients


def run(world, tmp_path, **env):
    environ = base_env(tmp_path, **env)
    return main([], environ=environ, aws_factory=world.clients)


def tables_only(tmp_path, tables="orders,users,archive"):
    env = base_env(tmp_path, DYNAMODB_TABLES=tables)
    for name in ("AUTOSCALER_CLUSTER", "AUTOSCALER_SERVICE"):
        env.pop(name)
    return env


def state(tmp_path):
    return read_state(tmp_path / "state" / "state.json")


def test_tables_and_indexes_are_suspended_during_backup_and_restored(aws, tmp_path, capsys):
    add_table(aws, "orders", indexes=["by-date"])
    add_table(aws, "users")
    add_table(aws, "not-listed")
    env = tables_only(tmp_path)

    cid = aws.start_cluster("nightly-backup-1")
    assert run_tool([], {**env, "AWS_ENDPOINT_URL": aws.ecs.meta.endpoint_url}).returncode == 0
    after = targets(aws)
    ours = [k for k in after if not k.startswith("table/not-listed")]
    assert len(ours) == 6
    assert all(after[k][0] == SUSPENDED for k in ours)
    assert all(after[k][1:] == (5, 500) for k in after), "Min/Max must never change"
    assert after["table/not-listed ReadCapacityUnits"][0] == SCALING

    aws.stop_cluster(cid)
    r = run_tool([], {**env, "AWS_ENDPOINT_URL": aws.ecs.meta.endpoint_url})
    assert r.returncode == 0, r.stderr
    assert "resumed table/orders/index/by-date read suspended → scaling" in r.stderr
    assert "table archive has no Application Auto Scaling target" in r.stderr
    assert all(v[0] == SCALING for v in targets(aws).values())


def test_steady_run_reads_once_per_kind_and_never_passes_capacity(aws, tmp_path):
    add_table(aws, "orders", indexes=["by-date"])
    aws.create_service(desired=3)
    sent = []
    hook(
        aws,
        "provide-client-params.*.RegisterScalableTarget",
        lambda params, **_: sent.append(params),
    )
    env = {"DYNAMODB_TABLES": "orders"}
    assert run(aws, tmp_path, **env) == 0
    assert dict(aws.calls) == {
        "ListClusters": 1,
        "DescribeServices": 1,
        "DescribeScalableTargets": 1,
    }
    aws.calls.clear()
    aws.start_cluster("nightly-backup-1")
    assert run(aws, tmp_path, **env) == 0
    assert aws.calls["RegisterScalableTarget"] == 4 and aws.calls["UpdateService"] == 1
    assert sent and all("MinCapacity" not in p and "MaxCapacity" not in p for p in sent)
    aws.calls.clear()
    assert run(aws, tmp_path, **env) == 0
    assert sum(aws.calls.values()) == 3, aws.calls


def test_target_suspended_by_hand_stays_suspended_and_partial_is_restored(aws, tmp_path):
    add_table(aws, "orders")
    add_table(aws, "users")
    env = tables_only(tmp_path)
    assert main([], environ=env, aws_factory=aws.clients) == 0  # before the backup
    register(aws, "table/users", f"dynamodb:table:{READ}", SUSPENDED)
    partial = {**SCALING, "ScheduledScalingSuspended": True}
    register(aws, "table/users", f"dynamodb:table:{WRITE}", partial)
    assert main([], environ=env, aws_factory=aws.clients) == 0  # still no backup
    assert targets(aws)["table/users ReadCapacityUnits"][0] == SUSPENDED
    cid = aws.start_cluster("nightly-backup-1")
    assert main([], environ=env, aws_factory=aws.clients) == 0
    assert all(v[0] == SUSPENDED for v in targets(aws).values())
    aws.stop_cluster(cid)
    assert main([], environ=env, aws_factory=aws.clients) == 0
    after = targets(aws)
    assert after["table/users ReadCapacityUnits"][0] == SUSPENDED
    assert after["table/users WriteCapacityUnits"][0] == partial
    assert after["table/orders ReadCapacityUnits"][0] == SCALING
    assert state(tmp_path)["saved"] == {}


def test_state_file_lost_mid_pause_unsuspends_only_fully_suspended(aws, tmp_path):
    add_table(aws, "orders")
    partial = {**SCALING, "DynamicScalingInSuspended": True}
    register(aws, "table/users", f"dynamodb:table:{READ}")
    env = tables_only(tmp_path)
    cid = aws.start_cluster("nightly-backup-1")
    assert main([], environ=env, aws_factory=aws.clients) == 0
    (tmp_path / "state" / "state.json").unlink()
    # someone lifts one flag by hand while the pause goes on; the state is gone
    aws.aas.register_scalable_target(
        ServiceNamespace="dynamodb",
        ResourceId="table/users",
        ScalableDimension=f"dynamodb:table:{READ}",
        SuspendedState=partial,
    )
    aws.stop_cluster(cid)
    assert main([], environ=env, aws_factory=aws.clients) == 0
    after = targets(aws)
    assert after["table/orders ReadCapacityUnits"][0] == SCALING
    assert after["table/users ReadCapacityUnits"][0] == partial


def test_ecs_service_with_own_scaling_target_is_suspended_and_restored(aws, tmp_path, capsys):
    aws.create_service(desired=3)
    resource = f"service/{aws.cluster}/{aws.service}"
    register(aws, resource, "ecs:service:DesiredCount", namespace="ecs")
    cid = aws.start_cluster("nightly-backup-1")
    assert run(aws, tmp_path) == 0
    err = capsys.readouterr().err
    assert "paused ddb-scaler's scaling target scaling → suspended" in err
    assert targets(aws, "ecs")[f"{resource} DesiredCount"][0] == SUSPENDED
    assert aws.tags()[SAVED_SCALING_TAG] == "in=false out=false scheduled=false"
    assert aws.desired() == 0
    aws.calls.clear()
    assert run(aws, tmp_path) == 0
    assert sum(aws.calls.values()) == 2, "a steady pause makes no extra call"
    (tmp_path / "state" / "state.json").unlink()  # the tag alone must be enough
    aws.stop_cluster(cid)
    assert run(aws, tmp_path) == 0
    assert targets(aws, "ecs")[f"{resource} DesiredCount"][0] == SCALING
    assert aws.desired() == 3 and aws.tags() == {}


def test_one_target_failing_does_not_stop_the_others_and_is_retried_alone(aws, tmp_path):
    add_table(aws, "orders")
    add_table(aws, "users")
    aws.create_service(desired=2)
    failing = {"on": True}

    def deny_users(params, **_):
        if failing["on"] and params.get("ResourceId") == "table/users":
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "no"}},
                "RegisterScalableTarget",
            )

    hook(aws, "before-parameter-build.*.RegisterScalableTarget", deny_users)
    env = {"DYNAMODB_TABLES": "orders,users"}
    aws.start_cluster("nightly-backup-1")
    assert run(aws, tmp_path, **env) == 1
    s = state(tmp_path)
    assert s["last_result"] == "error"
    assert s["failed_targets"] == ["table/users read", "table/users write"]
    assert "RegisterScalableTarget failed: AccessDeniedException" in s["last_error"]
    after = targets(aws)
    assert after["table/orders ReadCapacityUnits"][0] == SUSPENDED
    assert after["table/users ReadCapacityUnits"][0] == SCALING
    assert aws.desired() == 0

    failing["on"] = False
    aws.calls.clear()
    assert run(aws, tmp_path, **env) == 0
    assert aws.calls["RegisterScalableTarget"] == 2 and "UpdateService" not in aws.calls
    assert all(v[0] == SUSPENDED for v in targets(aws).values())
    assert state(tmp_path)["failed_targets"] == []


def test_mixed_prefixes_each_pause_and_state_names_the_prefix(aws, tmp_path):
    add_table(aws, "orders")
    env = {**tables_only(tmp_path, "orders"), "EMR_PREFIX": "nightly-backup-,adhoc-export-"}
    aws.start_cluster("adhoc-export-7")
    assert main([], environ=env, aws_factory=aws.clients) == 0
    assert state(tmp_path)["active_clusters"][0]["prefix"] == "adhoc-export-"
    assert targets(aws)["table/orders ReadCapacityUnits"][0] == SUSPENDED
