"""A warm Lambda function in process against moto: the config, the session and the clients are made
once and reused while what they are made from stays the same, though the runtime rewrites
_X_AMZN_TRACE_ID before every invocation; and an invocation runs whatever its context lacks."""

from __future__ import annotations

import os
import uuid

import pytest

from autoscaler_pauser import lambda_handler
from autoscaler_pauser.timing import LAMBDA_RESERVE_SECONDS, WRITE_BUDGET_SECONDS
from tests.support.tool import LambdaContext, base_env

TABLE = "autoscaler-pauser"
ITEM = "ecs:us-east-1/autoscaler/ddb-scaler"


class Made:
    """Counts the sessions and the clients the handler makes, and what a run is given."""

    def __init__(self, monkeypatch):
        self.sessions, self.clients, self.runs = 0, 0, []
        new_session, make_clients = lambda_handler.new_session, lambda_handler.make_clients
        run_once = lambda_handler.run_once

        def counted_session():
            self.sessions += 1
            return new_session()

        def counted_clients(config, session):
            self.clients += 1
            return make_clients(config, session)

        def recorded_run(config, aws, now, **kwargs):
            self.runs.append({"config": config, "aws": aws, **kwargs})
            return run_once(config, aws, now, **kwargs)

        monkeypatch.setattr(lambda_handler, "new_session", counted_session)
        monkeypatch.setattr(lambda_handler, "make_clients", counted_clients)
        monkeypatch.setattr(lambda_handler, "run_once", recorded_run)


@pytest.fixture
def function(world, monkeypatch, tmp_path):
    """The function's environment, as the CloudFormation stack and the runtime set it."""
    world.create_state_table(TABLE)
    world.create_service(desired=3)
    env = base_env(
        tmp_path,
        STATE_TABLE=TABLE,
        AWS_LAMBDA_FUNCTION_NAME="autoscaler-pauser",
        AWS_LAMBDA_LOG_STREAM_NAME="2026/01/31/[$LATEST]0123456789abcdef",
        _X_AMZN_TRACE_ID=trace(),
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    lambda_handler._warm.clear()
    yield Made(monkeypatch)
    lambda_handler._warm.clear()


def trace() -> str:
    """A trace header as the runtime sets it, new for every invocation."""
    return f"Root=1-65b9c3a0-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"


def invoke(context=None) -> dict:
    return lambda_handler.handler({"source": "aws.scheduler"}, context or LambdaContext("r-1"))


def test_invocations_with_a_new_trace_id_reuse_the_config_session_and_clients(
    function, monkeypatch
):
    made = function
    assert invoke(LambdaContext("r-1"))["exit"] == 0
    monkeypatch.setenv("_X_AMZN_TRACE_ID", trace())
    assert invoke(LambdaContext("r-2"))["exit"] == 0
    monkeypatch.delenv("_X_AMZN_TRACE_ID")  # the runtime removes it when a request has none
    assert invoke(LambdaContext("r-3"))["exit"] == 0
    assert (made.sessions, made.clients) == (1, 1)
    first, *others = made.runs
    assert all(r["aws"] is first["aws"] and r["config"] is first["config"] for r in others)


@pytest.mark.parametrize(
    "name, value",
    [
        ("RESUME_COUNT", "2"),  # a key's variable
        ("PAUSER_NAME", "nightly"),  # a key's variable of another name
        ("AWS_DEFAULT_REGION", "eu-west-1"),  # botocore's region
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),  # botocore's endpoint (no call made here)
    ],
)
def test_a_changed_variable_the_config_or_clients_are_made_from_makes_them_anew(
    function, monkeypatch, name, value
):
    made = function
    assert invoke()["exit"] == 0
    monkeypatch.setenv(name, value)
    if name == "AWS_ENDPOINT_URL":
        lambda_handler._config_and_clients(os.environ)
        assert len(made.runs) == 1
    else:
        assert invoke(LambdaContext("r-2"))["exit"] == 0
        assert made.runs[1]["aws"] is not made.runs[0]["aws"]
    assert (made.sessions, made.clients) == (2, 2)


def test_a_changed_config_file_variable_makes_the_config_anew(function, monkeypatch, tmp_path):
    made = function
    assert invoke()["exit"] == 0
    config = tmp_path / "config.yaml"
    config.write_text("resume_count: 4\n")
    monkeypatch.setenv("AUTOSCALER_PAUSER_CONFIG", str(config))
    assert invoke(LambdaContext("r-2"))["exit"] == 0
    assert made.runs[1]["config"].resume_count == 4 and made.clients == 2


def test_a_context_without_a_request_id_runs_with_a_holder_of_its_own(function, world):
    made = function
    world.start_cluster("nightly-backup-users")

    class NoRequestId:
        def get_remaining_time_in_millis(self) -> int:
            return 50_000

    assert invoke(NoRequestId()) == {"exit": 0, "stuck": False}
    assert world.desired() == 0
    [run] = made.runs
    holder = run["holder"]
    assert holder.startswith("lambda:") and uuid.UUID(holder.removeprefix("lambda:"))
    assert run["budget"] == 50 - LAMBDA_RESERVE_SECONDS
    assert world.pause_item(TABLE)[ITEM]["updated_by"] == holder


def test_a_context_without_the_time_left_runs_with_a_runs_write_budget(function, world):
    made = function
    world.start_cluster("nightly-backup-users")
    assert invoke(object()) == {"exit": 0, "stuck": False}
    assert world.desired() == 0
    [run] = made.runs
    assert run["budget"] == WRITE_BUDGET_SECONDS
