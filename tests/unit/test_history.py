"""The history of pauses kept with the pause record (history.py), by its case tables: what a run
has to tell, each scope's pause from its start to what ended it, the targets a failsafe schedule
restored, the bounds, and the history as the record's JSON holds it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from autoscaler_pauser.history import (
    KEEP_DAYS,
    KEEP_PAUSES,
    Restored,
    Told,
    bounded,
    failsafe_restored,
    scope_label,
    to_tell,
    with_history,
)
from autoscaler_pauser.model import (
    EVERY_TABLE,
    SCALING,
    SUSPENDED,
    Cluster,
    Ended,
    Hold,
    Pause,
    PauseRecord,
    Schedule,
    TargetView,
    iso,
)
from autoscaler_pauser.record_format import pause_from_json, pause_to_json
from tests.unit.scene import KEY, NOW

EARLIER = iso(NOW - timedelta(hours=2))
STAMP = iso(NOW)
ORDERS = "dynamodb:us-east-1/table/orders:read"
A = Cluster("j-A", "nightly-backup-orders", "RUNNING", "nightly-backup-")
B = Cluster("j-B", "nightly-backup-users", "RUNNING", "nightly-backup-")


def paused(*holding: str, alarm: str | None = None, since: str = EARLIER) -> Hold:
    return Hold(paused_at=since, last_seen=STAMP, holding=holding, alarm=alarm)


def record(holds=None, history=(), saved=None, schedules=None) -> PauseRecord:
    return PauseRecord(
        "p", holds or {}, saved or {}, schedules or {}, fresh=False, history=tuple(history)
    )


RUNNING = Hold()
FORCED = Hold(ignored=("j-A",), alarm="paused for 400 min …; resumed anyway")


@pytest.mark.parametrize(
    "before, after, restored, told",
    [
        ({}, {"orders": paused("j-A")}, {}, [Told.PAUSED]),
        ({"orders": paused("j-A")}, {"orders": paused("j-A")}, {}, []),
        ({"orders": paused("j-A")}, {}, {}, [Told.RESUMED]),
        ({"orders": paused("j-A")}, {"orders": FORCED}, {}, [Told.RESUMED]),
        ({"orders": paused("j-A")}, {}, {"orders": ()}, [Told.FAILSAFE]),
        ({"orders": paused("j-A")}, {"orders": paused("j-A")}, {"orders": ()}, [Told.FAILSAFE]),
        ({}, {}, {"orders": ()}, []),  # restored, but not a pause of ours
        ({"orders": paused("j-A")}, {"orders": paused("j-A", alarm="over")}, {}, [Told.STUCK]),
        ({"orders": paused("j-A", alarm="x")}, {"orders": paused("j-A", alarm="y")}, {}, []),
        ({}, {"orders": paused("j-A", alarm="over")}, {}, [Told.PAUSED, Told.STUCK]),
        ({"orders": FORCED}, {}, {}, []),  # the alarm of a forced resume goes: nothing to tell
    ],
    ids=[
        "a pause begins",
        "a pause goes on",
        "a pause ends",
        "a pause ends by force",
        "the failsafe ended it, it stays resumed",
        "the failsafe ended it, it is paused again",
        "restored, not paused",
        "over max_pause_minutes",
        "still over max_pause_minutes: told once",
        "begins over the limit",
        "the ignored clusters let go",
    ],
)
def test_a_run_tells_each_scope_whose_pause_began_ended_or_went_stuck(
    before, after, restored, told
):
    assert to_tell(record(before), record(after), restored) == [(t, "orders") for t in told]


def test_a_run_that_changes_nothing_tells_nothing():
    holds = {EVERY_TABLE: paused("j-A"), "orders": paused("j-A")}
    assert to_tell(record(holds), record(holds), {}) == []
    assert to_tell(record(), record(), {}) == []


def test_scope_labels_are_what_status_and_the_events_call_them():
    assert scope_label(EVERY_TABLE) == ("autoscaler", None)
    assert scope_label("orders") == ("table", "orders")


# --- each scope's pause, from its start to what ended it -----------------------------------------


def test_a_pause_begins_with_the_clusters_that_hold_it_and_their_names():
    after = record({"orders": paused("j-A", since=STAMP)})
    [pause] = with_history(record(), after, (A,), {}, ("orders",), NOW).history
    assert pause == Pause("orders", STAMP, None, {"j-A": "nightly-backup-orders"})


def test_a_pause_gains_each_cluster_that_holds_it_and_keeps_those_gone():
    before = record({"orders": paused("j-A")}, [Pause("orders", EARLIER, None, {"j-A": A.name})])
    after = record({"orders": paused("j-B")})
    [pause] = with_history(before, after, (B,), {}, ("orders",), NOW).history
    assert pause.clusters == {"j-A": A.name, "j-B": B.name} and pause.ended is None


def test_a_paused_scope_without_its_pause_in_the_history_gets_one_from_when_it_began():
    """A run that died between its write-ahead and its record left the scope paused with no
    pause in the history; so does a record from before the history."""
    after = record({"orders": paused("j-A")})
    [pause] = with_history(
        record({"orders": paused("j-A")}), after, (A,), {}, ("orders",), NOW
    ).history
    assert pause.began == EARLIER and pause.clusters == {"j-A": A.name}


ON = Pause("orders", EARLIER, None, {"j-A": A.name})
DUE = iso(NOW - timedelta(minutes=20))


@pytest.mark.parametrize(
    "after, restored, named, ended, by",
    [
        ({}, {}, ("orders",), STAMP, Ended.CLUSTERS),
        ({"orders": FORCED}, {}, ("orders",), STAMP, Ended.FORCED),
        ({}, {}, (), STAMP, Ended.CONFIG),
        ({}, {"orders": (Restored(ORDERS, "x", SCALING, DUE),)}, ("orders",), DUE, Ended.FAILSAFE),
    ],
    ids=["no cluster holds it", "forced", "the config no longer names it", "the failsafe"],
)
def test_a_pause_ends_when_its_scope_is_no_longer_paused_saying_what_ended_it(
    after, restored, named, ended, by
):
    before = record({"orders": paused("j-A")}, [ON])
    [pause] = with_history(before, record(after), (), restored, named, NOW).history
    assert (pause.ended, pause.ended_by) == (ended, by)
    assert pause.clusters == {"j-A": A.name}, "the clusters that held it, named"


def test_a_pause_the_failsafe_ended_while_the_backup_runs_goes_on():
    before = record({"orders": paused("j-A")}, [ON])
    restored = {"orders": (Restored(ORDERS, "x", SCALING, DUE),)}
    [pause] = with_history(
        before, record({"orders": paused("j-A")}), (A,), restored, (), NOW
    ).history
    assert pause.ended is None and pause.began == EARLIER


def ended(days_ago: float, scope: str = "orders") -> Pause:
    end = NOW - timedelta(days=days_ago)
    return Pause(scope, iso(end - timedelta(hours=1)), iso(end), {}, Ended.CLUSTERS)


def test_the_history_keeps_the_last_200_pauses_that_ended_and_every_one_on():
    history = [ended(i / 24) for i in range(1, 251)]
    on = [Pause(f"t{i}", EARLIER) for i in range(300)]
    kept = bounded([*history, *on], NOW)
    assert len([p for p in kept if p.ended]) == KEEP_PAUSES == 200
    assert [p for p in kept if p.ended] == sorted(history[:200], key=lambda p: p.began)
    assert len([p for p in kept if p.ended is None]) == 300
    assert list(kept) == sorted(kept, key=lambda p: (p.began, p.scope)), "oldest first"


def test_the_history_keeps_nothing_that_ended_more_than_90_days_ago():
    kept = bounded([ended(KEEP_DAYS - 1), ended(KEEP_DAYS + 1), ended(400)], NOW)
    assert kept == (ended(KEEP_DAYS - 1),)


def test_over_200_pauses_the_oldest_go_run_after_run():
    history: tuple[Pause, ...] = ()
    holds = {"orders": paused("j-A")}
    for night in range(230):
        now = NOW + timedelta(days=night / 3)
        before = record({}, history)
        on = with_history(before, record(holds), (A,), {}, ("orders",), now).history
        history = with_history(record(holds, on), record(), (), {}, ("orders",), now).history
    assert len(history) == KEEP_PAUSES
    assert history[-1].ended == iso(NOW + timedelta(days=229 / 3))


# --- what the failsafe restored ------------------------------------------------------------------


def view(current, scope: str = "orders", key: str = ORDERS) -> TargetView:
    return TargetView(key, "table/orders read", current, None, SUSPENDED, SCALING, scope=scope)


def failsafe_record(due: str) -> PauseRecord:
    schedule = Schedule(due, "autoscaler-pauser", "us-east-1", "s")
    return record({"orders": paused("j-A")}, saved={ORDERS: SCALING}, schedules={ORDERS: schedule})


@pytest.mark.parametrize(
    "due, current, restored",
    [
        (iso(NOW - timedelta(minutes=1)), SCALING, True),
        (iso(NOW + timedelta(minutes=1)), SCALING, False),  # not due: lifted by someone else
        (iso(NOW - timedelta(minutes=1)), SUSPENDED, False),  # still paused
        (iso(NOW - timedelta(minutes=1)), SUSPENDED._replace(scheduled=False), False),
    ],
    ids=["due, found at its saved setting", "not due yet", "still paused", "at another setting"],
)
def test_a_target_found_at_its_saved_setting_after_its_schedule_was_due_was_restored_by_it(
    due, current, restored
):
    found = failsafe_restored(failsafe_record(due), [view(current)], NOW)
    assert found == (
        {"orders": (Restored(ORDERS, "table/orders read", SCALING, due),)} if restored else {}
    )


def test_a_target_of_a_scope_not_paused_was_not_restored_by_the_failsafe():
    before = failsafe_record(iso(NOW - timedelta(minutes=1)))
    before = record({}, saved=before.saved, schedules=before.schedules)
    assert failsafe_restored(before, [view(SCALING)], NOW) == {}


# --- as the record's JSON holds it ---------------------------------------------------------------


def test_the_history_goes_beside_each_scope_and_reads_back_whole():
    history = (
        Pause(EVERY_TABLE, EARLIER, STAMP, {"j-A": A.name}, Ended.FAILSAFE),
        Pause("orders", EARLIER, None, {"j-A": A.name, "j-B": B.name}),
        Pause("users", EARLIER, STAMP, {}, Ended.CONFIG),
    )
    mine = record({"orders": paused("j-A", "j-B")}, history, saved={KEY: 3})
    data = pause_to_json(mine)
    assert data["scopes"]["users"] == {
        "pauses": [{"began": EARLIER, "ended": STAMP, "by": "config"}]
    }
    assert data["scopes"]["orders"]["pauses"] == [
        {"began": EARLIER, "clusters": {"j-A": A.name, "j-B": B.name}}
    ]
    back, warnings = pause_from_json(data, "the test")
    assert warnings == [] and back == mine


@pytest.mark.parametrize(
    "pauses, why",
    [
        ("yesterday", "'pauses' is not a list of objects"),
        ([{"began": "yesterday"}], "'began' or 'ended' is not a time"),
        ([{"began": EARLIER, "by": "luck"}], "'by' is 'luck'"),
        ([{"began": EARLIER, "clusters": ["j-A"]}], "'clusters' is not a mapping"),
    ],
)
def test_a_history_that_cannot_be_understood_is_left_out_with_a_warning(pauses, why):
    """A resume needs none of it: the rest of the record stands."""
    data = pause_to_json(record({"orders": paused("j-A")}, saved={KEY: 3}))
    data["scopes"]["orders"]["pauses"] = pauses
    back, warnings = pause_from_json(data, "the test")
    assert back.history == () and back.saved == {KEY: 3} and back.paused
    [warning] = warnings
    assert "ignored the history of pauses of 'orders' in the test" in warning and why in warning
