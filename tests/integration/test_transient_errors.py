"""Transient failures that botocore does not try again, answered on the tool's own clients in place
of moto's (tests/support/answers.py): a DynamoDB transaction's conflict, Application Auto
Scaling's concurrent update, a batch read's unprocessed keys. Once, each costs a try, not the run;
every time, the run fails and its line says what to do."""

from __future__ import annotations

import random

import boto3
import pytest

from autoscaler_pauser import lease
from autoscaler_pauser.cli import main
from autoscaler_pauser.lease import Lease, LeasedItem
from autoscaler_pauser.model import iso
from autoscaler_pauser.timing import TRANSIENT_WAIT_SECONDS, TRIES
from tests.support.answers import (
    CONCURRENT_UPDATE,
    CONFLICT_EXCEPTION,
    TRANSACTION_CONFLICT,
    Answers,
    unprocessed,
)
from tests.support.clock import T0, Clock
from tests.support.state import read as read_state
from tests.support.tool import base_env
from tests.support.world import add_table, targets

TABLE = "autoscaler-pauser"
TABLES = ("orders", "customers")
# A record's part items hold a few hundred bytes of it here: noise does not compress.
NOISE = random.Random(0).randbytes(1500).hex()


@pytest.fixture
def night(world, tmp_path, monkeypatch):
    """A pause of the service and the tables' targets, its record in state_table over several
    items (100 bytes each, as a fleet's record is over 350 KB ones)."""
    monkeypatch.setattr(lease, "PART_BYTES", 100)
    world.create_service(desired=3)
    for table in TABLES:
        add_table(world, table, indexes=["by-date", "by-customer"])
    world.create_state_table(TABLE)
    answers, clock = Answers(), Clock()
    env = base_env(tmp_path, DYNAMODB_TABLES=",".join(TABLES), STATE_TABLE=TABLE)

    def run() -> int:
        factory = answers.factory(world.clients)
        return main([], environ=env, aws_factory=factory, now=clock)

    run.answers, run.state = answers, lambda: read_state(tmp_path / "state" / "state.json")
    return run


def paused(world) -> bool:
    flags = {flag for state, _, _ in targets(world).values() for flag in state.values()}
    return world.desired() == 0 and flags == {True}


@pytest.mark.parametrize(
    "operation, answer",
    [
        ("TransactWriteItems", TRANSACTION_CONFLICT),  # the record written over its items
        ("UpdateItem", CONFLICT_EXCEPTION),  # the lease taken
        ("RegisterScalableTarget", CONCURRENT_UPDATE),  # a table's target suspended
    ],
)
def test_a_transient_failure_once_costs_a_try_not_the_run(world, night, operation, answer):
    world.start_cluster("nightly-backup-orders")
    night.answers.answer(operation, answer)
    assert night() == 0
    assert paused(world) and night.state()["last_result"] == "ok"
    assert night.answers.made[operation] == 1
    assert night.answers.tries[operation] == world.calls[operation] + 1, "tried once more"


def test_parts_left_unread_once_are_read_again_and_the_run_goes_on(world, night):
    cluster = world.start_cluster("nightly-backup-orders")
    assert night() == 0 and paused(world)
    assert int(world.pause_item(TABLE)["ecs:us-east-1/autoscaler/ddb-scaler"]["parts"]) > 1
    world.stop_cluster(cluster)
    night.answers.answer("BatchGetItem", unprocessed)
    assert night() == 0
    assert world.desired() == 3 and night.state()["last_result"] == "ok"
    assert night.answers.tries["BatchGetItem"] == 2


@pytest.mark.parametrize(
    "operation, answer, said",
    [
        (
            "TransactWriteItems",
            TRANSACTION_CONFLICT,
            "TransactWriteItems failed: TransactionCanceledException: Transaction cancelled",
        ),
        (
            "RegisterScalableTarget",
            CONCURRENT_UPDATE,
            "RegisterScalableTarget failed: ConcurrentUpdateException: Concurrent update",
        ),
    ],
)
def test_a_transient_failure_that_lasts_fails_the_run_saying_what_to_do(
    world, night, capsys, operation, answer, said
):
    world.start_cluster("nightly-backup-orders")
    night.answers.answer(operation, answer, times=None)
    assert night() == 1
    error = next(line for line in capsys.readouterr().err.splitlines() if said in line)
    assert f"; tried {TRIES} times): the next run tries again; should every run fail so, " in error
    assert night.answers.tries[operation] == TRIES * world.calls[operation]


# --- the parts of a record, read again after a wait -------------------------------------------


def test_unread_parts_are_read_again_after_a_wait_that_grows(world, monkeypatch):
    monkeypatch.setattr(lease, "PART_BYTES", 400)
    world.create_state_table(TABLE)
    answers, waits = Answers(), []
    dynamodb = answers.attach(boto3.client("dynamodb", **world.kw))
    item = LeasedItem(dynamodb, TABLE, "p", "host-a:1", 50, sleep=waits.append)
    record = {"format": 2, "scopes": {"*": {"paused_at": iso(T0), "note": NOISE}}}
    item.write(item.take(T0), record, T0)
    answers.answer("BatchGetItem", unprocessed, times=TRIES - 1)
    read = item.read()
    assert isinstance(read, Lease) and read.data == record and read.parts > 1
    assert len(waits) == TRIES - 1 and answers.tries["BatchGetItem"] == TRIES
    first, second = waits
    assert 0 < first <= TRANSIENT_WAIT_SECONDS <= second <= 2 * TRANSIENT_WAIT_SECONDS


def test_parts_unread_at_every_try_fail_the_read_saying_what_to_do(world, monkeypatch):
    monkeypatch.setattr(lease, "PART_BYTES", 400)
    world.create_state_table(TABLE)
    answers = Answers()
    dynamodb = answers.attach(boto3.client("dynamodb", **world.kw))
    item = LeasedItem(dynamodb, TABLE, "p", "host-a:1", 50, sleep=lambda seconds: None)
    record = {"format": 2, "scopes": {"*": {"paused_at": iso(T0), "note": NOISE}}}
    item.write(item.take(T0), record, T0)
    answers.answer("BatchGetItem", unprocessed, times=None)
    with pytest.raises(lease.AwsError) as raised:
        item.read()
    assert str(raised.value).startswith("BatchGetItem left ")
    assert f"unread after {TRIES} tries (the read capacity of {TABLE} was spent)" in str(
        raised.value
    )
    assert "give the table more read capacity, or on-demand capacity" in str(raised.value)
