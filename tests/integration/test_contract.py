"""A night with every feature on, each request checked against botocore's service models
(tests/support/contract.py): moto takes requests AWS refuses, so a limit the tool breaks shows
here or nowhere before production.

Every name is as long as AWS lets it be: the ECS cluster and service, the tables and their
indexes, the state table (255 characters each) and the schedule group (64). The ECS service is
also a scalable target; the tables' targets are few in a namespace of many, so steady runs ask
for them by name; the backup cluster names its tables in two tags, which the launcher's request
keeps within EMR's tag alphabet and lengths (checked too); the pause record is in state_table,
and its items hold 400 bytes each, so that it goes on over several items as a fleet's does; the
failsafe and the metrics are on, and the failsafe moves to another group mid-pause; the events
go to a bus of the longest name, given by its ARN. Every schedule's at() is checked against the
request's own time, the night's clock. At the end the record is damaged by hand, and copied
aside.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from autoscaler_pauser import lease
from autoscaler_pauser.cli import main
from tests.support.clock import T0, Clock
from tests.support.contract import Contract
from tests.support.source_calls import called_in_source
from tests.support.tool import base_env
from tests.support.world import add_table, register, targets


def longest(start: str, length: int = 255) -> str:
    return (start + "-" + "x" * length)[:length]


CLUSTER, SERVICE = longest("autoscaler"), longest("ddb-scaler")
TABLE, INDEX = longest("orders"), longest("by-date")
STATE_TABLE, GROUP = longest("autoscaler-pauser"), longest("autoscaler-pauser", 64)
NEW_GROUP = longest("autoscaler-pauser-moved", 64)
BUS = longest("on-call", 256)  # CreateEventBus takes 256 characters
ROLE = "arn:aws:iam::123456789012:role/service-role/autoscaler-pauser-failsafe"
FAILSAFE_MINUTES = 30
OTHER_TARGETS = 60  # of tables not listed: more to scan than to ask for by name
PAUSER = f"ecs:us-east-1/{CLUSTER}/{SERVICE}"


@pytest.fixture
def night(world, tmp_path, monkeypatch):
    monkeypatch.setattr(lease, "PART_BYTES", 400)
    world.cluster, world.service = CLUSTER, SERVICE
    world.create_service(desired=3)
    register(world, f"service/{CLUSTER}/{SERVICE}", "ecs:service:DesiredCount", namespace="ecs")
    add_table(world, TABLE, indexes=[INDEX])
    add_table(world, "users", indexes=["by-email"])
    for i in range(OTHER_TARGETS):
        register(world, f"table/other-{i}", "dynamodb:table:ReadCapacityUnits")
    world.create_state_table(STATE_TABLE)
    bus, queue = world.event_queue(BUS)
    clock = Clock()
    contract = Contract(now=clock)
    launcher = Contract()  # the backup launcher's requests: the tags it starts a cluster with
    launcher.attach(world.emr)
    env = base_env(
        tmp_path,
        AUTOSCALER_CLUSTER=CLUSTER,
        AUTOSCALER_SERVICE=SERVICE,
        DYNAMODB_TABLES=f"{TABLE},users",
        STATE_TABLE=STATE_TABLE,
        FAILSAFE_MINUTES=str(FAILSAFE_MINUTES),
        FAILSAFE_ROLE_ARN=ROLE,
        FAILSAFE_GROUP=GROUP,
        METRICS_FILE=str(tmp_path / "autoscaler-pauser.prom"),
        CLUSTER_TABLES_TAG="backup-tables",
        EVENTS_BUS=bus,
    )

    def run(minutes: float, *args: str, **changed: str) -> int:
        clock.now = T0 + timedelta(minutes=minutes)
        environ = {**env, **changed}
        factory = contract.factory(world.clients)
        return main(list(args), environ=environ, aws_factory=factory, now=clock)

    run.contract, run.launcher = contract, launcher
    run.told = lambda: [e["detail-type"] for e in world.received(queue)]
    return run


def schedules(world, group: str = GROUP) -> list[dict]:
    client = world.scheduler()
    try:
        found = client.list_schedules(GroupName=group)["Schedules"]
    except client.exceptions.ResourceNotFoundException:
        return []
    return [client.get_schedule(Name=s["Name"], GroupName=group) for s in found]


def tables_suspended(world) -> set[bool]:
    """Every suspension flag of the listed tables' targets: {True} when all are suspended."""
    found = targets(world)
    return {
        flag
        for key, (state, _, _) in found.items()
        if not key.startswith("table/other-")
        for flag in state.values()
    }


def test_a_night_with_every_feature_sends_only_requests_aws_takes(world, night, tmp_path):
    assert night(0) == 0  # steady, running: the namespace scanned
    tags = {"backup-tables": TABLE, "backup-tables-2": "prefix:users"}
    cluster = world.start_cluster("nightly-backup-orders", tags=tags)
    assert night(1, "--dry-run") == 0 and world.desired() == 3 and schedules(world) == []
    assert night(1) == 0  # the pause
    assert world.desired() == 0 and tables_suspended(world) == {True}
    armed = schedules(world)
    assert len(armed) == 10, "the service, its scalable target and eight of the tables'"
    assert int(world.pause_item(STATE_TABLE)[PAUSER]["parts"]) > 1, "a record over items"
    assert night(3) == 0  # steady, paused: the tables' targets asked for by name
    world.set_desired(5)  # lifted by hand during the backup
    assert night(5) == 0 and world.desired() == 0
    half = 1 + FAILSAFE_MINUTES / 2
    assert night(half + 0.5) == 0  # less than half of the failsafe's time left: moved
    moved = schedules(world)
    assert {s["ScheduleExpression"] for s in moved} != {s["ScheduleExpression"] for s in armed}
    assert night(half + 1, FAILSAFE_GROUP=NEW_GROUP) == 0  # the failsafe moves in one run
    assert schedules(world) == [] and len(schedules(world, NEW_GROUP)) == 10
    world.stop_cluster(cluster)
    assert night(half + 2, FAILSAFE_GROUP=NEW_GROUP) == 0  # the resume
    assert world.desired() == 3 and tables_suspended(world) == {False}
    assert schedules(world, NEW_GROUP) == [] and world.tags() == {}
    told = night.told()
    assert told.count("Autoscaler Paused") == told.count("Autoscaler Resumed") == 3, told
    assert night(half + 3, FAILSAFE_GROUP=NEW_GROUP) == 0  # steady, running
    assert "autoscaler_pauser_paused 0" in (tmp_path / "autoscaler-pauser.prom").read_text()
    assert int(world.pause_item(STATE_TABLE)[PAUSER]["parts"]) == 1, "a resumed record is small"
    world.dynamodb.update_item(  # the record damaged by hand: copied aside, then written anew
        TableName=STATE_TABLE,
        Key={"name": {"S": PAUSER}},
        UpdateExpression="SET #r = :r",
        ExpressionAttributeNames={"#r": "record"},
        ExpressionAttributeValues={":r": {"B": b"not a record"}},
    )
    assert night(half + 4, FAILSAFE_GROUP=NEW_GROUP) == 0
    aside = {"name": {"S": PAUSER + lease.ASIDE}}
    assert world.dynamodb.get_item(TableName=STATE_TABLE, Key=aside)["Item"]["record"]["B"]

    contract = night.contract
    assert contract.violations == [], "requests AWS would refuse:\n" + contract.report()
    assert night.launcher.calls["emr", "RunJobFlow"] == 1
    assert night.launcher.violations == [], "a launch EMR would refuse:\n" + night.launcher.report()
    made, source = set(contract.calls), called_in_source()
    assert made == source, (
        f"the source calls, the night does not make: {sorted(source - made)}; "
        f"the night makes, the source scan does not see: {sorted(made - source)}"
    )
    by_name = [
        params.get("ResourceIds", [])
        for _, operation, params in contract.requests
        if operation == "DescribeScalableTargets" and params["ServiceNamespace"] == "dynamodb"
    ]
    assert [ids for ids in by_name if f"table/{TABLE}/index/{INDEX}" in ids], "none by name"
    restores = sorted(restored(s) for s in moved)
    tables = [f"table/{TABLE}", f"table/{TABLE}/index/{INDEX}", "table/users"]
    tables.append("table/users/index/by-email")
    assert restores == sorted(
        [("ecs", f"{CLUSTER}/{SERVICE}"), ("ecs", f"service/{CLUSTER}/{SERVICE}")]
        + [("dynamodb", f"{resource} {side}") for resource in tables for side in ("Read", "Write")]
    ), "each schedule names its target whole in the call it makes"


def restored(schedule: dict) -> tuple[str, str]:
    """What a schedule's call restores: the ECS service, or a scalable target and its side."""
    request = json.loads(schedule["Target"]["Input"])
    if "Service" in request:
        return "ecs", f"{request['Cluster']}/{request['Service']}"
    side = "Read" if "Read" in request["ScalableDimension"] else "Write"
    suffix = "" if request["ServiceNamespace"] == "ecs" else f" {side}"
    return request["ServiceNamespace"], request["ResourceId"] + suffix
