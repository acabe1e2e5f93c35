#!/usr/bin/env python3
"""A backup night against an embedded local AWS (moto server on loopback); no account needed.

An ECS autoscaler service and three tables that scale through Application Auto Scaling; two
backup clusters that name the tables they back up in their tags (cluster_tables_tag). Runs
reconcile.py as cron would, once per step, and prints each run's log and what it left paused:
each table pauses when the first cluster that backs it up starts and resumes when the last one
ends; the service pauses while any backup runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.motoserver import MotoServer
from tests.support.state import read as read_state
from tests.support.tool import FAKE_CREDENTIALS, base_env, tool_env
from tests.support.world import World, add_table, targets

ROOT = Path(__file__).resolve().parent
TABLES = ("orders", "users", "events-2026")
TAG = "backup-tables"


def step(title: str, world: World, env: dict[str, str], state_file: Path) -> None:
    print(f"\n== {title}")
    result = subprocess.run(
        [sys.executable, str(ROOT / "reconcile.py")], env=env, capture_output=True, text=True
    )
    for line in result.stderr.splitlines():
        print(f"   log:   {line.split(' ', 1)[-1]}")
    print(f"   exit:  {result.returncode}")
    state = read_state(state_file)
    suspended = {
        table
        for key, (flags, _, _) in targets(world).items()
        for table in [key.split("/")[1].split(" ")[0]]
        if all(flags.values())
    }
    summary = {
        "service desired count": world.desired(),
        "tables paused": sorted(suspended),
        "held by": {s: h.get("holding") for s, h in state["holds"].items() if h.get("paused_at")},
    }
    print(f"   now:   {json.dumps(summary)}")


def main() -> int:
    server = MotoServer()
    os.environ.update(FAKE_CREDENTIALS)
    try:
        world = World(endpoint=server.url)
        world.create_service(desired=2)
        add_table(world, "orders", indexes=["by-date"])
        for table in TABLES[1:]:
            add_table(world, table)
        print(
            f"local AWS at {server.url}: ECS service {world.cluster}/{world.service} at desired "
            f"count 2; tables {', '.join(TABLES)} (orders with an index), auto scaled"
        )
        with tempfile.TemporaryDirectory() as tmp:
            env = tool_env(
                base_env(
                    Path(tmp),
                    AWS_ENDPOINT_URL=server.url,
                    DYNAMODB_TABLES=",".join(TABLES),
                    CLUSTER_TABLES_TAG=TAG,
                )
            )
            state_file = Path(env["STATE_FILE"])
            step("no backup running", world, env, state_file)
            orders = world.start_cluster("nightly-backup-orders", tags={TAG: "orders"})
            world.start_cluster("analytics-adhoc")
            step(f"backup {orders} starts, tagged {TAG}=orders", world, env, state_file)
            users = world.start_cluster("nightly-backup-users", tags={TAG: "users prefix:events-"})
            step(
                f"backup {users} starts, tagged {TAG}='users prefix:events-'",
                world,
                env,
                state_file,
            )
            world.stop_cluster(orders)
            step(f"backup {orders} ends: orders resumes, the rest stay", world, env, state_file)
            world.stop_cluster(users)
            step(f"backup {users} ends: everything resumes", world, env, state_file)
            print(f"\nECS service desired count now: {world.desired()}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
