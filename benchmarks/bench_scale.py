#!/usr/bin/env python3
"""`make bench`, the scale case: 200 tables with two indexes each (1,200 scalable targets) and
the ECS service, against moto server behind a proxy that adds 80 ms to every call, as AWS's own
latency would.

One run of the tool pauses everything and one resumes it, each target to its exact flags; the
pause is timed beside a bare boto3 script making the same reads and writes on 10 threads, and
beside the tool writing one target at a time (write_workers: 1), in the same run.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.support.motoserver import MotoServer
from tests.support.proxy import AAS, FaultProxy
from tests.support.tool import FAKE_CREDENTIALS, ROOT, base_env, tool_env
from tests.support.world import World, add_table, targets

TABLES = 200
DELAY = 0.080
ROUNDS = int(os.environ.get("BENCH_SCALE_ROUNDS", "3"))
GOAL_SECONDS, GOAL_RATIO = 15, 1.3
DESCRIBE_TARGETS = AAS + "DescribeScalableTargets"
FLAGS = ("DynamicScalingInSuspended", "DynamicScalingOutSuspended", "ScheduledScalingSuspended")

# The same reads and writes as the tool's pause, on 10 threads, with nothing else.
BARE = """
import concurrent.futures, sys
import boto3
from botocore.config import Config
cfg = Config(retries={"mode": "standard", "total_max_attempts": 3}, max_pool_connections=12)
emr = boto3.client("emr", region_name="us-east-1", config=cfg)
ecs = boto3.client("ecs", region_name="us-east-1", config=cfg)
aas = boto3.client("application-autoscaling", region_name="us-east-1", config=cfg)
emr.list_clusters(ClusterStates=["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING", "TERMINATING"])
svc = ecs.describe_services(cluster="autoscaler", services=["ddb-scaler"], include=["TAGS"])
arn = svc["services"][0]["serviceArn"]
found = []
for page in aas.get_paginator("describe_scalable_targets").paginate(ServiceNamespace="dynamodb"):
    found += page["ScalableTargets"]
tag = {"key": "autoscaler-pauser:saved-desired-count", "value": "3"}
ecs.tag_resource(resourceArn=arn, tags=[tag])
ecs.update_service(cluster="autoscaler", service="ddb-scaler", desiredCount=0)
flags = dict.fromkeys(("DynamicScalingInSuspended", "DynamicScalingOutSuspended",
                       "ScheduledScalingSuspended"), True)
def suspend(t):
    aas.register_scalable_target(ServiceNamespace="dynamodb", ResourceId=t["ResourceId"],
                                 ScalableDimension=t["ScalableDimension"], SuspendedState=flags)
with concurrent.futures.ThreadPoolExecutor(10) as pool:
    list(pool.map(suspend, found))
print(len(found))
"""


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    return time.perf_counter() - started, r


@contextlib.contextmanager
def behind_proxy() -> Iterator[tuple[World, FaultProxy]]:
    """moto server, and a proxy before it that adds DELAY to every call, as AWS takes."""
    os.environ.update(FAKE_CREDENTIALS)
    server = MotoServer()
    proxy = FaultProxy(server.url, delay=DELAY)
    try:
        yield World(endpoint=server.url), proxy
    finally:
        proxy.stop()
        server.stop()


def main() -> int:
    with behind_proxy() as (world, proxy):
        return measure(world, proxy)


def measure(world: World, proxy: FaultProxy) -> int:
    world.create_service(desired=3)
    names = [f"t-{i:03d}" for i in range(TABLES)]
    for name in names:
        add_table(world, name, indexes=["by-date", "by-user"])
    partial = dict.fromkeys(FLAGS, False) | {"ScheduledScalingSuspended": True}
    for name in names[::10]:  # some set by hand before any pause: restored exactly
        world.aas.register_scalable_target(
            ServiceNamespace="dynamodb",
            ResourceId=f"table/{name}",
            ScalableDimension="dynamodb:table:WriteCapacityUnits",
            SuspendedState=partial,
        )
    before = {key: state for key, (state, _, _) in targets(world).items()}
    print(f"{len(before)} scalable targets in {TABLES} tables, {DELAY * 1000:.0f} ms per call")
    with tempfile.TemporaryDirectory() as tmp:
        env = tool_env(base_env(Path(tmp), AWS_ENDPOINT_URL=proxy.url))
        env["DYNAMODB_TABLES"] = ",".join(names)
        tool = [sys.executable, str(ROOT / "reconcile.py")]
        bare_file = Path(tmp) / "bare.py"
        bare_file.write_text(BARE)
        bare = [sys.executable, str(bare_file)]

        def reset() -> None:
            world.set_desired(3)
            for key, state in before.items():
                resource, dimension = key.split(" ")
                kind = "index" if "/index/" in resource else "table"
                world.aas.register_scalable_target(
                    ServiceNamespace="dynamodb",
                    ResourceId=resource,
                    ScalableDimension=f"dynamodb:{kind}:{dimension}",
                    SuspendedState=state,
                )
            Path(env["STATE_FILE"]).unlink(missing_ok=True)

        def all_suspended() -> bool:
            return world.desired() == 0 and all(
                set(s.values()) == {True} for s, _, _ in targets(world).values()
            )

        cluster = world.start_cluster("nightly-backup-scale")
        pauses, bares, resumes = [], [], []
        for _ in range(ROUNDS):
            seconds, r = timed(tool, env)
            if r.returncode != 0 or not all_suspended():
                print(
                    f"the pause did not finish in one run: exit {r.returncode}\n{r.stderr[-2000:]}"
                )
                return 1
            pauses.append(seconds)
            proxy.forget()
            steady, r = timed(tool, env)
            pages = proxy.count(DESCRIBE_TARGETS)
            info = [line for line in r.stderr.splitlines() if " INFO " in line]
            if r.returncode != 0 or len(info) != 1:
                print(f"a steady run over 1,200 targets printed {len(info)} INFO lines")
                return 1
            world.stop_cluster(cluster)
            seconds, r = timed(tool, env)
            after = {key: state for key, (state, _, _) in targets(world).items()}
            if r.returncode != 0 or after != before or world.desired() != 3:
                print(f"the resume did not restore every target: exit {r.returncode}")
                return 1
            resumes.append(seconds)
            cluster = world.start_cluster("nightly-backup-scale")
            reset()
            seconds, r = timed(bare, {**env})
            if r.returncode != 0:
                print(r.stderr[-2000:])
                return 1
            bares.append(seconds)
            reset()
        sequential, r = timed(tool, {**env, "WRITE_WORKERS": "1"})
        left = next((line for line in r.stderr.splitlines() if "left for the next run" in line), "")
    pause, base = statistics.median(pauses), statistics.median(bares)
    resume = statistics.median(resumes)
    print(f"rounds: {ROUNDS}")
    print(f"pause, one run, 10 workers:   median {pause:5.1f} s   (goal ≤ {GOAL_SECONDS} s)")
    print(
        f"bare boto3 on 10 threads:     median {base:5.1f} s   ratio {pause / base:.2f} "
        f"(goal ≤ {GOAL_RATIO})"
    )
    print(f"resume, one run, 10 workers:  median {resume:5.1f} s   every target as before")
    print(
        f"a steady run while paused:    {steady:5.1f} s, one INFO line, "
        f"{pages} DescribeScalableTargets pages"
    )
    print(
        f"one write at a time:          {sequential:5.1f} s, exit {r.returncode}: "
        f"{left.split(' WARNING ')[-1]}"
    )
    return 0 if pause <= GOAL_SECONDS and pause / base <= GOAL_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
