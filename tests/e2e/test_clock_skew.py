"""A host whose clock is off (libfaketime: 90 s ahead) runs beside hosts whose clock is right,
sharing state_table, against moto server: the times the hosts compare are AWS's, so the lease
another run holds is respected and a resume grace lasts its length; the host says its clock is
off."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from autoscaler_pauser.lease import Lease, LeasedItem
from tests.support.tool import base_env, run_tool, skewed

AHEAD = 90


@pytest.fixture
def shared(server_world, moto_server, tmp_path):
    w = server_world
    w.create_service(desired=3)
    table = w.create_state_table()
    env = {"AWS_ENDPOINT_URL": moto_server.url, "STATE_TABLE": table}
    right = base_env(tmp_path / "right", **env)
    ahead = skewed(base_env(tmp_path / "ahead", **env), AHEAD)
    return w, table, right, ahead


def test_a_host_ahead_respects_the_lease_another_run_holds(shared):
    w, table, _, ahead = shared
    holder = LeasedItem(w.dynamodb, table, "ecs:us-east-1/autoscaler/ddb-scaler", "right:1", 50)
    assert isinstance(holder.take(datetime.now(timezone.utc)), Lease)
    w.start_cluster("nightly-backup-a")
    r = run_tool([], ahead)
    assert r.returncode == 0, r.stderr
    assert "another run (right:1) holds the pause record" in r.stderr
    assert w.desired() == 3, "skipped: nothing changed"
    warnings = [line for line in r.stderr.splitlines() if " WARNING " in line]
    assert any(
        f"this host's clock is {AHEAD}" in line or "s ahead of AWS's" in line for line in warnings
    )


def test_a_host_ahead_holds_the_pause_for_the_whole_grace(shared):
    w, _, right, ahead = shared
    grace = {"RESUME_GRACE_SECONDS": "60"}
    cluster = w.start_cluster("nightly-backup-a")
    r = run_tool([], {**right, **grace})
    assert r.returncode == 0 and w.desired() == 0, r.stderr
    w.stop_cluster(cluster)
    r = run_tool([], {**ahead, **grace})
    assert r.returncode == 0, r.stderr
    assert w.desired() == 0, "a few seconds into a grace of 60: still paused"
    assert "resume waits 60s (resume_grace_seconds)" in r.stderr
    assert "s ahead of AWS's; this run goes by AWS's clock" in r.stderr


def test_status_check_on_a_host_8_hours_ahead_is_healthy_after_a_good_run(
    server_world, moto_server, tmp_path
):
    """status goes by the clock the runs recorded, AWS's, not the host's: a container health
    check on such a host does not restart a pauser that works."""
    server_world.create_service(desired=3)
    hours = 8 * 3600
    env = skewed(base_env(tmp_path, AWS_ENDPOINT_URL=moto_server.url), hours)
    r = run_tool([], env)
    assert r.returncode == 0, r.stderr
    assert "s ahead of AWS's; this run goes by AWS's clock" in r.stderr
    check = run_tool(["status", "--check"], skewed({"STATE_FILE": env["STATE_FILE"]}, hours))
    assert check.returncode == 0, check.stdout
    assert "NOT RECENT" not in check.stdout
    stale = run_tool(["status", "--check"], skewed({"STATE_FILE": env["STATE_FILE"]}, hours + 600))
    assert stale.returncode == 1 and "NOT RECENT" in stale.stdout, "ten minutes on: stale"
