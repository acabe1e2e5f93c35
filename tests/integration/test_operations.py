"""Operating it unattended: the stuck-pause alarm, resume grace, metrics, status, loop mode."""

from __future__ import annotations

import errno
import json
import stat
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from autoscaler_pauser import run as run_module
from autoscaler_pauser.cli import main
from autoscaler_pauser.model import iso
from tests.support.clock import Clock
from tests.support.state import read as read_state
from tests.support.tool import base_env

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock():
    return Clock()


def run(world, tmp_path, clock, *args, **env):
    return main(list(args), environ=base_env(tmp_path, **env), aws_factory=world.clients, now=clock)


def state(tmp_path):
    return read_state(tmp_path / "state" / "state.json")


def metrics(path: Path) -> dict[str, float]:
    families = text_string_to_metric_families(path.read_text())
    return {s.name: s.value for f in families for s in f.samples}


# --- stuck pause -------------------------------------------------------------------------------


def test_pause_over_max_is_an_alarm_naming_clusters_and_exits_3(world, tmp_path, clock, capsys):
    world.create_service(desired=3)
    cid = world.start_cluster("nightly-backup-stuck")
    assert run(world, tmp_path, clock) == 0
    assert state(tmp_path)["paused_at"] == "2026-11-26T01:00:00Z"
    clock.advance(minutes=360)
    assert run(world, tmp_path, clock) == 0, "at the limit, not over it"
    clock.advance(minutes=1)
    capsys.readouterr()
    assert run(world, tmp_path, clock) == 3
    err = capsys.readouterr().err
    assert "ERROR paused for 361 min since 2026-11-26T01:00:00Z, over max_pause_minutes=360" in err
    assert cid in err and "the autoscaler stays paused" in err
    assert world.desired() == 0
    s = state(tmp_path)
    assert s["alarm"] and s["paused_at"] == "2026-11-26T01:00:00Z"
    clock.advance(minutes=5)
    assert run(world, tmp_path, clock) == 3, "every run repeats the alarm"
    world.stop_cluster(cid)
    assert run(world, tmp_path, clock) == 0
    assert world.desired() == 3 and state(tmp_path)["alarm"] is None


def test_max_pause_zero_turns_the_alarm_off(world, tmp_path, clock):
    world.create_service(desired=3)
    world.start_cluster("nightly-backup-long")
    assert run(world, tmp_path, clock, MAX_PAUSE_MINUTES="0") == 0
    clock.advance(days=3)
    assert run(world, tmp_path, clock, MAX_PAUSE_MINUTES="0") == 0


def test_forced_resume_ignores_old_clusters_but_a_new_one_pauses_again(world, tmp_path, clock):
    env = {"MAX_PAUSE_MINUTES": "60", "FORCE_RESUME_AFTER_MAX_PAUSE": "true"}
    world.create_service(desired=4)
    old = world.start_cluster("nightly-backup-hung")
    assert run(world, tmp_path, clock, **env) == 0
    clock.advance(minutes=61)
    assert run(world, tmp_path, clock, **env) == 3
    assert world.desired() == 4
    s = state(tmp_path)
    assert s["ignored_clusters"] == [old] and s["paused"] is False
    assert "resumed anyway (force_resume_after_max_pause)" in s["alarm"]
    clock.advance(minutes=1)
    assert run(world, tmp_path, clock, **env) == 0
    assert world.desired() == 4, "the hung cluster holds no further pause"
    new = world.start_cluster("nightly-backup-next")
    clock.advance(minutes=1)
    assert run(world, tmp_path, clock, **env) == 0
    assert world.desired() == 0
    s = state(tmp_path)
    assert s["paused_at"] == iso(clock.now) and s["ignored_clusters"] == [old]
    world.stop_cluster(new)
    world.stop_cluster(old)
    assert run(world, tmp_path, clock, **env) == 0
    assert world.desired() == 4 and state(tmp_path)["ignored_clusters"] == []


# --- resume grace ------------------------------------------------------------------------------


def test_resume_waits_for_grace_and_pause_is_never_delayed(world, tmp_path, clock, capsys):
    env = {"RESUME_GRACE_SECONDS": "300"}
    world.create_service(desired=2)
    first = world.start_cluster("nightly-backup-1")
    assert run(world, tmp_path, clock, **env) == 0
    assert world.desired() == 0, "a pause is never delayed"
    world.stop_cluster(first)
    clock.advance(seconds=60)
    capsys.readouterr()
    assert run(world, tmp_path, clock, **env) == 0
    assert world.desired() == 0
    assert "the last was seen 60s ago, resume waits 300s" in capsys.readouterr().err
    second = world.start_cluster("nightly-backup-2")  # the next backup of the sequence
    clock.advance(seconds=60)
    assert run(world, tmp_path, clock, **env) == 0
    world.stop_cluster(second)
    clock.advance(seconds=299)
    assert run(world, tmp_path, clock, **env) == 0
    assert world.desired() == 0, "grace counts from the last cluster seen"
    clock.advance(seconds=2)
    assert run(world, tmp_path, clock, **env) == 0
    assert world.desired() == 2


def test_no_grace_by_default_resumes_at_once(world, tmp_path, clock):
    world.create_service(desired=2)
    cid = world.start_cluster("nightly-backup-1")
    assert run(world, tmp_path, clock) == 0
    world.stop_cluster(cid)
    clock.advance(seconds=1)
    assert run(world, tmp_path, clock) == 0
    assert world.desired() == 2


# --- metrics -----------------------------------------------------------------------------------


def test_metrics_file_is_valid_prometheus_text_readable_by_node_exporter(world, tmp_path, clock):
    world.create_service(desired=3)
    prom = tmp_path / "textfile" / "autoscaler_pauser.prom"
    prom.parent.mkdir()
    env = {"METRICS_FILE": str(prom)}
    assert run(world, tmp_path, clock, **env) == 0
    m = metrics(prom)
    assert m["autoscaler_pauser_paused"] == 0 and m["autoscaler_pauser_api_calls"] == 2
    assert m["autoscaler_pauser_last_run_success"] == 1
    assert m["autoscaler_pauser_last_success_timestamp_seconds"] == T0.timestamp()
    assert stat.S_IMODE(prom.stat().st_mode) == 0o644
    world.start_cluster("nightly-backup-1")
    world.start_cluster("nightly-backup-2")
    assert run(world, tmp_path, clock, **env) == 0
    clock.advance(minutes=10)
    assert run(world, tmp_path, clock, **env) == 0
    m = metrics(prom)
    assert m["autoscaler_pauser_paused"] == 1 and m["autoscaler_pauser_active_clusters"] == 2
    assert m["autoscaler_pauser_paused_seconds"] == 600
    assert m["autoscaler_pauser_stuck"] == 0
    assert m["autoscaler_pauser_run_duration_seconds"] > 0
    assert [p.name for p in prom.parent.iterdir()] == [prom.name], "no temp file left"


def test_metrics_after_a_failed_run_keep_the_last_success_time(world, tmp_path, clock):
    world.create_service(desired=3)
    prom = tmp_path / "pauser.prom"
    assert run(world, tmp_path, clock, METRICS_FILE=str(prom)) == 0
    world.ecs.delete_service(cluster=world.cluster, service=world.service, force=True)
    clock.advance(minutes=5)
    assert run(world, tmp_path, clock, METRICS_FILE=str(prom)) == 1
    m = metrics(prom)
    assert m["autoscaler_pauser_last_run_success"] == 0
    assert m["autoscaler_pauser_last_success_timestamp_seconds"] == T0.timestamp()
    assert m["autoscaler_pauser_last_run_timestamp_seconds"] == clock.now.timestamp()


def test_unwritable_metrics_file_fails_the_run_but_the_state_is_kept(
    world, tmp_path, clock, capsys, monkeypatch
):
    """Its folder is checked and made before the run (check_files); the write itself may still
    fail, as when the disk is full."""
    metrics = str(tmp_path / "textfile" / "x.prom")
    write = run_module.write_text_atomic

    def disk_full(path, text, **options):
        if path == metrics:
            raise OSError(errno.ENOSPC, "No space left on device")
        write(path, text, **options)

    monkeypatch.setattr(run_module, "write_text_atomic", disk_full)
    world.create_service(desired=3)
    assert run(world, tmp_path, clock, METRICS_FILE=metrics) == 1
    assert "metrics_file: cannot write" in capsys.readouterr().err
    assert state(tmp_path)["last_result"] == "ok"


# --- status ------------------------------------------------------------------------------------


def test_status_tells_a_person_what_holds_the_pause_and_whether_it_is_recent(
    world, tmp_path, clock, capsys
):
    world.create_service(desired=3)
    cid = world.start_cluster("nightly-backup-a")
    assert run(world, tmp_path, clock) == 0
    clock.advance(minutes=90)
    assert run(world, tmp_path, clock) == 0
    clock.advance(seconds=30)
    capsys.readouterr()
    assert run(world, tmp_path, clock, "status") == 0
    out = capsys.readouterr().out
    assert "PAUSED since 2026-11-26T01:00:00Z (90m)" in out
    assert (
        f"active:       {cid} nightly-backup-a (WAITING, prefix 'nightly-backup-'): every table"
    ) in out
    assert (
        f"paused:       the autoscaler (ecs-service) since 2026-11-26T01:00:00Z, held by {cid}"
        in out
    )
    assert "saved:        ecs:us-east-1/autoscaler/ddb-scaler = 3" in out
    assert "30s ago: ok" in out and "NOT RECENT" not in out
    clock.advance(hours=2)
    assert run(world, tmp_path, clock, "status") == 0
    assert "NOT RECENT: is the timer running?" in capsys.readouterr().out
    assert run(world, tmp_path, clock, "status", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["recent"] is False and data["last_run_age_seconds"] == 7230
    assert data["paused_seconds"] == 90 * 60 + 7230 and data["never_ran"] is False
    assert data["pauses"] == [
        {
            "what": "autoscaler",
            "table": None,
            "kinds": ["ecs-service"],
            "since": "2026-11-26T01:00:00Z",
            "held_by": [cid],
        }
    ]


def test_status_check_fails_once_the_last_run_is_stale(world, tmp_path, clock, capsys):
    world.create_service(desired=3)
    assert run(world, tmp_path, clock) == 0
    clock.advance(seconds=180)
    assert run(world, tmp_path, clock, "status", "--check") == 0, "three intervals: recent"
    clock.advance(seconds=1)
    assert run(world, tmp_path, clock, "status", "--check") == 1
    assert "NOT RECENT" in capsys.readouterr().out
    assert run(world, tmp_path, clock, "status") == 0


def status(capsys, env, *args) -> subprocess.CompletedProcess:
    """`status` through main() with the state file's path as all its environment."""
    capsys.readouterr()
    code = main(["status", *args], environ={"STATE_FILE": env["STATE_FILE"]})
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["status", *args], code, out, err)


def test_status_says_a_state_file_it_cannot_read_is_unusable_and_leaves_it(tmp_path, capsys):
    env = base_env(tmp_path)
    path = Path(env["STATE_FILE"])
    path.parent.mkdir()
    path.write_text('{"paused": tru')
    r = status(capsys, env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"state file {path} is not usable (")
    assert "the next run moves it aside" in r.stdout and "never ran" not in r.stdout
    assert json.loads(status(capsys, env, "--json").stdout)["unusable"]
    assert status(capsys, env, "--check").returncode == 1
    assert path.read_text() == '{"paused": tru', "status changes nothing"


def test_status_json_before_any_run(world, tmp_path, clock, capsys):
    assert run(world, tmp_path, clock, "status", "--json") == 0
    assert json.loads(capsys.readouterr().out)["never_ran"] is True
