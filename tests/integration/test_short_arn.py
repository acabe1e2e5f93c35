"""A service made before ECS's long ARN format (`…:service/NAME`), which ECS does not let be
tagged: paused and resumed as any other, its count kept in the pause record only, with one
warning a pause naming the remedy (ECS's migration to the long ARN); every run exits 0."""

from __future__ import annotations

import pytest

from autoscaler_pauser.cli import main
from tests.support.state import read as read_state
from tests.support.tool import base_env


@pytest.fixture
def short_arn(world):
    world.ecs.put_account_setting(name="serviceLongArnFormat", value="disabled")
    arn = world.create_service(desired=3)
    assert arn.split(":")[-1] == "service/ddb-scaler", arn
    return world


def test_a_short_arn_service_is_paused_and_resumed_with_its_count_in_the_record(
    short_arn, tmp_path, capsys
):
    world, env = short_arn, base_env(tmp_path)
    cluster = world.start_cluster("nightly-backup-a")
    assert main([], environ=env, aws_factory=world.clients) == 0
    assert world.desired() == 0
    assert "TagResource" not in world.calls, "ECS refuses to tag a short ARN: not asked"
    warnings = [line for line in capsys.readouterr().err.splitlines() if " WARNING " in line]
    assert (
        len(warnings) == 1 and "ddb-scaler was paused; its ARN has the format from" in (warnings[0])
    )
    # The remedy is ECS's migration in place, not a new service.
    assert "serviceLongArnFormat" in warnings[0] and "ecs tag-resource" in warnings[0]
    assert "migrate the service to the long ARN in place" in warnings[0]
    assert "re-create" not in warnings[0]
    assert read_state(tmp_path / "state" / "state.json")["saved_desired_count"] == 3
    assert main([], environ=env, aws_factory=world.clients) == 0
    assert " WARNING " not in capsys.readouterr().err, "one warning a pause"
    world.stop_cluster(cluster)
    world.calls.clear()
    assert main([], environ=env, aws_factory=world.clients) == 0
    assert world.desired() == 3 and "UntagResource" not in world.calls
