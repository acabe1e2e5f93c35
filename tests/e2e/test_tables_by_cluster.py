"""A night where backup clusters name the tables they back up in their tags (cluster_tables_tag),
against moto server over HTTP, each run as cron runs it: each table pauses for the clusters that
back it up and resumes, exactly, when the last of them ends; the ECS service pauses for any; an
untagged cluster holds every table; reads only leave the writes alone; two hosts sharing
state_table keep each table's grace and saved settings; a steady run makes the calls it made."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.state import read as read_state
from tests.support.tool import base_env, run_tool
from tests.support.world import SCALING, SUSPENDED, add_table, register, targets

TAG = "backup-tables"
TABLES = ("orders", "users", "events-2026", "archive")
PART = {**SCALING, "ScheduledScalingSuspended": True}


@pytest.fixture
def night(server_world, fault_proxy, tmp_path):
    """The service at 3; four tables, orders with an index, users with a scheduled-scaling
    suspension set by hand before the night."""
    w = server_world
    w.create_service(desired=3)
    add_table(w, "orders", indexes=["by-date"])
    for table in TABLES[1:]:
        add_table(w, table)
    register(w, "table/users", "dynamodb:table:WriteCapacityUnits", PART)
    return w


def env_for(proxy, folder: Path, **more: str) -> dict[str, str]:
    return base_env(
        folder,
        AWS_ENDPOINT_URL=proxy.url,
        DYNAMODB_TABLES=",".join(TABLES),
        CLUSTER_TABLES_TAG=TAG,
        **more,
    )


def ok(env) -> str:
    r = run_tool([], env)
    assert r.returncode == 0, r.stderr
    return r.stderr


def paused(world) -> dict[str, bool]:
    """Each table (its targets, indexes too): whether all three kinds of scaling are suspended."""
    found = targets(world)
    return {
        table: all(
            state == SUSPENDED
            for key, (state, _, _) in found.items()
            if key.startswith(f"table/{table} ") or key.startswith(f"table/{table}/")
        )
        for table in TABLES
    }


def test_each_table_pauses_for_the_clusters_that_back_it_up(night, fault_proxy, tmp_path):
    w, proxy = night, fault_proxy
    before = targets(w)
    env = env_for(proxy, tmp_path)
    ok(env)
    first = w.start_cluster("nightly-backup-orders", tags={TAG: "orders"})
    ok(env)
    assert paused(w) == {"orders": True, "users": False, "events-2026": False, "archive": False}
    assert w.desired() == 0, "any matching cluster holds the ECS service"
    second = w.start_cluster(
        "nightly-backup-users", tags={TAG: "users", f"{TAG}-2": "prefix:events-"}
    )
    ok(env)
    assert paused(w) == {"orders": True, "users": True, "events-2026": True, "archive": False}
    proxy.forget()
    ok(env)  # steady: each cluster's tags were read once, when it was first seen
    assert proxy.count("ElasticMapReduce.DescribeCluster") == 0
    assert proxy.count("") == 3, dict(proxy.calls)
    w.stop_cluster(first)
    log = ok(env)
    assert paused(w) == {"orders": False, "users": True, "events-2026": True, "archive": False}
    after = targets(w)
    assert {k: v for k, v in after.items() if k.startswith("table/orders")} == {
        k: v for k, v in before.items() if k.startswith("table/orders")
    }, "orders and its index back exactly"
    assert "resumed table/orders/index/by-date read suspended → scaling" in log
    assert w.desired() == 0, "the second cluster still holds the service"
    s = read_state(Path(env["STATE_FILE"]))
    assert set(s["holds"]) == {"*", "users", "events-2026"}
    assert s["holds"]["users"]["holding"] == [second]
    w.stop_cluster(second)
    ok(env)
    assert targets(w) == before and w.desired() == 3


def test_an_untagged_cluster_holds_every_table_and_a_name_that_matches_none_is_a_warning(
    night, fault_proxy, tmp_path
):
    w = night
    env = env_for(fault_proxy, tmp_path)
    w.start_cluster("nightly-backup-all")
    w.start_cluster("nightly-backup-odd", tags={TAG: "orders prefix:no-such-"})
    log = ok(env)
    assert set(paused(w).values()) == {True}
    warnings = [line for line in log.splitlines() if " WARNING " in line]
    assert len(warnings) == 1 and "names 'prefix:no-such-' in its tag backup-tables" in warnings[0]
    assert "matches no listed table" in warnings[0]
    assert " WARNING " not in ok(env), "said once, when the cluster is first seen"


def test_reads_only_leave_every_write_target_unwritten(night, fault_proxy, tmp_path):
    w, proxy = night, fault_proxy
    env = env_for(proxy, tmp_path, DYNAMODB_DIMENSIONS="read")
    before = targets(w)
    cluster = w.start_cluster("nightly-backup-orders")
    ok(env)
    registered = proxy.bodies("AnyScaleFrontendService.RegisterScalableTarget")
    assert registered and all("Read" in body["ScalableDimension"] for body in registered)
    now = targets(w)
    assert all(now[k] == before[k] for k in now if "WriteCapacityUnits" in k)
    assert all(now[k][0] == SUSPENDED for k in now if "ReadCapacityUnits" in k)
    w.stop_cluster(cluster)
    ok(env)
    assert targets(w) == before


def test_two_hosts_sharing_state_table_keep_each_table_s_grace_and_settings(
    night, fault_proxy, tmp_path
):
    """A pauses orders for the first cluster; B sees it end and holds orders for its grace; the
    grace over, A gives orders back exactly; users, held all along, stays paused."""
    w, proxy = night, fault_proxy
    table = w.create_state_table()
    grace = {"STATE_TABLE": table, "RESUME_GRACE_SECONDS": "3", "LEASE_SECONDS": "3"}
    a = env_for(proxy, tmp_path / "a", **grace)
    b = env_for(proxy, tmp_path / "b", **grace)
    before = targets(w)
    first = w.start_cluster("nightly-backup-orders", tags={TAG: "orders"})
    w.start_cluster("nightly-backup-users", tags={TAG: "users"})
    ok(a)
    assert paused(w)["orders"] and paused(w)["users"]
    w.stop_cluster(first)
    ok(b)
    assert paused(w)["orders"], "within orders' grace"
    time.sleep(3.5)
    ok(a)
    assert not paused(w)["orders"] and paused(w)["users"]
    assert {k: v for k, v in targets(w).items() if k.startswith("table/orders")} == {
        k: v for k, v in before.items() if k.startswith("table/orders")
    }
    record = w.pause_item(table)["ecs:us-east-1/autoscaler/ddb-scaler"]["flat"]
    assert record["saved"]["dynamodb:us-east-1/table/users:write"] == [False, False, True]
    assert "orders" not in record["holds"]
