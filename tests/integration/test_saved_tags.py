"""The saved-count tag on the service: one that is no count, and one deleted during a pause;
through main() in process against moto (`mock_aws`). Which tag values are no count:
tests/unit/test_targets.py; one of them end to end: tests/e2e/test_hardening.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoscaler_pauser.cli import main
from autoscaler_pauser.targets.ecs import SAVED_COUNT_TAG
from tests.support.tool import base_env

START = 3
TAGGED = {SAVED_COUNT_TAG: str(START)}


@pytest.fixture
def env(tmp_path):
    return base_env(tmp_path)


@pytest.fixture
def ok(world, capsys):
    """A run through main() that must exit 0: what it printed on stderr."""

    def run(env) -> str:
        capsys.readouterr()
        code = main([], environ=env, aws_factory=world.clients)
        err = capsys.readouterr().err
        assert code == 0, err
        return err

    return run


def paused(world, env, ok) -> str:
    """The service at START, a backup cluster running, one run: paused, count saved."""
    world.create_service(desired=START)
    cluster = world.start_cluster("nightly-backup-users")
    ok(env)
    assert world.desired() == 0 and world.tags() == TAGGED
    return cluster


# --- a saved-count tag that is no count ----------------------------------------------------------


def test_a_bad_tag_with_no_state_file_resumes_to_resume_count_and_says_so(world, env, ok):
    w = world
    cluster = paused(w, env, ok)
    arn = w.describe()["serviceArn"]
    w.ecs.tag_resource(
        resourceArn=arn, tags=[{"key": SAVED_COUNT_TAG, "value": "99999999999999999999"}]
    )
    Path(env["STATE_FILE"]).unlink()
    w.stop_cluster(cluster)
    err = ok({**env, "RESUME_COUNT": "2"})
    assert w.desired() == 2, "the tag's count must never be applied"
    assert (
        "resumed ddb-scaler 0 → 2: no active cluster matches 'nightly-backup-'; its setting "
        "before the pause is not known anywhere, so resume_count"
    ) in err


def test_a_bad_tag_when_a_backup_starts_is_overwritten_with_the_count(world, env, ok):
    w = world
    w.create_service(desired=START)
    arn = w.describe()["serviceArn"]
    w.ecs.tag_resource(resourceArn=arn, tags=[{"key": SAVED_COUNT_TAG, "value": "³"}])
    w.start_cluster("nightly-backup-users")
    ok(env)
    assert w.desired() == 0 and w.tags() == TAGGED


# --- a saved-count tag deleted during a pause ------------------------------------------------


def test_a_tag_deleted_during_the_pause_is_put_back_and_the_resume_still_restores(world, env, ok):
    w = world
    cluster = paused(w, env, ok)
    w.ecs.untag_resource(resourceArn=w.describe()["serviceArn"], tagKeys=[SAVED_COUNT_TAG])
    err = ok(env)
    assert w.tags() == TAGGED and w.desired() == 0
    assert "saved the pre-pause setting of ddb-scaler, 3, on AWS again: its record was gone" in err
    Path(env["STATE_FILE"]).unlink()  # now the tag alone knows the count
    w.stop_cluster(cluster)
    ok(env)
    assert w.desired() == START and w.tags() == {}
