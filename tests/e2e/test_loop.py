"""Loop mode over real HTTP: one process running every interval, stopped by SIGTERM or SIGINT;
and the Dockerfile's command."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.support.tool import ROOT, base_env, tool_env, wait_for


def metrics(path: Path) -> dict[str, float]:
    families = text_string_to_metric_families(path.read_text())
    return {s.name: s.value for f in families for s in f.samples}


def start_loop(env, *args):
    return subprocess.Popen(
        [sys.executable, str(ROOT / "reconcile.py"), "--loop", *args],
        env=tool_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_loop_reconciles_every_interval_survives_a_failure_and_stops_on_sigterm(
    server_world, moto_server, tmp_path
):
    w = server_world
    w.create_service(desired=3)
    prom = tmp_path / "loop.prom"
    env = base_env(tmp_path, AWS_ENDPOINT_URL=moto_server.url, METRICS_FILE=str(prom))
    proc = start_loop(env, "--interval", "1")
    try:
        assert wait_for(prom.exists)
        assert metrics(prom)["autoscaler_pauser_api_calls"] == 2, "a steady iteration: 2 calls"
        cid = w.start_cluster("nightly-backup-loop")
        assert wait_for(lambda: w.desired() == 0)
        w.stop_cluster(cid)
        assert wait_for(lambda: w.desired() == 3)
        w.ecs.delete_service(cluster=w.cluster, service=w.service, force=True)
        assert wait_for(lambda: metrics(prom)["autoscaler_pauser_last_run_success"] == 0)
        w.create_service(desired=5)
        assert wait_for(lambda: metrics(prom)["autoscaler_pauser_last_run_success"] == 1)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "SIGTERM received: stopping after this run" in out and "loop stopped" in out
    assert "ECS service 'ddb-scaler' in cluster 'autoscaler' in us-east-1 is INACTIVE" in out
    assert "the loop goes on" in out
    assert "Traceback" not in out


def test_loop_stops_on_sigint_too(server_world, moto_server, tmp_path):
    server_world.create_service(desired=1)
    env = base_env(tmp_path, AWS_ENDPOINT_URL=moto_server.url)
    proc = start_loop(env, "--interval", "30")
    assert wait_for(lambda: (tmp_path / "state" / "state.json").exists())
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "loop stopped" in out, out


def test_dockerfile_default_command_runs_the_original_docker_run_line(
    server_world, moto_server, tmp_path
):
    """The image can't be built here (no Docker engine); its command and environment can run."""
    text = (ROOT / "Dockerfile").read_text()
    cmd = json.loads(next(line for line in text.splitlines() if line.startswith("CMD "))[4:])
    entry = json.loads(next(ln for ln in text.splitlines() if ln.startswith("ENTRYPOINT "))[11:])
    assert entry == ["autoscaler-pauser"] and cmd == ["--loop"]
    server_world.create_service(desired=2)
    server_world.start_cluster("nightly-backup-docker")
    original = {  # exactly what people pass to docker run -e today
        "EMR_PREFIX": "nightly-backup-",
        "EMR_REGION": "us-east-1",
        "AUTOSCALER_CLUSTER": "autoscaler",
        "AUTOSCALER_REGION": "us-east-1",
        "AUTOSCALER_SERVICE": "ddb-scaler",
    }
    exe = Path(sys.executable).with_name("autoscaler-pauser")
    env = tool_env(
        {
            "AWS_ENDPOINT_URL": moto_server.url,
            "STATE_FILE": str(tmp_path / "state.json"),  # stands for the image's state folder
            **original,
        }
    )
    proc = subprocess.Popen(
        [str(exe), *cmd], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert wait_for(lambda: server_world.desired() == 0)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "paused ddb-scaler 2 → 0" in out
