"""One run through main(), against moto in process: what a user sees after each run."""

from __future__ import annotations

import json
import os
import stat
import threading
from datetime import datetime, timezone

import pytest

from autoscaler_pauser import __version__
from autoscaler_pauser.aws import AwsError
from autoscaler_pauser.cli import main
from autoscaler_pauser.decide import Plan, Verdict
from autoscaler_pauser.model import SCALING, SUSPENDED, Change, Why
from autoscaler_pauser.targets.ecs import SAVED_COUNT_TAG
from autoscaler_pauser.timing import WRITE_BUDGET_SECONDS
from autoscaler_pauser.writes import make_changes
from tests.support.state import read as read_state
from tests.support.tool import base_env
from tests.support.world import add_table


def run(world, tmp_path, *args, **env):
    environ = base_env(tmp_path, **env)
    code = main(list(args), environ=environ, aws_factory=world.clients)
    return code


def state(tmp_path):
    return read_state(tmp_path / "state" / "state.json")


def test_no_backup_leaves_service_and_makes_two_calls(world, tmp_path, caplog):
    world.create_service(desired=3)
    world.start_cluster("other-job")
    assert run(world, tmp_path) == 0
    assert world.desired() == 3
    assert dict(world.calls) == {"ListClusters": 1, "DescribeServices": 1}
    s = state(tmp_path)
    assert s["paused"] is False and s["last_action"] == "none" and s["last_result"] == "ok"


def test_matching_cluster_pauses_and_saves_count_on_service_and_state(world, tmp_path, capsys):
    world.create_service(desired=3)
    cid = world.start_cluster("nightly-backup-orders")
    assert run(world, tmp_path) == 0
    assert world.desired() == 0
    assert world.tags()[SAVED_COUNT_TAG] == "3"
    s = state(tmp_path)
    assert s["paused"] is True and s["last_action"] == "pause"
    assert s["saved_desired_count"] == 3
    assert s["active_clusters"] == [
        {
            "id": cid,
            "name": "nightly-backup-orders",
            "state": "WAITING",
            "prefix": "nightly-backup-",
            "tables": None,
            "unread": False,
        }
    ]
    err = capsys.readouterr().err
    assert f"paused ddb-scaler 3 → 0: 1 active cluster matches 'nightly-backup-' ({cid})" in err


def test_second_run_during_backup_makes_no_write_and_keeps_the_last_action(world, tmp_path):
    world.create_service(desired=3)
    world.start_cluster("nightly-backup-a")
    assert run(world, tmp_path) == 0
    paused_at = state(tmp_path)["last_action_at"]
    world.calls.clear()
    assert run(world, tmp_path) == 0
    assert dict(world.calls) == {"ListClusters": 1, "DescribeServices": 1}
    s = state(tmp_path)
    assert s["last_action"] == "pause" and s["last_action_at"] == paused_at
    assert s["last_run_at"] >= paused_at


def test_resume_restores_pre_pause_count_and_removes_tag(world, tmp_path, capsys):
    world.create_service(desired=4)
    cid = world.start_cluster("nightly-backup-a")
    assert run(world, tmp_path) == 0
    world.stop_cluster(cid)
    assert run(world, tmp_path) == 0
    assert world.desired() == 4
    assert SAVED_COUNT_TAG not in world.tags()
    s = state(tmp_path)
    assert s["paused"] is False and s["last_action"] == "resume"
    assert s["saved_desired_count"] is None
    assert "resumed ddb-scaler 0 → 4: no active cluster matches 'nightly-backup-'" in (
        capsys.readouterr().err
    )


def test_resume_uses_tag_when_state_file_is_lost(world, tmp_path):
    world.create_service(desired=5)
    cid = world.start_cluster("nightly-backup-a")
    assert run(world, tmp_path) == 0
    (tmp_path / "state" / "state.json").unlink()
    world.stop_cluster(cid)
    assert run(world, tmp_path) == 0
    assert world.desired() == 5


def test_resume_without_any_saved_count_uses_resume_count(world, tmp_path):
    world.create_service(desired=0)
    assert run(world, tmp_path, RESUME_COUNT="2") == 0
    assert world.desired() == 2


def test_scaled_up_by_hand_during_backup_is_paused_again_keeping_first_count(world, tmp_path):
    world.create_service(desired=3)
    cid = world.start_cluster("nightly-backup-a")
    assert run(world, tmp_path) == 0
    world.set_desired(7)
    assert run(world, tmp_path) == 0
    assert world.desired() == 0
    assert world.tags()[SAVED_COUNT_TAG] == "3"
    world.stop_cluster(cid)
    assert run(world, tmp_path) == 0
    assert world.desired() == 3


def test_resumed_by_hand_is_left_and_leftover_tag_cleared(world, tmp_path):
    world.create_service(desired=3)
    cid = world.start_cluster("nightly-backup-a")
    assert run(world, tmp_path) == 0
    world.stop_cluster(cid)
    world.set_desired(6)
    assert run(world, tmp_path) == 0
    assert world.desired() == 6
    assert SAVED_COUNT_TAG not in world.tags()
    assert state(tmp_path)["saved_desired_count"] is None


def test_many_clusters_over_several_pages_are_all_seen(world, tmp_path):
    world.create_service(desired=3)
    for i in range(60):
        world.stop_cluster(world.start_cluster(f"nightly-backup-{i}"))
    cid = world.start_cluster("nightly-backup-late")
    for i in range(55):
        world.start_cluster(f"unrelated-{i}")
    assert run(world, tmp_path) == 0
    assert world.desired() == 0
    assert [c["id"] for c in state(tmp_path)["active_clusters"]] == [cid]
    assert world.calls["ListClusters"] == 2  # 56 active clusters: two pages of 50


def test_several_prefixes_any_match_pauses_and_names_the_prefix(world, tmp_path):
    world.create_service(desired=2)
    world.start_cluster("adhoc-export-x")
    assert run(world, tmp_path, EMR_PREFIX="nightly-backup-,adhoc-export-") == 0
    assert world.desired() == 0
    assert state(tmp_path)["active_clusters"][0]["prefix"] == "adhoc-export-"


def test_dry_run_prints_plan_and_writes_nothing(world, tmp_path, capsys):
    world.create_service(desired=3)
    world.start_cluster("nightly-backup-a")
    assert run(world, tmp_path, "--dry-run") == 0
    assert world.desired() == 3
    assert not (tmp_path / "state").exists()
    assert "would pause ddb-scaler 3 → 0" in capsys.readouterr().err
    reads = {"ListClusters", "DescribeServices", "DescribeScalableTargets"}
    assert set(world.calls) <= reads, world.calls


def test_missing_service_is_a_clear_failure_and_state_records_it(world, tmp_path, capsys):
    world.create_service(desired=3, name="something-else")
    assert run(world, tmp_path) == 1
    err = capsys.readouterr().err
    assert "ECS service 'ddb-scaler' not found in cluster 'autoscaler'" in err
    assert "Traceback" not in err
    s = state(tmp_path)
    assert s["last_result"] == "error" and "not found" in s["last_error"]


def test_inactive_service_is_a_clear_failure(world, tmp_path, capsys):
    world.create_service(desired=0)
    world.ecs.delete_service(cluster=world.cluster, service=world.service)
    assert run(world, tmp_path) == 1
    assert "is INACTIVE, not ACTIVE" in capsys.readouterr().err


def test_missing_cluster_is_reported_with_aws_error_code(world, tmp_path, capsys):
    assert run(world, tmp_path) == 1
    assert "DescribeServices failed: ClusterNotFoundException" in capsys.readouterr().err


@pytest.mark.parametrize(
    "env, where",
    [
        ({"AUTOSCALER_CLUSTER": "autoscaler-typo"}, "cluster 'autoscaler-typo' in us-east-1"),
        ({"AUTOSCALER_REGION": "us-west-2"}, "cluster 'autoscaler' in us-west-2"),
    ],
    ids=["cluster", "region"],
)
def test_a_service_looked_for_in_the_wrong_place_names_the_cluster_and_region(
    world, tmp_path, capsys, env, where
):
    world.create_service(desired=3)
    assert run(world, tmp_path, **env) == 1
    err = capsys.readouterr().err
    assert (
        f"ClusterNotFoundException: Cluster not found. (ECS service 'ddb-scaler' in {where})" in err
    )
    assert "Traceback" not in err


def test_a_table_looked_for_in_the_wrong_region_names_the_region(world, tmp_path, capsys):
    world.create_service(desired=3)
    add_table(world, "orders")
    assert run(world, tmp_path, DYNAMODB_TABLES="orders", DYNAMODB_REGION="us-west-2") == 0
    err = capsys.readouterr().err
    assert "table orders has no Application Auto Scaling target in us-west-2 (" in err


def test_corrupt_state_file_is_moved_aside_and_run_goes_on(world, tmp_path, capsys):
    world.create_service(desired=3)
    folder = tmp_path / "state"
    folder.mkdir()
    (folder / "state.json").write_text('{"paused": tru')
    assert run(world, tmp_path) == 0
    aside = [p.name for p in folder.iterdir() if ".bad-" in p.name]
    assert len(aside) == 1 and (folder / aside[0]).read_text() == '{"paused": tru'
    assert "is not usable" in capsys.readouterr().err
    assert state(tmp_path)["last_result"] == "ok"


def test_state_and_lock_files_are_private(world, tmp_path):
    world.create_service(desired=3)
    before = os.umask(0o022)  # the usual one, which would make files readable by all
    try:
        assert run(world, tmp_path) == 0
    finally:
        os.umask(before)
    folder = tmp_path / "state"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "state.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((folder / "state.json.lock").stat().st_mode) == 0o600


def test_held_lock_skips_run_without_aws_calls(world, tmp_path, capsys):
    import fcntl

    world.create_service(desired=3)
    world.start_cluster("nightly-backup-a")
    (tmp_path / "state").mkdir()
    held = os.open(tmp_path / "state" / "state.json.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(held, fcntl.LOCK_EX)  # as another run's lock: an flock on the lock file
    try:
        done = []
        t = threading.Thread(target=lambda: done.append(run(world, tmp_path, LOCK_TIMEOUT="0.2")))
        t.start()
        t.join(timeout=60)
    finally:
        os.close(held)
    assert not t.is_alive(), "the run did not give up waiting for the lock"
    assert done == [0]
    assert world.calls == {}
    assert world.desired() == 3
    assert not (tmp_path / "state" / "state.json").exists()
    assert "this run is skipped" in capsys.readouterr().err


def test_without_flock_runs_go_on_under_a_soft_lock_and_each_says_so_once(
    world, tmp_path, capsys, monkeypatch
):
    import fcntl

    from tests.support.locks import no_flock

    monkeypatch.setattr(fcntl, "flock", no_flock)  # a filesystem without flock
    world.create_service(desired=3)
    world.start_cluster("nightly-backup-a")
    for _run in ("the pause", "a steady run"):
        assert run(world, tmp_path) == 0
        assert world.desired() == 0
        err = capsys.readouterr().err
        assert err.count("no flock on this filesystem; the lock is a soft lock") == 1, err
        assert "skipped" not in err
    assert state(tmp_path)["paused"] is True
    assert sorted(os.listdir(tmp_path / "state")) == ["state.json", "state.json.lock"]


def test_status_before_any_run_says_never_ran(world, tmp_path, capsys):
    assert run(world, tmp_path, "status") == 0
    assert capsys.readouterr().out.startswith("never ran")


def test_status_shows_pause_and_json_matches_state(world, tmp_path, capsys):
    world.create_service(desired=3)
    cid = world.start_cluster("nightly-backup-a")
    assert run(world, tmp_path) == 0
    capsys.readouterr()
    assert run(world, tmp_path, "status") == 0
    out = capsys.readouterr().out
    assert "PAUSED" in out and cid in out
    assert run(world, tmp_path, "status", "--json") == 0
    assert json.loads(capsys.readouterr().out)["paused"] is True


def test_check_config_makes_no_aws_call(world, tmp_path, capsys):
    assert run(world, tmp_path, "check-config") == 0
    assert world.calls == {}
    assert "config OK" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["--bogus"], ["nonsense-command"]])
def test_bad_usage_exits_2(world, tmp_path, args):
    assert run(world, tmp_path, *args) == 2


def test_version_exits_0(world, tmp_path, capsys):
    assert run(world, tmp_path, "--version") == 0
    assert __version__ in capsys.readouterr().out


def test_clock_is_recorded_in_utc(world, tmp_path):
    world.create_service(desired=3)
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert main([], environ=base_env(tmp_path), aws_factory=world.clients, now=lambda: when) == 0
    assert state(tmp_path)["last_run_at"] == "2026-01-02T03:04:05Z"


class SlowKind:
    """A target kind whose every write takes 16 s of a fake clock, as a hung endpoint would."""

    parallel = False

    def __init__(self, clock):
        self.clock, self.applied = clock, []

    def apply(self, change):
        self.clock[0] += 16
        self.applied.append(change.key)
        raise AwsError(f"RegisterScalableTarget failed for {change.key}: hung")


def test_no_write_starts_after_the_budget_so_a_hung_run_ends_in_time():
    clock = [0.0]
    kind = SlowKind(clock)
    changes = tuple(Change(f"t{i}", f"t{i}", Why.PAUSE, SCALING, SUSPENDED) for i in range(6))
    plan = Plan({"*": Verdict(True, "reason")}, changes, {})
    failures = make_changes(
        plan,
        {c.key: kind for c in changes},
        deadline=WRITE_BUDGET_SECONDS,
        monotonic=lambda: clock[0],
    )
    assert kind.applied == ["t0", "t1"], "the third write would start at 32 s, past the budget"
    assert clock[0] == 32, "two hung writes, then no more"
    assert list(failures) == [f"t{i}" for i in range(6)]
    assert all("not tried" in failures[f"t{i}"].error for i in range(2, 6))
    assert [key for key, f in failures.items() if f.left] == ["t2", "t3", "t4", "t5"]
