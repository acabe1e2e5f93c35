#!/usr/bin/env python3
"""`make bench` (python -m benchmarks.bench_reconcile): the cost of one steady reconcile run
against moto server on loopback.

History: 300 terminated clusters with the backup prefix, the service running, no backup active,
events_bus set (a steady run tells nothing). Prints the API calls of a steady run (must be 2,
no PutEvents), then the median wall time and peak memory of
`python reconcile.py` beside a bare boto3 script making the same two calls, run alternately.
The ratio held to the goal is the median of each round's ratio: the two runs of a round share
the machine's load, which moves the medians of either alone by a fifth from one run to the next.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from autoscaler_pauser import cli
from tests.support.motoserver import MotoServer
from tests.support.tool import FAKE_CREDENTIALS, ROOT, base_env, tool_env
from tests.support.world import World

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
GOAL = 1.10

BARE = """
import boto3
from botocore.config import Config
cfg = Config(retries={"mode": "standard"})
emr = boto3.client("emr", region_name="us-east-1", config=cfg)
ecs = boto3.client("ecs", region_name="us-east-1", config=cfg)
emr.list_clusters(ClusterStates=["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING", "TERMINATING"])
ecs.describe_services(cluster="autoscaler", services=["ddb-scaler"], include=["TAGS"])
"""


# Children are started from this small launcher, not from the benchmark itself: Linux keeps
# the largest memory a process had before exec, and a child forked from this large process
# would report the benchmark's own size.
LAUNCHER = """
import os, sys, time
start = time.perf_counter()
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ)
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - start, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one child process."""
    out = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *cmd], env=env, capture_output=True, text=True
    )
    seconds, rss, code = out.stdout.split()
    if out.returncode != 0 or code != "0":
        raise SystemExit(f"{cmd} failed: {out.stderr}")
    return float(seconds), int(rss)


def loop_iterations(env: dict[str, str], prom: Path, rounds: int) -> list[tuple[float, int]]:
    """(run duration, API calls) of steady iterations of `reconcile.py --loop`, from its
    metrics file; the first iteration, which makes the clients, is left out."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "reconcile.py"), "--loop", "--interval", "1"],
        env={**env, "METRICS_FILE": str(prom)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seen: dict[str, tuple[float, int]] = {}
    try:
        deadline = time.monotonic() + rounds * 3 + 30
        while len(seen) < rounds + 1 and time.monotonic() < deadline:
            if prom.exists():
                values = dict(
                    line.split() for line in prom.read_text().splitlines() if line[:1] != "#"
                )
                stamp = values["autoscaler_pauser_last_run_timestamp_seconds"]
                seen.setdefault(
                    stamp,
                    (
                        float(values["autoscaler_pauser_run_duration_seconds"]),
                        int(values["autoscaler_pauser_api_calls"]),
                    ),
                )
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return list(seen.values())[1:]


def failsafe_writes(world: World, env: dict[str, str], tmp: Path) -> int:
    """The failsafe's cost over an hour of a pause: one run a minute, schedules of 30 minutes."""
    env = {
        **env,
        "STATE_FILE": str(tmp / "failsafe" / "state.json"),
        "FAILSAFE_MINUTES": "30",
        "FAILSAFE_ROLE_ARN": "arn:aws:iam::123456789012:role/failsafe",
    }
    start = datetime.now(timezone.utc)
    cluster = world.start_cluster("nightly-backup-failsafe")
    writes = {"CreateSchedule": 0, "UpdateSchedule": 0}
    for minute in range(61):
        world.calls.clear()
        now = start + timedelta(minutes=minute)
        if cli.main([], environ=env, aws_factory=world.clients, now=lambda t=now: t) != 0:
            return 1
        for name in writes:
            writes[name] += world.calls[name]
    world.stop_cluster(cluster)
    world.calls.clear()
    if cli.main([], environ=env, aws_factory=world.clients) != 0:
        return 1
    paused = writes["CreateSchedule"]
    print(
        f"failsafe, 30 minutes, an hour of runs a minute: {paused} schedules made at the pause, "
        f"{writes['UpdateSchedule']} moves ({writes['UpdateSchedule'] / paused:.0f} a target, one "
        f"every 15 minutes); {world.calls['DeleteSchedule']} removed at the resume"
    )
    return 0


def main() -> int:
    os.environ.update(FAKE_CREDENTIALS)
    server = MotoServer()
    try:
        world = World(endpoint=server.url)
        world.create_service(desired=3)
        world.events.create_event_bus(Name="on-call")
        for i in range(300):
            world.stop_cluster(world.start_cluster(f"nightly-backup-{i:03d}"))
        with tempfile.TemporaryDirectory() as tmp:
            env = tool_env(base_env(Path(tmp), AWS_ENDPOINT_URL=server.url, EVENTS_BUS="on-call"))
            os.environ["AWS_ENDPOINT_URL"] = server.url
            code = cli.main([], environ=env, aws_factory=world.clients)
            calls = sum(world.calls.values())
            print(f"API calls per steady run: {calls} {dict(world.calls)} (must be 2)")
            if code != 0 or calls != 2:
                return 1
            shared = {**env, "STATE_TABLE": world.create_state_table()}
            shared["STATE_FILE"] = str(Path(tmp) / "shared" / "state.json")
            cli.main([], environ=shared, aws_factory=world.clients)
            world.calls.clear()
            code = cli.main([], environ=shared, aws_factory=world.clients)
            shared_calls = sum(world.calls.values())
            print(
                f"API calls per steady run with state_table: {shared_calls} {dict(world.calls)} "
                "(must be 4: the lease returns the record, the last write gives it back)"
            )
            if code != 0 or shared_calls != 4:
                return 1
            tables = [f"table-{i:02d}" for i in range(20)]
            for table in tables:
                for dim in ("ReadCapacityUnits", "WriteCapacityUnits"):
                    world.aas.register_scalable_target(
                        ServiceNamespace="dynamodb",
                        ResourceId=f"table/{table}",
                        ScalableDimension=f"dynamodb:table:{dim}",
                        MinCapacity=5,
                        MaxCapacity=500,
                    )
            both = {**env, "DYNAMODB_TABLES": ",".join(tables)}
            world.calls.clear()
            code = cli.main([], environ=both, aws_factory=world.clients)
            print(
                f"API calls per steady run, ECS service + 20 tables (40 scalable targets): "
                f"{sum(world.calls.values())} {dict(world.calls)}"
            )
            if code != 0:
                return 1
            if failsafe_writes(world, both, Path(tmp)) != 0:
                return 1
            bare = Path(tmp) / "bare.py"
            bare.write_text(BARE)
            tool_cmd = [sys.executable, str(ROOT / "reconcile.py")]
            bare_cmd = [sys.executable, str(bare)]
            tool, base, table = [], [], []
            for _ in range(2):  # warm the page cache
                timed(tool_cmd, env), timed(bare_cmd, env), timed(tool_cmd, shared)
            for _ in range(ROUNDS):
                tool.append(timed(tool_cmd, env))
                base.append(timed(bare_cmd, env))
                table.append(timed(tool_cmd, shared))
            loop = loop_iterations(env, Path(tmp) / "loop.prom", ROUNDS)
    finally:
        server.stop()
    t_tool = statistics.median(t for t, _ in tool)
    t_base = statistics.median(t for t, _ in base)
    m_tool = max(m for _, m in tool)
    m_base = max(m for _, m in base)
    ratio = statistics.median(t / b for (t, _), (b, _) in zip(tool, base, strict=True))
    print(f"rounds: {ROUNDS}, alternating")
    print(f"reconcile.py   median {t_tool * 1000:7.1f} ms   peak RSS {m_tool / 1024:6.1f} MiB")
    print(f"bare boto3     median {t_base * 1000:7.1f} ms   peak RSS {m_base / 1024:6.1f} MiB")
    print(
        f"wall-time ratio: {ratio:.3f}, the median of the rounds' (goal ≤ {GOAL}; of the medians: "
        f"{t_tool / t_base:.3f})   memory ratio: {m_tool / m_base:.3f}"
    )
    t_table = statistics.median(t for t, _ in table)
    print(
        f"with state_table median {t_table * 1000:7.1f} ms ({t_table / t_tool:.2f}× the local "
        "state file: two more calls)"
    )
    durations = [d for d, _ in loop]
    print(
        f"--loop iteration median {statistics.median(durations) * 1000:7.1f} ms   "
        f"API calls per steady iteration: {sorted({c for _, c in loop})}   "
        f"(one-shot run above: {t_tool * 1000:.1f} ms, a new process each time)"
    )
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
