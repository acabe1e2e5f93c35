"""The events a run tells (events.py): each kind's detail, PutEvents' limits (10 entries and less
than 256 KB a call, each entry counted as EventBridge counts it), and what a failed call, a
partly failed one, a throttle or a run out of time leave: a warning, never an error."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from autoscaler_pauser.decide import Plan, Verdict
from autoscaler_pauser.events import (
    MOST_BYTES,
    MOST_CLUSTERS,
    MOST_ENTRIES,
    SOURCE,
    batches,
    entries,
    entry_size,
    event_detail,
    publish,
)
from autoscaler_pauser.history import Restored, Story, Told
from autoscaler_pauser.model import (
    EVERY_TABLE,
    SCALING,
    SUSPENDED,
    Change,
    Cluster,
    Ended,
    Failure,
    Hold,
    Pause,
    PauseRecord,
    Why,
    iso,
)
from tests.unit.scene import CONFIG, NOW

BUS = "arn:aws:events:us-east-1:123456789012:event-bus/on-call"
SETUP = replace(CONFIG, events_bus=BUS)
BEGAN = iso(NOW - timedelta(hours=2))
READ = "dynamodb:us-east-1/table/orders:read"
A = Cluster("j-A", "nightly-backup-orders", "RUNNING", "nightly-backup-")
B = Cluster("j-B", "nightly-backup-users", "RUNNING", "nightly-backup-")


def story(before: PauseRecord, after: PauseRecord, plan: Plan, clusters=(A,), **more) -> Story:
    fields = {"failures": {}, "clusters": tuple(clusters), "restored": {}, "now": NOW, **more}
    return Story(SETUP, before, after, plan, **fields)


def held(*clusters: str, alarm: str | None = None) -> Hold:
    return Hold(BEGAN, iso(NOW), clusters, alarm=alarm)


PAUSE_PLAN = Plan(
    {"orders": Verdict(True, "1 active cluster matches 'nightly-backup-' (j-A)", ("j-A",))},
    (Change(READ, "table/orders read", Why.PAUSE, SCALING, SUSPENDED, scope="orders"),),
    {READ: SCALING},
)
RESUME_PLAN = Plan(
    {"orders": Verdict(False, "no active cluster matches 'nightly-backup-'")},
    (Change(READ, "table/orders read", Why.RESUME, SUSPENDED, SCALING, scope="orders"),),
    {},
)


def test_a_pause_names_its_table_targets_clusters_and_pauser():
    after = PauseRecord(
        "p", {"orders": held("j-A")}, history=(Pause("orders", BEGAN, None, {"j-A": A.name}),)
    )
    detail = event_detail(Told.PAUSED, "orders", story(PauseRecord(), after, PAUSE_PLAN))
    assert detail == {
        "pauser": SETUP.pauser_name,
        "scope": {"what": "table", "table": "orders"},
        "paused_at": BEGAN,
        "targets": [
            {
                "target": "table/orders read",
                "key": READ,
                "before": "scaling",
                "after": "suspended",
            }
        ],
        "reason": "1 active cluster matches 'nightly-backup-' (j-A)",
        "clusters": [{"id": "j-A", "name": "nightly-backup-orders"}],
        "summary": "paused table orders (1 target), held by j-A",
    }


def test_a_resume_says_how_long_the_pause_lasted_and_every_cluster_that_held_it():
    pause = Pause("orders", BEGAN, iso(NOW), {"j-A": A.name, "j-B": B.name}, Ended.CLUSTERS)
    before = PauseRecord("p", {"orders": held("j-B")})
    after = PauseRecord("p", {}, history=(pause,))
    detail = event_detail(Told.RESUMED, "orders", story(before, after, RESUME_PLAN, clusters=()))
    assert detail["paused_at"] == BEGAN and detail["ended_at"] == iso(NOW)
    assert detail["paused_seconds"] == 7200 and detail["ended_by"] == "clusters"
    assert detail["clusters"] == [
        {"id": "j-A", "name": "nightly-backup-orders"},
        {"id": "j-B", "name": "nightly-backup-users"},
    ]
    assert detail["targets"][0]["before"] == "suspended" and detail["targets"][0]["after"] == (
        "scaling"
    )
    assert detail["summary"] == "resumed table orders after 2h 0m, held by j-A, j-B"


def test_a_change_that_failed_or_was_left_says_so():
    failures = {READ: Failure("RegisterScalableTarget failed: ThrottlingException: Rate")}
    after = PauseRecord("p", {"orders": held("j-A")})
    detail = event_detail(
        Told.PAUSED, "orders", story(PauseRecord(), after, PAUSE_PLAN, failures=failures)
    )
    assert detail["targets"][0]["error"].startswith("RegisterScalableTarget failed")
    left = {READ: Failure("not tried", left=True)}
    detail = event_detail(
        Told.PAUSED, "orders", story(PauseRecord(), after, PAUSE_PLAN, failures=left)
    )
    assert detail["targets"][0]["pending"] == "not tried"


def test_a_stuck_pause_gives_its_alarm_and_the_limit():
    alarm = "paused for 400 min since …, over max_pause_minutes=360: …"
    before = PauseRecord("p", {EVERY_TABLE: held("j-A")})
    after = PauseRecord(
        "p",
        {EVERY_TABLE: held("j-A", alarm=alarm)},
        history=(Pause(EVERY_TABLE, BEGAN, None, {"j-A": A.name}),),
    )
    detail = event_detail(Told.STUCK, EVERY_TABLE, story(before, after, PAUSE_PLAN))
    assert detail["scope"] == {"what": "autoscaler", "table": None}
    assert detail["alarm"] == alarm and detail["max_pause_minutes"] == 360
    assert detail["paused_seconds"] == 7200 and "targets" not in detail
    assert detail["summary"] == (
        "the autoscaler has been paused for 2h 0m, over max_pause_minutes=360, held by j-A"
    )


@pytest.mark.parametrize("again", [True, False], ids=["paused again", "resumed"])
def test_a_pause_the_failsafe_ended_names_what_it_restored_and_what_the_run_did(again):
    due = iso(NOW - timedelta(minutes=5))
    restored = {"orders": (Restored(READ, "table/orders read", SCALING, due),)}
    before = PauseRecord("p", {"orders": held("j-A")})
    if again:
        after = PauseRecord(
            "p", {"orders": held("j-A")}, history=(Pause("orders", BEGAN, None, {"j-A": ""}),)
        )
    else:
        after = PauseRecord(
            "p", history=(Pause("orders", BEGAN, due, {"j-A": A.name}, Ended.FAILSAFE),)
        )
    detail = event_detail(
        Told.FAILSAFE, "orders", story(before, after, PAUSE_PLAN, restored=restored)
    )
    assert detail["restored"] == [
        {"target": "table/orders read", "key": READ, "setting": "scaling", "due": due}
    ]
    assert detail["then"] == ("paused again" if again else "resumed")
    assert detail["summary"] == "the failsafe restored 1 target of table orders: " + (
        "paused again" if again else "it stays resumed"
    )
    assert ("ended_by" in detail) is not again
    assert detail["clusters"] == [{"id": "j-A", "name": "nightly-backup-orders"}]


def test_an_event_lists_50_clusters_and_counts_the_rest():
    many = tuple(Cluster(f"j-{i}", "n" * 256, "RUNNING", "n") for i in range(80))
    after = PauseRecord("p", {"orders": held(*(c.id for c in many))})
    detail = event_detail(
        Told.PAUSED, "orders", story(PauseRecord(), after, PAUSE_PLAN, clusters=many)
    )
    assert len(detail["clusters"]) == MOST_CLUSTERS and detail["more_clusters"] == 30


def test_each_entry_is_from_the_pauser_s_source_on_the_bus_with_its_detail_type_and_time():
    after = PauseRecord("p", {"orders": held("j-A")})
    [entry] = entries(story(PauseRecord(), after, PAUSE_PLAN), [(Told.PAUSED, "orders")])
    assert entry["Source"] == SOURCE == "autoscaler-pauser"
    assert entry["DetailType"] == "Autoscaler Paused" and entry["EventBusName"] == BUS
    assert entry["Time"] == NOW and json.loads(entry["Detail"])["scope"]["table"] == "orders"
    assert entry_size(entry) == 14 + len("autoscaler-pauser") + len("Autoscaler Paused") + len(
        entry["Detail"].encode()
    )


def entry(detail_bytes: int) -> dict:
    return {"Source": SOURCE, "DetailType": "Autoscaler Paused", "Detail": "x" * detail_bytes}


def test_calls_hold_at_most_10_entries_and_less_than_256_kb():
    calls, too_large = batches([entry(100) for _ in range(25)])
    assert [len(c) for c in calls] == [10, 10, 5] and too_large == 0
    big = [entry(100_000) for _ in range(5)]
    calls, too_large = batches(big)
    assert [len(c) for c in calls] == [2, 2, 1]
    assert all(sum(entry_size(e) for e in c) < MOST_BYTES for c in calls)
    calls, too_large = batches([entry(MOST_BYTES), entry(10)])
    assert [len(c) for c in calls] == [1] and too_large == 1


class Events:
    """An EventBridge client that answers as it is told: an error, or some entries failed."""

    def __init__(self, answers=()):
        self.answers, self.calls = list(answers), []

    def put_events(self, Entries):
        assert 1 <= len(Entries) <= MOST_ENTRIES
        self.calls.append([json.loads(e["Detail"])["scope"]["table"] for e in Entries])
        answer = self.answers.pop(0) if self.answers else None
        if isinstance(answer, Exception):
            raise answer
        failed = answer or set()
        return {
            "FailedEntryCount": len(failed),
            "Entries": [
                {"ErrorCode": "InternalFailure", "ErrorMessage": "x"}
                if i in failed
                else {"EventId": "e"}
                for i in range(len(Entries))
            ],
        }


TABLES = [f"t{i}" for i in range(23)]
MANY = Plan({t: Verdict(True, "held") for t in TABLES}, (), {})


def many_story() -> Story:
    after = PauseRecord("p", {t: held("j-A") for t in TABLES})
    return story(PauseRecord(), after, MANY)


def test_every_event_goes_in_three_calls_and_nothing_is_said():
    events = Events()
    assert publish(events, many_story(), math.inf) == []
    assert [len(c) for c in events.calls] == [10, 10, 3]
    assert sorted(t for c in events.calls for t in c) == sorted(TABLES)


def aws_says(code: str, message: str) -> ClientError:
    """The error botocore raises for an AWS error answer."""
    return ClientError({"Error": {"Code": code, "Message": message}}, "PutEvents")


def denied() -> ClientError:
    return aws_says("AccessDeniedException", "not authorized")


def test_a_denied_call_is_one_warning_naming_the_bus_and_how_many_were_not_told():
    events = Events([denied(), denied(), denied()])
    [warning] = publish(events, many_story(), math.inf)
    assert warning.startswith(f"could not tell events_bus {BUS} of 23 of 23 changes: ")
    assert "AccessDeniedException" in warning and "autoscaler-pauser history" in warning


def test_entries_that_failed_in_a_call_are_counted_and_the_others_are_not_sent_again():
    events = Events([{1, 4}])
    [warning] = publish(events, many_story(), math.inf)
    assert "of 2 of 23 changes: PutEvents failed for 2 events: InternalFailure" in warning
    assert len(events.calls) == 3, "not sent again: the error is not a throttle"


def test_a_throttled_call_is_sent_again_with_only_the_entries_that_did_not_get_through(
    monkeypatch,
):
    from autoscaler_pauser import writes

    monkeypatch.setattr(writes, "BACKOFF_FIRST", 0.001)
    events = Events([aws_says("ThrottlingException", "Rate exceeded")])
    assert publish(events, many_story(), math.inf) == []
    assert sorted(t for c in events.calls[1:] for t in c) == sorted(TABLES)


def test_a_run_out_of_time_tells_nothing_more_and_says_how_many_it_left():
    events = Events()
    [warning] = publish(events, many_story(), -math.inf)
    assert events.calls == [] and "of 23 of 23 changes: the run's time was spent" in warning
