#!/usr/bin/env python3
"""`make bench`, the fleet case: the pause record's size at 1,200 and 5,000 targets, and a whole
night of 5,000 targets (1,250 tables of 180-character names, each with a 48-character index)
with state_table and the failsafe on, against moto server behind a proxy that adds 80 ms to
every call, as AWS's own latency would.

A pause of 5,000 targets is 10,000 writes (a suspension and a failsafe schedule each): the
runs, each exit 0, each within its 28 s for writes, go on until none is pending; the hold is a
steady run; the resume gives each target back exactly and removes every schedule. Beside them a
bare boto3 script makes the pause's 10,000 writes on 10 threads, with nothing else: the fewest
runs a pause can take is its time over the runs' time for writes.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from pathlib import Path

from autoscaler_pauser.lease import PART_BYTES, encode
from autoscaler_pauser.record_format import pause_to_json
from autoscaler_pauser.timing import WRITE_BUDGET_SECONDS
from benchmarks.bench_scale import DELAY, behind_proxy, timed
from tests.support.fleet import fleet_record, fleet_tables, item_bytes
from tests.support.proxy import FaultProxy
from tests.support.tool import ROOT, base_env, tool_env
from tests.support.world import World, register, targets

TARGETS = int(os.environ.get("BENCH_FLEET_TARGETS", "5000"))
TOOL = [sys.executable, str(ROOT / "reconcile.py")]
MOST_RUNS = 12
ROLE = "arn:aws:iam::123456789012:role/failsafe"
ITEM_MOST = 400 * 1024

# The pause's writes, on 10 threads: a suspension and a schedule for each target.
BARE = """
import concurrent.futures, json, sys
import boto3
from botocore.config import Config
cfg = Config(retries={"mode": "standard", "total_max_attempts": 3}, max_pool_connections=12)
aas = boto3.client("application-autoscaling", region_name="us-east-1", config=cfg)
scheduler = boto3.client("scheduler", region_name="us-east-1", config=cfg)
scheduler.create_schedule_group(Name="bare")
found = []
for page in aas.get_paginator("describe_scalable_targets").paginate(ServiceNamespace="dynamodb"):
    found += page["ScalableTargets"]
flags = dict.fromkeys(("DynamicScalingInSuspended", "DynamicScalingOutSuspended",
                       "ScheduledScalingSuspended"), True)
ARN = "arn:aws:scheduler:::aws-sdk:applicationautoscaling:registerScalableTarget"
ROLE = "arn:aws:iam::123456789012:role/failsafe"
def pause(numbered):
    i, t = numbered
    aas.register_scalable_target(ServiceNamespace="dynamodb", ResourceId=t["ResourceId"],
                                 ScalableDimension=t["ScalableDimension"], SuspendedState=flags)
    scheduler.create_schedule(
        Name=f"bare-{i}", GroupName="bare", ScheduleExpression="at(2030-01-01T00:00:00)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": ARN, "RoleArn": ROLE, "Input": json.dumps(t["ResourceId"])})
with concurrent.futures.ThreadPoolExecutor(10) as pool:
    list(pool.map(pause, enumerate(found)))
print(len(found))
"""


def record_sizes() -> None:
    for targets_, table, index in ((1200, 52, 52), (5000, 180, 48), (5000, 255, 255)):
        blobs = encode(pause_to_json(fleet_record(targets_, table, index)))
        size = sum(map(len, blobs))
        print(
            f"pause record, {targets_:,} targets, tables of {table} and indexes of {index} "
            f"characters, each with its schedule: {size / targets_:.0f} bytes a target "
            f"compressed, {len(blobs)} item(s), the largest {max(map(len, blobs)):,} bytes "
            f"(an item takes {PART_BYTES:,} of its 400 KB)"
        )


def main() -> int:
    record_sizes()
    with behind_proxy() as (world, proxy):
        return night(world, proxy)


def largest_item(world: World, table: str) -> int:
    items = world.dynamodb.scan(TableName=table)["Items"]
    return max(item_bytes(i) for i in items)


def until_done(world: World, env: dict[str, str], table: str, what: str) -> list[float]:
    """Runs until the last leaves nothing pending; each must exit 0."""
    times = []
    for _ in range(MOST_RUNS):
        seconds, r = timed(TOOL, env)
        times.append(seconds)
        state = json.loads(Path(env["STATE_FILE"]).read_text())
        planned, pending = state["run"]["planned"], state["run"]["pending"]
        print(
            f"  {what} run {len(times)}: {seconds:5.1f} s, exit {r.returncode}, "
            f"{planned - pending:,} of {planned:,} targets written, "
            f"largest item {largest_item(world, table):,} bytes"
        )
        if r.returncode != 0:
            print(r.stderr[-3000:])
            raise SystemExit(1)
        if pending == 0:
            return times
    raise SystemExit(f"{what}: still pending after {MOST_RUNS} runs")


def night(world: World, proxy: FaultProxy) -> int:
    world.create_service(desired=3)
    tables = fleet_tables(TARGETS, 180, 48)
    for table, index in tables:
        for side in ("ReadCapacityUnits", "WriteCapacityUnits"):
            register(world, f"table/{table}", f"dynamodb:table:{side}")
            register(world, f"table/{table}/index/{index}", f"dynamodb:index:{side}")
    before = {k: s for k, (s, _, _) in targets(world).items()}
    state_table = world.create_state_table()
    print(f"{len(before):,} scalable targets, {DELAY * 1000:.0f} ms a call")
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(f"dynamodb_tables: {json.dumps([t for t, _ in tables])}\n")
        env = tool_env(
            base_env(
                Path(tmp),
                AWS_ENDPOINT_URL=proxy.url,
                AUTOSCALER_PAUSER_CONFIG=str(config),
                STATE_TABLE=state_table,
                FAILSAFE_MINUTES="30",
                FAILSAFE_ROLE_ARN=ROLE,
            )
        )
        cluster = world.start_cluster("nightly-backup-fleet")
        pause = until_done(world, env, state_table, "pause")
        suspended = {k: s for k, (s, _, _) in targets(world).items()}
        if set(map(lambda s: all(s.values()), suspended.values())) != {True}:
            print("a target was left running")
            return 1
        hold, r = timed(TOOL, env)
        print(f"  hold: {hold:5.1f} s, exit {r.returncode}")
        world.stop_cluster(cluster)
        resume = until_done(world, env, state_table, "resume")
        after = {k: s for k, (s, _, _) in targets(world).items()}
        left = world.scheduler().list_schedules(GroupName="autoscaler-pauser")["Schedules"]
        if after != before or world.desired() != 3 or left:
            print(f"not as before the night: {len(left)} schedules left")
            return 1
        bare_file = Path(tmp) / "bare.py"
        bare_file.write_text(BARE)
        bare, r = timed([sys.executable, str(bare_file)], env)
        if r.returncode != 0:
            print(r.stderr[-2000:])
            return 1
    fewest = math.ceil(bare / WRITE_BUDGET_SECONDS)
    print(
        f"pause of {TARGETS:,} targets ({2 * TARGETS:,} writes): {len(pause)} runs, "
        f"{sum(pause):.0f} s in all; resume: {len(resume)} runs, {sum(resume):.0f} s"
    )
    print(
        f"bare boto3, the same {2 * TARGETS:,} writes on 10 threads: {bare:.0f} s, "
        f"so at least {fewest} runs of {WRITE_BUDGET_SECONDS} s for writes"
    )
    return 0 if len(pause) <= fewest + 1 else 1


if __name__ == "__main__":
    sys.exit(main())
