"""reconcile.py as cron runs it: a subprocess with the original environment variables, over real
HTTP to moto server on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from autoscaler_pauser import __version__
from autoscaler_pauser.targets.ecs import SAVED_COUNT_TAG
from tests.support.state import read as read_state
from tests.support.tool import base_env, run_tool, tool_env
from tests.support.world import add_table


@pytest.fixture
def env(server_world, moto_server, tmp_path):
    return base_env(tmp_path, AWS_ENDPOINT_URL=moto_server.url)


def test_full_backup_night(server_world, env, tmp_path):
    w = server_world
    w.create_service(desired=3)
    state_path = tmp_path / "state" / "state.json"

    r = run_tool([], env)
    assert r.returncode == 0, r.stderr
    assert "no change: ddb-scaler stays at 3 (running): no active cluster matches" in r.stderr
    assert w.desired() == 3

    first = w.start_cluster("nightly-backup-users")
    second = w.start_cluster("nightly-backup-orders")
    r = run_tool([], env)
    assert r.returncode == 0, r.stderr
    ids = ", ".join(sorted([first, second]))
    assert f"paused ddb-scaler 3 → 0: 2 active clusters match 'nightly-backup-' ({ids})" in r.stderr
    assert w.desired() == 0
    assert w.tags() == {SAVED_COUNT_TAG: "3"}

    r = run_tool([], env)
    assert r.returncode == 0 and "no change: ddb-scaler stays at 0 (paused)" in r.stderr

    w.stop_cluster(first)
    r = run_tool([], env)
    assert r.returncode == 0, r.stderr
    assert w.desired() == 0, "one backup cluster still holds the pause"

    w.stop_cluster(second)
    r = run_tool([], env)
    assert r.returncode == 0, r.stderr
    assert "resumed ddb-scaler 0 → 3: no active cluster matches 'nightly-backup-'" in r.stderr
    assert w.desired() == 3 and w.tags() == {}
    state = read_state(state_path)
    assert state["last_action"] == "resume" and state["paused"] is False


def test_status_and_dry_run_over_http(server_world, env):
    server_world.create_service(desired=2)
    server_world.start_cluster("nightly-backup-x")
    r = run_tool(["--dry-run"], env)
    assert r.returncode == 0 and "would pause ddb-scaler 2 → 0" in r.stderr
    assert server_world.desired() == 2
    r = run_tool(["status"], env)
    assert r.returncode == 0 and r.stdout.startswith("never ran")
    assert run_tool([], env).returncode == 0
    r = run_tool(["status", "--json"], env)
    assert r.returncode == 0, r.stderr
    saved = json.loads(r.stdout)["pause"]["scopes"]["*"]["targets"]
    assert saved["ecs:us-east-1/autoscaler/ddb-scaler"]["saved"] == 2


def test_unreachable_endpoint_fails_safe_with_one_line(tmp_path):
    env = base_env(tmp_path, AWS_ENDPOINT_URL="http://127.0.0.1:9")
    r = run_tool([], env)
    assert r.returncode == 1
    assert "ListClusters failed: EndpointConnectionError" in r.stderr
    assert "the autoscaler was left as it is" in r.stderr
    assert "Traceback" not in r.stderr
    state = read_state(tmp_path / "state" / "state.json")
    assert state["last_result"] == "error" and "ListClusters" in state["last_error"]


def test_installed_command_runs(server_world, env):
    exe = Path(sys.executable).with_name("autoscaler-pauser")
    assert exe.is_file(), f"{exe}: the console script is not installed in this environment"
    r = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and __version__ in r.stdout, r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "autoscaler_pauser", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and __version__ in r.stdout, r.stderr


# What only a run that writes, leases, arms the failsafe or reads a config file needs.
NOT_FOR_A_STEADY_RUN = {
    "yaml",  # no config file
    "autoscaler_pauser.writes",  # the write pool
    "autoscaler_pauser.failsafe",
    "autoscaler_pauser.lease",  # no state_table
    "filelock._soft",  # the soft lock: this filesystem has flock
    "autoscaler_pauser.events",  # nothing to tell
    "autoscaler_pauser.timeline",  # the history command
    "_strptime",
}
LOADED = (
    "import json, sys\n"
    "from autoscaler_pauser import cli\n"
    "code = cli.main([])\n"
    "print(json.dumps(sorted(sys.modules)))\n"
    "sys.exit(code)\n"
)


def test_steady_run_loads_only_what_it_uses(server_world, env, tmp_path):
    w = server_world
    w.create_service(desired=3)
    add_table(w, "orders")
    env = {
        **env,
        "DYNAMODB_TABLES": "orders",
        "FAILSAFE_MINUTES": "30",
        "FAILSAFE_ROLE_ARN": "arn:aws:iam::123456789012:role/failsafe",
        "EVENTS_BUS": w.event_queue()[0],
    }
    for _run in ("first", "steady"):
        r = subprocess.run(
            [sys.executable, "-c", LOADED], env=tool_env(env), capture_output=True, text=True
        )
        assert r.returncode == 0, r.stderr
    assert "no change: 3 targets stay running" in r.stderr
    loaded = set(json.loads(r.stdout))
    assert {"autoscaler_pauser.run", "boto3", "filelock"} <= loaded  # the control: the host's lock
    assert loaded & NOT_FOR_A_STEADY_RUN == set()
