#!/usr/bin/env python3
"""A backup night against an embedded local AWS (moto server on loopback); no account needed.

Runs reconcile.py as cron would, once per step, and prints each run's log and the state file.
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
from tests.support.world import World

ROOT = Path(__file__).resolve().parent


def step(title: str, env: dict[str, str], state_file: Path) -> None:
    print(f"\n== {title}")
    result = subprocess.run(
        [sys.executable, str(ROOT / "reconcile.py")], env=env, capture_output=True, text=True
    )
    for line in result.stderr.splitlines():
        print(f"   log:   {line}")
    print(f"   exit:  {result.returncode}")
    state = read_state(state_file)
    summary = {k: state[k] for k in ("paused", "saved_desired_count", "last_action")}
    summary["active_clusters"] = [c["id"] for c in state["active_clusters"]]
    print(f"   state: {json.dumps(summary)}")


def main() -> int:
    server = MotoServer()
    os.environ.update(FAKE_CREDENTIALS)
    try:
        world = World(endpoint=server.url)
        world.create_service(desired=2)
        print(
            f"local AWS at {server.url}: ECS service {world.cluster}/{world.service} "
            "at desired count 2"
        )
        with tempfile.TemporaryDirectory() as tmp:
            env = tool_env(base_env(Path(tmp), AWS_ENDPOINT_URL=server.url))
            state_file = Path(env["STATE_FILE"])
            step("no backup running", env, state_file)
            cluster = world.start_cluster("nightly-backup-2026-11-26")
            world.start_cluster("analytics-adhoc")
            step(f"backup cluster {cluster} starts (plus an unrelated cluster)", env, state_file)
            step("a minute later, backup still running", env, state_file)
            world.stop_cluster(cluster)
            step("backup cluster ends", env, state_file)
            print(f"\nECS service desired count now: {world.desired()}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
