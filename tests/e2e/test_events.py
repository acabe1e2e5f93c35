"""What on-call sees, each run as cron runs it against moto server over HTTP: a rule on a custom
bus delivers the pauser's events to an SQS queue. A night of two tables and the service, held by
two clusters that end at different times, puts exactly one event in the queue for each scope that
changes, with the fields the docs name, and steady runs none; with PutEvents denied the night
still pauses and resumes, with WARNINGs; after three nights `history` on another host sharing
state_table lists each scope's three pauses with their lengths and clusters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.proxy import FaultProxy
from tests.support.tool import base_env, run_tool
from tests.support.world import SCALING, SUSPENDED, add_table, targets

TAG = "backup-tables"
PUT_EVENTS = "AWSEvents.PutEvents"
SERVICE = ("autoscaler", None)


@pytest.fixture
def night(server_world, fault_proxy):
    """The service at 3, orders and users; the on-call bus and its queue."""
    w = server_world
    w.create_service(desired=3)
    add_table(w, "orders")
    add_table(w, "users")
    w.bus, w.queue = w.event_queue()
    return w


def env_for(proxy: FaultProxy, folder: Path, bus: str, **more: str) -> dict[str, str]:
    return base_env(
        folder,
        AWS_ENDPOINT_URL=proxy.url,
        DYNAMODB_TABLES="orders,users",
        CLUSTER_TABLES_TAG=TAG,
        EVENTS_BUS=bus,
        **more,
    )


def ok(env, *args: str) -> str:
    r = run_tool(list(args), env)
    assert r.returncode == 0, r.stderr
    return r.stderr if not args else r.stdout


def told(world) -> list[tuple[str, tuple[str, str | None], dict]]:
    """The events the queue got since last asked: detail-type, scope and detail."""
    found = []
    for event in world.received(world.queue):
        assert event["source"] == "autoscaler-pauser"
        scope = event["detail"]["scope"]
        found.append((event["detail-type"], (scope["what"], scope["table"]), event["detail"]))
    return found


def paused(world, table: str) -> bool:
    return all(s == SUSPENDED for k, (s, _, _) in targets(world).items() if f"/{table} " in k)


def test_a_night_puts_one_event_a_scope_that_changes_and_steady_runs_none(
    night, fault_proxy, tmp_path
):
    w = night
    env = env_for(fault_proxy, tmp_path, w.bus)
    ok(env)
    assert told(w) == []
    orders = w.start_cluster("nightly-backup-orders", tags={TAG: "orders"})
    users = w.start_cluster("nightly-backup-users", tags={TAG: "users"})
    ok(env)
    began = told(w)
    assert sorted((kind, scope) for kind, scope, _ in began) == [
        ("Autoscaler Paused", SERVICE),
        ("Autoscaler Paused", ("table", "orders")),
        ("Autoscaler Paused", ("table", "users")),
    ]
    for _, scope, detail in began:
        assert detail["pauser"] == "ecs:us-east-1/autoscaler/ddb-scaler"
        assert detail["paused_at"] and detail["reason"]
        assert all(t["after"] in ("0", "suspended") for t in detail["targets"])
        assert detail["targets"] and all(
            set(t) == {"target", "key", "before", "after"} for t in detail["targets"]
        )
        held = {c["id"]: c["name"] for c in detail["clusters"]}
        expected = {
            SERVICE: {orders: "nightly-backup-orders", users: "nightly-backup-users"},
            ("table", "orders"): {orders: "nightly-backup-orders"},
            ("table", "users"): {users: "nightly-backup-users"},
        }[scope]
        assert held == expected, scope
    fault_proxy.forget()
    ok(env)
    assert told(w) == [] and fault_proxy.count(PUT_EVENTS) == 0, "a steady run tells nothing"

    w.stop_cluster(orders)
    ok(env)
    [(kind, scope, detail)] = told(w)
    assert (kind, scope) == ("Autoscaler Resumed", ("table", "orders"))
    assert detail["ended_by"] == "clusters" and detail["paused_seconds"] >= 0
    assert {c["id"] for c in detail["clusters"]} == {orders}
    assert paused(w, "users") and not paused(w, "orders")
    ok(env)
    assert told(w) == []

    w.stop_cluster(users)
    ok(env)
    ended = told(w)
    assert sorted((kind, scope) for kind, scope, _ in ended) == [
        ("Autoscaler Resumed", SERVICE),
        ("Autoscaler Resumed", ("table", "users")),
    ]
    [service] = [d for _, scope, d in ended if scope == SERVICE]
    assert {c["id"] for c in service["clusters"]} == {orders, users}, "both held it"
    assert service["targets"] == [
        {"target": "ddb-scaler", "key": "ecs:us-east-1/autoscaler/ddb-scaler"}
        | {"before": "0", "after": "3"}
    ]
    fault_proxy.forget()
    ok(env)
    assert told(w) == [] and fault_proxy.count(PUT_EVENTS) == 0
    assert w.desired() == 3 and all(s == SCALING for s, _, _ in targets(w).values())


def test_with_put_events_denied_the_night_still_pauses_and_resumes_with_warnings(
    night, fault_proxy, tmp_path
):
    w = night
    fault_proxy.fail(PUT_EVENTS, "denied")
    env = env_for(fault_proxy, tmp_path, w.bus)
    cluster = w.start_cluster("nightly-backup-all")
    log = ok(env)
    assert w.desired() == 0 and paused(w, "orders") and paused(w, "users")
    [warning] = [line for line in log.splitlines() if " WARNING " in line]
    assert f"could not tell events_bus {w.bus} of 3 of 3 changes: PutEvents failed: " in warning
    assert "AccessDeniedException" in warning
    state = json.loads(Path(env["STATE_FILE"]).read_text())
    assert state["run"]["last_result"] == "ok" and state["run"]["warnings"] == [
        warning.split(" WARNING ", 1)[1]
    ]
    assert " WARNING " not in ok(env), "a steady run has nothing to tell"
    w.stop_cluster(cluster)
    log = ok(env)
    assert w.desired() == 3 and not paused(w, "orders") and not paused(w, "users")
    assert sum(" WARNING could not tell events_bus" in line for line in log.splitlines()) == 1
    assert told(w) == [] and fault_proxy.injected["denied"] == 2


def test_history_on_another_host_sharing_state_table_lists_three_nights(
    night, fault_proxy, tmp_path
):
    w = night
    table = w.create_state_table()
    a = env_for(fault_proxy, tmp_path / "a", w.bus, STATE_TABLE=table)
    names = []
    for n in range(3):
        names.append(f"nightly-backup-{n}")
        cluster = w.start_cluster(names[-1])
        ok(a)
        w.stop_cluster(cluster)
        ok(a)
    assert len(told(w)) == 18
    # Another host, which only reads: the table, its region and the pauser's name.
    b = {
        "STATE_TABLE": table,
        "STATE_TABLE_REGION": "us-east-1",
        "PAUSER_NAME": "ecs:us-east-1/autoscaler/ddb-scaler",
        "STATE_FILE": str(tmp_path / "b" / "state.json"),
        "AWS_ENDPOINT_URL": fault_proxy.url,
    }
    data = json.loads(ok(b, "history", "--json"))
    for scope in (SERVICE, ("table", "orders"), ("table", "users")):
        mine = [p for p in data["pauses"] if (p["what"], p["table"]) == scope]
        assert [p["clusters"][0]["name"] for p in mine] == names[::-1], scope
        assert all(p["ended"] and p["ended_by"] == "clusters" for p in mine)
        assert all(isinstance(p["seconds"], int) and p["seconds"] >= 0 for p in mine)
    lines = ok(b, "history").splitlines()
    assert lines[0].startswith("pauses of ecs:us-east-1/autoscaler/ddb-scaler, newest first")
    pauses = [line for line in lines[1:] if "→" in line and "──" not in line]
    assert len(pauses) == 9
    assert sum("the autoscaler: " in line and names[0] in line for line in pauses) == 1
    assert not (tmp_path / "b").exists(), "a host that reads the history leaves nothing"
