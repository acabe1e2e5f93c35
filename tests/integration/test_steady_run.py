"""A steady run, with nothing to change, makes the calls docs/operations.md lists for its setup:
the same whether the autoscaler is running or paused, with events_bus set too (it tells nothing).
main() against moto in process."""

from __future__ import annotations

import pytest

from autoscaler_pauser.cli import main
from tests.support.docs import steady_calls
from tests.support.tool import base_env
from tests.support.world import add_table, register

# The setups of docs/operations.md's table: what the pauser is given.
SETUPS = {
    "the ECS service": {"ecs": True, "tables": False, "state_table": False},
    "the tables": {"ecs": False, "tables": True, "state_table": False},
    "the ECS service and the tables": {"ecs": True, "tables": True, "state_table": False},
    "the ECS service, with `state_table`": {"ecs": True, "tables": False, "state_table": True},
    "the ECS service and the tables, with `state_table`": {
        "ecs": True,
        "tables": True,
        "state_table": True,
    },
}


def test_the_docs_list_the_calls_of_every_setup_measured_here():
    assert list(steady_calls()) == list(SETUPS)


@pytest.mark.parametrize("paused", [False, True], ids=["running", "paused"])
@pytest.mark.parametrize("setup", list(SETUPS))
def test_a_steady_run_makes_the_calls_the_docs_list(world, tmp_path, setup, paused):
    given = SETUPS[setup]
    env = base_env(tmp_path)
    if given["ecs"]:
        world.create_service(desired=3)
        # Its own scalable target is read only when the service is about to change.
        service = f"service/{world.cluster}/{world.service}"
        register(world, service, "ecs:service:DesiredCount", namespace="ecs")
    else:
        env.pop("AUTOSCALER_CLUSTER")
        env.pop("AUTOSCALER_SERVICE")
    if given["tables"]:
        add_table(world, "orders", indexes=["by-date"])
        add_table(world, "users")
        env["DYNAMODB_TABLES"] = "orders,users"
    if given["state_table"]:
        env["STATE_TABLE"] = world.create_state_table()
    env["EVENTS_BUS"], queue = world.event_queue()
    if paused:
        world.start_cluster("nightly-backup-a")
    assert main([], environ=env, aws_factory=world.clients) == 0
    assert len(world.received(queue)) == (given["ecs"] + given["tables"] * 2) * paused
    world.calls.clear()
    assert main([], environ=env, aws_factory=world.clients) == 0
    assert world.calls == steady_calls()[setup]
    assert world.received(queue) == [], "a steady run tells nothing"
