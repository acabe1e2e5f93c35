"""The Lambda handler in process against moto: a whole night of invocations, two at once, its JSON
log lines, the stuck alarm, a failed run, and the write budget from the invocation's time."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest

from autoscaler_pauser import lambda_handler, metrics
from autoscaler_pauser.config import ConfigError
from autoscaler_pauser.model import iso
from autoscaler_pauser.state_file import StateFileError
from autoscaler_pauser.timing import LAMBDA_RESERVE_SECONDS
from tests.support.tool import LambdaContext, base_env
from tests.support.world import add_table

TABLE = "autoscaler-pauser"
ITEM = "ecs:us-east-1/autoscaler/ddb-scaler"


@pytest.fixture
def function(world, monkeypatch, tmp_path):
    """The function's environment, as the CloudFormation stack sets it."""
    world.create_state_table(TABLE)
    env = base_env(tmp_path, STATE_TABLE=TABLE)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    lambda_handler._warm.clear()
    yield world
    lambda_handler._warm.clear()


def invoke(request: str = "r-1", seconds: float = 50) -> dict:
    return lambda_handler.handler({"source": "aws.scheduler"}, LambdaContext(request, seconds))


def log_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_a_night_of_invocations_pauses_and_resumes_and_logs_json_lines(function, capsys):
    w = function
    w.create_service(desired=3)
    assert invoke() == {"exit": 0, "stuck": False}
    cluster = w.start_cluster("nightly-backup-users")
    assert invoke("r-2") == {"exit": 0, "stuck": False} and w.desired() == 0
    assert invoke("r-3")["exit"] == 0 and w.desired() == 0
    w.set_desired(5)
    assert invoke("r-4")["exit"] == 0 and w.desired() == 0, "lifted by hand: paused again"
    w.stop_cluster(cluster)
    assert invoke("r-5")["exit"] == 0 and w.desired() == 3
    lines = log_lines(capsys)
    assert all(set(line) >= {"time", "level", "message"} for line in lines)
    messages = [line["message"] for line in lines]
    assert any(m.startswith("paused ddb-scaler 3 → 0: 1 active cluster matches") for m in messages)
    assert any(m.startswith("resumed ddb-scaler 0 → 3: no active cluster") for m in messages)
    [item] = w.pause_item(TABLE).values()
    assert item["flat"]["paused"] is False and "lease_holder" not in item
    assert item["updated_by"] == "lambda:r-5"


def test_two_invocations_at_once_make_one_writer_and_one_skip(function, monkeypatch, capsys):
    """The first holds the lease while it reads the ECS service; the second finds it held and is
    skipped."""
    w = function
    w.create_service(desired=3)
    w.start_cluster("nightly-backup-users")
    first_reads_emr, second_done = threading.Event(), threading.Event()
    new_session = lambda_handler.new_session

    def session_waiting_in_describe_services():
        session = new_session()

        def wait(**_):
            if threading.current_thread().name == "first":
                first_reads_emr.set()
                assert second_done.wait(30), "the second invocation did not end"

        session.events.register("before-call.ecs.DescribeServices", wait)
        return session

    monkeypatch.setattr(lambda_handler, "new_session", session_waiting_in_describe_services)
    results = {}
    first = threading.Thread(target=lambda: results.update(first=invoke("r-1")), name="first")
    first.start()
    try:
        # A run takes the lease before it reads EMR: the first holds it from here on.
        assert first_reads_emr.wait(30), "the first invocation did not reach ListClusters"
        assert "lease_holder" in w.pause_item(TABLE).get(ITEM, {}), "the first took no lease"
        results["second"] = invoke("r-2")
    finally:  # the first ends before moto does, whatever happened
        second_done.set()
        first.join(timeout=60)
    assert not first.is_alive()
    assert results == {"first": {"exit": 0, "stuck": False}, "second": {"exit": 0, "stuck": False}}
    assert w.desired() == 0
    messages = [line["message"] for line in log_lines(capsys)]
    assert sum(m.startswith("paused ddb-scaler 3 → 0") for m in messages) == 1
    assert sum("another run (lambda:r-1) holds the pause record" in m for m in messages) == 1


def test_a_pause_over_the_limit_logs_a_stuck_line_for_the_alarm(function, monkeypatch, capsys):
    w = function
    monkeypatch.setenv("MAX_PAUSE_MINUTES", "60")
    w.create_service(desired=3)
    w.start_cluster("nightly-backup-stuck")
    assert invoke()["exit"] == 0
    began = iso(datetime.now(timezone.utc) - timedelta(hours=2))
    record = w.pause_item(TABLE)[ITEM]["record"]
    record["scopes"]["*"]["paused_at"] = began
    w.set_record(ITEM, record, TABLE)
    capsys.readouterr()
    assert invoke("r-2") == {"exit": 3, "stuck": True}
    [stuck] = [line for line in log_lines(capsys) if line.get("stuck")]
    assert stuck["level"] == "ERROR" and stuck["message"].startswith("paused for 120 min since")


def test_a_failed_run_fails_the_invocation(function, capsys):
    with pytest.raises(lambda_handler.RunFailed):
        invoke()  # there is no ECS service
    [error] = [line for line in log_lines(capsys) if line["level"] == "ERROR"]
    assert "DescribeServices failed: ClusterNotFoundException" in error["message"]


def test_a_table_another_pauser_holds_fails_the_invocation(function, monkeypatch):
    """Another pauser's pause holds orders: the function's run stops before any write."""
    w = function
    w.create_service(desired=3)
    add_table(w, "orders")
    held = {"paused_at": "2026-11-26T01:00:00Z", "last_seen": "2026-11-26T01:00:00Z"}
    w.set_record("exports", {"format": 2, "pauser": "exports", "scopes": {"orders": held}})
    monkeypatch.setenv("DYNAMODB_TABLES", "orders")
    w.start_cluster("nightly-backup-users")
    said = "dynamodb_tables: table orders is held by the pause of the pauser 'exports'"
    with pytest.raises(StateFileError, match=said):
        invoke()
    assert w.desired() == 3, "nothing was changed"


def test_the_write_budget_comes_from_the_time_the_invocation_has_left(function, capsys):
    w = function
    w.create_service(desired=3)
    w.start_cluster("nightly-backup-users")
    assert invoke(seconds=LAMBDA_RESERVE_SECONDS - 1)["exit"] == 0
    assert w.desired() == 3, "no write may start: a hung call would outlast the invocation"
    [warning] = [line for line in log_lines(capsys) if line["level"] == "WARNING"]
    assert warning["message"] == (
        "the run's time for writes was spent: 1 of 1 changes are left for the next run"
    )
    assert invoke("r-2", seconds=50)["exit"] == 0 and w.desired() == 0


def test_without_state_table_the_function_refuses_to_run(function, monkeypatch):
    monkeypatch.delenv("STATE_TABLE")
    with pytest.raises(ConfigError, match="state_table: required in Lambda"):
        invoke()


# CloudWatch's units a metric may have (MetricDatum's StandardUnit), the ones a count and a time
# take among them.
UNITS = {"Seconds", "Milliseconds", "Count", "Percent", "None"}


def check_emf(line: dict) -> dict[str, float]:
    """An EMF line as CloudWatch Logs reads it (the Embedded Metric Format's specification): the
    `_aws` block with a Unix time in milliseconds and one directive, whose namespace, dimension
    names and metric names are the documented ones and are members of the line, each metric's
    value a number. The metrics' values."""
    block = line["_aws"]
    assert isinstance(block["Timestamp"], int) and block["Timestamp"] > 1e12
    [directive] = block["CloudWatchMetrics"]
    assert directive["Namespace"] == metrics.NAMESPACE == "AutoscalerPauser"
    assert directive["Dimensions"] == [[metrics.DIMENSION]] == [["Pauser"]]
    assert isinstance(line["Pauser"], str) and 0 < len(line["Pauser"]) <= 1024
    names = [m["Name"] for m in directive["Metrics"]]
    assert names == [name for name, _, _ in metrics.EMF_METRICS]
    assert all(m["Unit"] in UNITS for m in directive["Metrics"])
    values = {name: line[name] for name in names}
    assert all(type(v) in (int, float) for v in values.values()), values
    return values


def test_each_run_logs_a_line_whose_metrics_cloudwatch_reads_embedded_in_it(
    function, monkeypatch, capsys
):
    w = function
    with pytest.raises(lambda_handler.RunFailed):
        invoke("r-0")  # there is no ECS service yet
    w.create_service(desired=3)
    add_table(w, "orders")
    monkeypatch.setenv("DYNAMODB_TABLES", "orders")
    assert invoke("r-1")["exit"] == 0  # steady, running
    cluster = w.start_cluster("nightly-backup-users")
    assert invoke("r-2")["exit"] == 0  # the pause
    assert invoke("r-3")["exit"] == 0  # steady, paused
    w.stop_cluster(cluster)
    assert invoke("r-4")["exit"] == 0  # the resume
    lines = log_lines(capsys)
    runs = [line for line in lines if "_aws" in line]
    assert len(runs) == 5, "a line a run, the failed one too"
    assert all(line["level"] == "INFO" and line["message"].startswith("run: ") for line in runs)
    assert {line["Pauser"] for line in runs} == {ITEM}
    seen = [check_emf(line) for line in runs]
    columns = ("PausedTargets", "PausedTables", "Changes", "Failures", "PendingTargets")
    assert [tuple(v[c] for c in columns) for v in seen] == [
        (0, 0, 0, 1, 0),
        (0, 0, 0, 0, 0),
        (3, 1, 3, 0, 0),
        (3, 1, 0, 0, 0),
        (0, 0, 3, 0, 0),
    ]
    assert all(0 < v["RunSeconds"] < 50 for v in seen)


def test_no_line_of_a_function_speaks_of_a_host(function, capsys):
    """The record deleted, then damaged, during a pause: the function starts it again from the
    copy an earlier invocation left in /tmp, and says so without speaking of a host."""
    w = function
    w.create_service(desired=3)
    w.start_cluster("nightly-backup-users")
    assert invoke()["exit"] == 0 and w.desired() == 0
    w.dynamodb.delete_item(TableName=TABLE, Key={"name": {"S": ITEM}})
    assert invoke("r-2")["exit"] == 0
    w.set_record(ITEM, {"scopes": []}, TABLE)
    assert invoke("r-3")["exit"] == 0 and w.desired() == 0
    messages = [line["message"] for line in log_lines(capsys)]
    new = [m for m in messages if "is new: it starts from the copy in " in m]
    assert len(new) == 1 and new[0].endswith("/state/state.json"), messages
    assert any("ignored the scopes in the pause record" in m for m in messages)
    assert not [m for m in messages if "host" in m], messages
