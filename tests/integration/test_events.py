"""What on-call is told, against moto in process with a clock of the test's: the events a rule on a
custom bus delivers to an SQS queue (one a scope that changes, none for a steady run), the stuck
pause told once, a forced resume, a pause the failsafe ended, only the run that made a change
telling it when hosts share state_table, and the history any host reads from there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autoscaler_pauser.cli import main
from tests.support.clock import Clock
from tests.support.tool import base_env
from tests.support.world import SCALING, add_table, targets

TAG = "backup-tables"
SERVICE = {"what": "autoscaler", "table": None}


def table(name: str) -> dict:
    return {"what": "table", "table": name}


@pytest.fixture
def night(world, tmp_path):
    """The service at 3, orders and users; a bus whose rule puts the pauser's events in a queue;
    runs of main() by a clock that stands until moved."""
    world.create_service(desired=3)
    add_table(world, "orders")
    add_table(world, "users")
    bus, queue = world.event_queue()
    clock = Clock()
    env = base_env(tmp_path, DYNAMODB_TABLES="orders,users", CLUSTER_TABLES_TAG=TAG, EVENTS_BUS=bus)

    def run(minutes: float = 1, *args: str, **more: str) -> int:
        clock.advance(minutes=minutes)
        return main(list(args), environ={**env, **more}, aws_factory=world.clients, now=clock)

    def told() -> list[tuple[str, dict | None, dict]]:
        """The events delivered since last asked: detail-type, scope and detail."""
        return [
            (e["detail-type"], e["detail"]["scope"], e["detail"]) for e in world.received(queue)
        ]

    run.told, run.clock, run.env = told, clock, env
    return run


def test_a_night_tells_each_scope_s_pause_and_resume_once_with_its_targets_and_clusters(
    world, night
):
    assert night() == 0 and night.told() == []
    orders = world.start_cluster("nightly-backup-orders", tags={TAG: "orders"})
    users = world.start_cluster("nightly-backup-users", tags={TAG: "users"})
    assert night() == 0
    paused = night.told()
    assert [(kind, scope) for kind, scope, _ in paused] == [
        ("Autoscaler Paused", SERVICE),
        ("Autoscaler Paused", table("orders")),
        ("Autoscaler Paused", table("users")),
    ]
    service, orders_paused = paused[0][2], paused[1][2]
    assert service["targets"] == [
        {"target": "ddb-scaler", "key": "ecs:us-east-1/autoscaler/ddb-scaler", "before": "3"}
        | {"after": "0"}
    ]
    assert sorted(service["clusters"], key=lambda c: c["name"]) == [
        {"id": orders, "name": "nightly-backup-orders"},
        {"id": users, "name": "nightly-backup-users"},
    ]
    assert orders_paused["clusters"] == [{"id": orders, "name": "nightly-backup-orders"}]
    assert [(t["target"], t["before"], t["after"]) for t in orders_paused["targets"]] == [
        ("table/orders read", "scaling", "suspended"),
        ("table/orders write", "scaling", "suspended"),
    ]
    assert orders_paused["pauser"] == "ecs:us-east-1/autoscaler/ddb-scaler"
    assert orders_paused["paused_at"] == "2026-11-26T01:02:00Z"
    assert night() == 0 and night.told() == [], "a steady run tells nothing"

    world.stop_cluster(orders)
    assert night(30) == 0
    [(kind, scope, detail)] = night.told()
    assert (kind, scope) == ("Autoscaler Resumed", table("orders"))
    assert detail["paused_seconds"] == 31 * 60 and detail["ended_by"] == "clusters"
    assert detail["ended_at"] == "2026-11-26T01:33:00Z"
    assert [(t["before"], t["after"]) for t in detail["targets"]] == [("suspended", "scaling")] * 2

    world.stop_cluster(users)
    assert night(30) == 0
    resumed = night.told()
    assert [(kind, scope) for kind, scope, _ in resumed] == [
        ("Autoscaler Resumed", SERVICE),
        ("Autoscaler Resumed", table("users")),
    ]
    assert resumed[0][2]["clusters"] == service["clusters"], "every cluster that held it"
    assert resumed[0][2]["paused_seconds"] == 61 * 60
    assert night() == 0 and night.told() == []


def test_a_pause_over_max_pause_minutes_is_told_stuck_once(world, night):
    world.start_cluster("nightly-backup-all")
    assert night(1, MAX_PAUSE_MINUTES="60") == 0
    assert len(night.told()) == 3
    assert night(61, MAX_PAUSE_MINUTES="60") == 3
    stuck = night.told()
    assert [(kind, scope) for kind, scope, _ in stuck] == [
        ("Pause Stuck", SERVICE),
        ("Pause Stuck", table("orders")),
        ("Pause Stuck", table("users")),
    ]
    assert stuck[0][2]["alarm"].startswith("paused for 61 min since 2026-11-26T01:01:00Z")
    assert stuck[0][2]["max_pause_minutes"] == 60 and stuck[0][2]["paused_seconds"] == 61 * 60
    assert night(1, MAX_PAUSE_MINUTES="60") == 3 and night.told() == [], "told once"


def test_a_forced_resume_is_told_as_one(world, night):
    world.start_cluster("nightly-backup-all")
    force = {"MAX_PAUSE_MINUTES": "60", "FORCE_RESUME_AFTER_MAX_PAUSE": "true"}
    assert night(1, **force) == 0 and len(night.told()) == 3
    assert night(61, **force) == 3
    resumed = night.told()
    assert {kind for kind, _, _ in resumed} == {"Autoscaler Resumed"}
    assert {d["ended_by"] for _, _, d in resumed} == {"force_resume_after_max_pause"}
    assert world.desired() == 3


def test_a_pause_the_failsafe_ended_is_told_then_paused_again_or_left_resumed(world, night):
    failsafe = {
        "FAILSAFE_MINUTES": "30",
        "FAILSAFE_ROLE_ARN": "arn:aws:iam::123456789012:role/failsafe",
    }
    cluster = world.start_cluster("nightly-backup-all")
    assert night(1, **failsafe) == 0 and len(night.told()) == 3
    world.set_desired(3)  # the service's schedule fires: the pauser was away for 30 minutes
    assert night(31, **failsafe) == 0 and world.desired() == 0
    [(kind, scope, detail)] = night.told()
    assert (kind, scope) == ("Pause Ended By Failsafe", SERVICE)
    assert detail["then"] == "paused again" and "ended_by" not in detail
    assert detail["restored"] == [
        {
            "target": "ddb-scaler",
            "key": "ecs:us-east-1/autoscaler/ddb-scaler",
            "setting": "3",
            "due": "2026-11-26T01:31:00Z",
        }
    ]
    world.stop_cluster(cluster)
    world.set_desired(3)  # the backup ended while the pauser was away, and the schedules fired
    for resource in ("table/orders", "table/users"):
        for side in ("Read", "Write"):
            world.aas.register_scalable_target(
                ServiceNamespace="dynamodb",
                ResourceId=resource,
                ScalableDimension=f"dynamodb:table:{side}CapacityUnits",
                SuspendedState=SCALING,
            )
    assert night(40, **failsafe) == 0
    ended = night.told()
    assert [(kind, scope) for kind, scope, _ in ended] == [
        ("Pause Ended By Failsafe", SERVICE),
        ("Pause Ended By Failsafe", table("orders")),
        ("Pause Ended By Failsafe", table("users")),
    ]
    assert {d["then"] for _, _, d in ended} == {"resumed"}
    assert {d["ended_by"] for _, _, d in ended} == {"failsafe"}
    assert ended[0][2]["ended_at"] == "2026-11-26T02:02:00Z", "when its schedule was due"
    assert {v[0]["DynamicScalingInSuspended"] for v in targets(world).values()} == {False}


def test_hosts_sharing_state_table_tell_once_and_any_of_them_reads_the_history(
    world, night, tmp_path, capsys
):
    """Host a pauses and resumes, host b's runs between find nothing new to tell; after three
    nights a third host, which only reads the record, lists three pauses of each scope."""
    state = {"STATE_TABLE": world.create_state_table()}
    b = {**state, "STATE_FILE": str(tmp_path / "b" / "state.json")}
    for n in range(3):
        cluster = world.start_cluster(f"nightly-backup-{n}")
        assert night(60 * 20, **state) == 0 and len(night.told()) == 3
        assert night(1, **b) == 0 and night.told() == [], "b finds the pause told"
        world.stop_cluster(cluster)
        assert night(90 + 10 * n, **b) == 0 and len(night.told()) == 3, "b resumes, and tells"
        assert night(1, **state) == 0 and night.told() == []
    reader = {
        "STATE_TABLE": state["STATE_TABLE"],
        "STATE_TABLE_REGION": "us-east-1",
        "PAUSER_NAME": "ecs:us-east-1/autoscaler/ddb-scaler",
        "STATE_FILE": str(tmp_path / "c" / "state.json"),
    }
    capsys.readouterr()
    now = night.clock
    assert main(["history", "--json"], environ=reader, aws_factory=world.clients, now=now) == 0
    data = json.loads(capsys.readouterr().out)
    pauses = data["pauses"]
    assert len(pauses) == 9 and data["longest_gap"]["seconds"] > 18 * 3600
    for scope in (SERVICE, table("orders"), table("users")):
        mine = [p for p in pauses if (p["what"], p["table"]) == (scope["what"], scope["table"])]
        assert [p["seconds"] for p in mine] == [(91 + 10 * n) * 60 for n in (2, 1, 0)]
        assert [p["clusters"][0]["name"] for p in mine] == [
            f"nightly-backup-{n}" for n in (2, 1, 0)
        ]
    assert main(["history"], environ=reader, aws_factory=world.clients, now=now) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + 9 + 1 and sum("the longest gap" in line for line in lines) == 1
    assert (
        main(
            ["history", "--table", "users", "--since", "2h"],
            environ=reader,
            aws_factory=world.clients,
            now=now,
        )
        == 0
    )
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_no_event_is_sent_a_second_past_the_run_s_time_for_writes(world, night):
    """The events go after the writes and the record: with the time for writes spent more than
    TELL_SECONDS ago, none is sent, and the run says how many it could not tell."""
    from autoscaler_pauser.config import load_config
    from autoscaler_pauser.run import run_once
    from autoscaler_pauser.timing import TELL_SECONDS

    assert night() == 0  # no backup: nothing to tell
    world.start_cluster("nightly-backup-all")
    config = load_config(None, night.env)
    world.calls.clear()
    code = run_once(config, world.clients(config), night.clock, False, budget=-TELL_SECONDS - 1)
    assert code == 0 and world.calls["PutEvents"] == 0 and night.told() == []
    state = json.loads(Path(night.env["STATE_FILE"]).read_text())
    [warning] = [w for w in state["run"]["warnings"] if "events_bus" in w]
    assert "could not tell events_bus" in warning and "the run's time was spent" in warning
