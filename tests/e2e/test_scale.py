"""Many scalable targets through the fault proxy: writes on the pool, the service first, each
target once, a throttled Application Auto Scaling, a hung one with the pool full, and a steady run
that says one line."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from tests.support.proxy import AAS, ECS, UPDATE_SERVICE
from tests.support.tool import base_env, run_tool
from tests.support.world import add_table, targets

pytestmark = pytest.mark.slow

REGISTER = AAS + "RegisterScalableTarget"
FLAGS = ("DynamicScalingInSuspended", "DynamicScalingOutSuspended", "ScheduledScalingSuspended")
SUSPENDED, SCALING = dict.fromkeys(FLAGS, True), dict.fromkeys(FLAGS, False)


def tables(world, count: int) -> list[str]:
    """`count` tables, each with two indexes: six scalable targets a table."""
    names = [f"t-{i:03d}" for i in range(count)]
    for name in names:
        add_table(world, name, indexes=["by-date", "by-user"])
    return names


@pytest.fixture
def env(server_world, fault_proxy, tmp_path):
    return base_env(tmp_path, AWS_ENDPOINT_URL=fault_proxy.url)


def states(world) -> Counter:
    return Counter(
        "suspended" if s == SUSPENDED else "scaling" if s == SCALING else "partial"
        for s, _, _ in targets(world).values()
    )


def test_the_service_goes_first_and_each_target_is_written_once(server_world, fault_proxy, env):
    w, proxy = server_world, fault_proxy
    w.create_service(desired=3)
    env["DYNAMODB_TABLES"] = ",".join(tables(w, 20))
    cluster = w.start_cluster("nightly-backup-users")
    proxy.forget()
    r = run_tool([], env)
    assert r.returncode == 0, r.stderr
    assert w.desired() == 0 and states(w) == {"suspended": 120}
    order = [action for action, _ in proxy.requests]
    assert order.index(UPDATE_SERVICE) < order.index(REGISTER), "the service is paused first"
    written = Counter((b["ResourceId"], b["ScalableDimension"]) for b in proxy.bodies(REGISTER))
    assert len(written) == 120 and set(written.values()) == {1}
    w.stop_cluster(cluster)
    assert run_tool([], env).returncode == 0
    assert w.desired() == 3 and states(w) == {"scaling": 120}


def test_a_throttled_application_auto_scaling_still_converges_with_every_target_right(
    server_world, fault_proxy, env
):
    """A third of the writes are throttled (botocore tries each three times): the pool waits
    and tries them again, and every target ends as it should."""
    w, proxy = server_world, fault_proxy
    w.create_service(desired=3)
    env["DYNAMODB_TABLES"] = ",".join(tables(w, 20))
    partial = {**SCALING, "ScheduledScalingSuspended": True}
    w.aas.register_scalable_target(
        ServiceNamespace="dynamodb",
        ResourceId="table/t-007",
        ScalableDimension="dynamodb:table:WriteCapacityUnits",
        SuspendedState=partial,
    )
    assert run_tool([], env).returncode == 0
    proxy.rng.seed(3)
    proxy.fail(REGISTER, "throttle", probability=0.3)
    cluster = w.start_cluster("nightly-backup-users")
    runs = until(env, lambda: states(w) == {"suspended": 120})
    assert states(w) == {"suspended": 120} and w.desired() == 0
    print(f"throttled pause: {proxy.injected['throttle']} throttles, converged in {runs} run(s)")
    w.stop_cluster(cluster)
    until(env, lambda: w.desired() == 3 and states(w) == {"scaling": 119, "partial": 1})
    assert targets(w)["table/t-007 WriteCapacityUnits"][0] == partial
    assert states(w) == {"scaling": 119, "partial": 1} and w.desired() == 3


def until(env, done, most: int = 3) -> int:
    """Runs until `done()`, at most `most`, each exiting 0; how many it took."""
    for run in range(1, most + 1):
        r = run_tool([], env)
        assert r.returncode == 0, r.stderr
        if done():
            return run
    return most


def test_a_hung_application_auto_scaling_ends_the_run_in_time_with_the_pool_full(
    server_world, fault_proxy, env
):
    w, proxy = server_world, fault_proxy
    w.create_service(desired=3)
    env["DYNAMODB_TABLES"] = ",".join(tables(w, 10))
    w.start_cluster("nightly-backup-users")
    proxy.fail(REGISTER, "hang")
    started = time.monotonic()
    r = run_tool([], env, timeout=120)
    took = time.monotonic() - started
    print(f"hung writes, 10 workers: the run took {took:.1f} s")
    assert took < 45, f"a run against hung writes took {took:.1f} s"
    assert r.returncode == 1, r.stderr
    assert w.desired() == 0, "the service went first and is paused"
    assert "RegisterScalableTarget failed: ReadTimeoutError" in r.stderr
    # One at a time, 30 s hold two writes of three tries each; the pool had ten hanging at once.
    assert proxy.count(REGISTER) >= 30, proxy.count(REGISTER)


def test_a_steady_run_over_many_targets_prints_one_line(server_world, fault_proxy, env):
    w = server_world
    w.create_service(desired=3)
    env["DYNAMODB_TABLES"] = ",".join(tables(w, 40))
    w.start_cluster("nightly-backup-users")
    assert run_tool([], env).returncode == 0
    fault_proxy.forget()
    r = run_tool([], env)
    assert r.returncode == 0, r.stderr
    [line] = r.stderr.splitlines()
    assert " INFO no change: 241 targets stay paused: 1 active cluster matches " in line
    assert fault_proxy.count(ECS) == 1 and fault_proxy.count(REGISTER) == 0
