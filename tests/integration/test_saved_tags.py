"""The saved-count tag on the service: one that is no count, and one deleted during a pause.
Moved here unchanged from tests/e2e/test_hardening.py, with the helpers they use from there."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from autoscaler_pauser.targets.ecs import SAVED_COUNT_TAG
from tests.support.tool import base_env, run_tool

START = 3
TAGGED = {SAVED_COUNT_TAG: str(START)}


@pytest.fixture
def env(server_world, fault_proxy, tmp_path):
    return base_env(tmp_path, AWS_ENDPOINT_URL=fault_proxy.url)


def ok(env, *args) -> subprocess.CompletedProcess:
    r = run_tool(list(args), env)
    assert r.returncode == 0, r.stderr
    return r


def paused(world, env) -> str:
    """The service at START, a backup cluster running, one run: paused, count saved."""
    world.create_service(desired=START)
    cluster = world.start_cluster("nightly-backup-users")
    ok(env)
    assert world.desired() == 0 and world.tags() == TAGGED
    return cluster


# --- a saved-count tag that is no count ----------------------------------------------------------


def test_a_bad_tag_with_no_state_file_resumes_to_resume_count_and_says_so(
    server_world, fault_proxy, env
):
    w = server_world
    cluster = paused(w, env)
    arn = w.describe()["serviceArn"]
    w.ecs.tag_resource(
        resourceArn=arn, tags=[{"key": SAVED_COUNT_TAG, "value": "99999999999999999999"}]
    )
    Path(env["STATE_FILE"]).unlink()
    w.stop_cluster(cluster)
    r = ok({**env, "RESUME_COUNT": "2"})
    assert w.desired() == 2, "the tag's count must never be applied"
    assert (
        "resumed ddb-scaler 0 → 2: no active cluster matches 'nightly-backup-'; its setting "
        "before the pause is not known anywhere, so resume_count"
    ) in r.stderr


def test_a_bad_tag_when_a_backup_starts_is_overwritten_with_the_count(
    server_world, fault_proxy, env
):
    w = server_world
    w.create_service(desired=START)
    arn = w.describe()["serviceArn"]
    w.ecs.tag_resource(resourceArn=arn, tags=[{"key": SAVED_COUNT_TAG, "value": "³"}])
    w.start_cluster("nightly-backup-users")
    ok(env)
    assert w.desired() == 0 and w.tags() == TAGGED


# --- a saved-count tag deleted during a pause ------------------------------------------------


def test_a_tag_deleted_during_the_pause_is_put_back_and_the_resume_still_restores(
    server_world, fault_proxy, env
):
    w = server_world
    cluster = paused(w, env)
    w.ecs.untag_resource(resourceArn=w.describe()["serviceArn"], tagKeys=[SAVED_COUNT_TAG])
    r = ok(env)
    assert w.tags() == TAGGED and w.desired() == 0
    assert (
        "saved the pre-pause setting of ddb-scaler, 3, on AWS again: its record was gone"
        in r.stderr
    )
    Path(env["STATE_FILE"]).unlink()  # now the tag alone knows the count
    w.stop_cluster(cluster)
    ok(env)
    assert w.desired() == START and w.tags() == {}
