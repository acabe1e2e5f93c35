"""decide() is pure: tables of observation + state -> plan, and properties over sequences."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoscaler_pauser.config import Config
from autoscaler_pauser.decide import Change, Cluster, Observed, TargetView, decide, next_state
from autoscaler_pauser.report import plan_lines
from autoscaler_pauser.state import State, iso

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=timezone.utc)
KEY = "ecs-service:autoscaler/ddb-scaler"
CONFIG = Config(
    emr_prefix=("nightly-backup-",),
    emr_region="us-east-1",
    autoscaler_cluster="autoscaler",
    autoscaler_region="us-east-1",
    autoscaler_service="ddb-scaler",
    resume_count=1,
)
BACKUP = (Cluster("j-1", "nightly-backup-a", "RUNNING", "nightly-backup-"),)


def ecs(current, tag=None, resume_count=1):
    return TargetView(KEY, "ddb-scaler", current, tag, 0, resume_count)


def plan_for(clusters, current, tag=None, saved=None):
    state = State(saved={KEY: saved} if saved is not None else {}, fresh=False)
    return decide(Observed(clusters, (ecs(current, tag),)), state, CONFIG, NOW)


# clusters, desired now, tag, state's saved -> changes expected, saved after
ECS_TABLE = [
    ("no backup, running: nothing", (), 3, None, None, (), {}),
    (
        "backup starts: pause and save",
        BACKUP,
        3,
        None,
        None,
        (Change(KEY, "ddb-scaler", 3, 0, save=3),),
        {KEY: 3},
    ),
    ("backup goes on, paused: nothing", BACKUP, 0, 3, 3, (), {KEY: 3}),
    ("paused, tag lost, state knows: nothing", BACKUP, 0, None, 3, (), {KEY: 3}),
    ("paused, state lost, tag knows: nothing", BACKUP, 0, 3, None, (), {KEY: 3}),
    (
        "scaled up by hand mid-backup: back to 0, keep first count",
        BACKUP,
        5,
        3,
        3,
        (Change(KEY, "ddb-scaler", 5, 0),),
        {KEY: 3},
    ),
    (
        "scaled up mid-backup, tag lost: re-tag with state's count",
        BACKUP,
        5,
        None,
        3,
        (Change(KEY, "ddb-scaler", 5, 0, save=3),),
        {KEY: 3},
    ),
    ("at 0 when backup starts, nothing known: stay, save nothing", BACKUP, 0, None, None, (), {}),
    (
        "backup over: resume to tag's count",
        (),
        0,
        4,
        4,
        (Change(KEY, "ddb-scaler", 0, 4, forget=True),),
        {},
    ),
    (
        "backup over, tag wins over state",
        (),
        0,
        4,
        9,
        (Change(KEY, "ddb-scaler", 0, 4, forget=True),),
        {},
    ),
    (
        "backup over, state lost: tag's count",
        (),
        0,
        4,
        None,
        (Change(KEY, "ddb-scaler", 0, 4, forget=True),),
        {},
    ),
    (
        "backup over, tag lost: state's count",
        (),
        0,
        None,
        4,
        (Change(KEY, "ddb-scaler", 0, 4),),
        {},
    ),
    (
        "at 0, nothing known: resume_count",
        (),
        0,
        None,
        None,
        (Change(KEY, "ddb-scaler", 0, 1),),
        {},
    ),
    (
        "resumed by hand, leftover tag: clear it",
        (),
        6,
        3,
        3,
        (Change(KEY, "ddb-scaler", 6, None, forget=True),),
        {},
    ),
    ("resumed by hand, no tag: nothing", (), 6, None, 3, (), {}),
]


@pytest.mark.parametrize(
    "clusters,current,tag,saved,changes,saved_after",
    [row[1:] for row in ECS_TABLE],
    ids=[row[0] for row in ECS_TABLE],
)
def test_ecs_service_table(clusters, current, tag, saved, changes, saved_after):
    plan = plan_for(clusters, current, tag, saved)
    assert plan.changes == changes
    assert dict(plan.saved) == saved_after
    assert plan.pause is bool(clusters)


def test_reason_names_count_prefix_and_ids():
    clusters = (*BACKUP, Cluster("j-2", "nightly-backup-b", "STARTING", "nightly-backup-"))
    plan = plan_for(clusters, 3)
    assert plan.reason == "2 active clusters match 'nightly-backup-' (j-1, j-2)"
    assert plan_for((), 3).reason == "no active cluster matches 'nightly-backup-'"


def test_plan_lines_say_before_after_and_would_in_dry_run():
    observed = Observed(BACKUP, (ecs(3),))
    plan = decide(observed, State(), CONFIG, NOW)
    assert plan_lines(plan, observed) == [
        "paused ddb-scaler 3 → 0: 1 active cluster matches 'nightly-backup-' (j-1)"
    ]
    assert plan_lines(plan, observed, dry_run=True) == [
        "would pause ddb-scaler 3 → 0: 1 active cluster matches 'nightly-backup-' (j-1)"
    ]


# --- properties: a model of the service, driven by random observations --------------------------


def apply(current, tag, plan):
    """What AWS looks like after the plan's changes succeed."""
    for c in plan.changes:
        if c.save is not None:
            tag = c.save
        if c.after is not None:
            current = c.after
        if c.forget:
            tag = None
    return current, tag


def after_run(state, plan, observed):
    return next_state(state, plan, observed, [], None, NOW)


steps = st.lists(
    st.one_of(
        st.tuples(st.just("backup"), st.booleans()),
        st.tuples(st.just("hand"), st.integers(min_value=0, max_value=9)),
        st.tuples(st.just("lose_state"), st.none()),
        st.tuples(st.just("lose_tag"), st.none()),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(start=st.integers(min_value=1, max_value=9), steps=steps)
def test_never_running_during_backup_and_resume_restores_pre_pause_count(start, steps):
    current, tag, state, backup = start, None, State(), False
    pre_pause = None  # the count before the current pause began, as a person would remember it
    lost_tag = lost_state = False  # records lost during the current pause
    hand_counts = set()  # counts set by hand during the current pause
    for kind, value in steps:
        if kind == "backup":
            backup = value
        elif kind == "hand":
            current = value
            if backup:
                hand_counts.add(value)
            else:
                pre_pause = None
        elif kind == "lose_state":
            state, lost_state = State(), True
        elif kind == "lose_tag":
            tag, lost_tag = None, True
        observed = Observed(BACKUP if backup else (), (ecs(current, tag),))
        plan = decide(observed, state, CONFIG, NOW)
        if backup and pre_pause is None and current > 0:
            pre_pause = current
        was_paused = current == 0
        current, tag = apply(current, tag, plan)
        state = after_run(state, plan, observed)
        if backup:
            assert current == 0, "a matching cluster is active, so the service must be at 0"
        elif was_paused:
            if pre_pause is None:
                assert current == CONFIG.resume_count
            elif lost_tag and lost_state:
                # both records gone: the tool can only know what it saw after that
                assert current in hand_counts | {pre_pause, CONFIG.resume_count}
            else:
                assert current == pre_pause
        else:
            assert current > 0
        if not backup:
            assert tag is None and not plan.pause
            pre_pause, lost_tag, lost_state, hand_counts = None, False, False, set()


@settings(max_examples=300, deadline=None)
@given(
    backup=st.booleans(),
    current=st.integers(min_value=0, max_value=9),
    tag=st.one_of(st.none(), st.integers(min_value=1, max_value=9)),
    saved=st.one_of(st.none(), st.integers(min_value=1, max_value=9)),
)
def test_applying_a_plan_twice_equals_applying_it_once(backup, current, tag, saved):
    clusters = BACKUP if backup else ()
    state = State(saved={KEY: saved} if saved else {}, fresh=False)
    observed = Observed(clusters, (ecs(current, tag),))
    plan = decide(observed, state, CONFIG, NOW)
    current1, tag1 = apply(current, tag, plan)
    state1 = after_run(state, plan, observed)
    observed2 = Observed(clusters, (ecs(current1, tag1),))
    plan2 = decide(observed2, state1, CONFIG, NOW)
    assert plan2.changes == ()
    assert apply(current1, tag1, plan2) == (current1, tag1)


@settings(max_examples=200, deadline=None)
@given(current=st.integers(min_value=0, max_value=9), saved=st.integers(min_value=1, max_value=9))
def test_never_paused_without_a_matching_cluster(current, saved):
    plan = plan_for((), current, saved, saved)
    assert not plan.pause
    assert all(c.after != 0 for c in plan.changes)


# --- native auto scaling: suspension tuples (in, out, scheduled) ---------------------------------

AAS = "aas:dynamodb:table/orders:dynamodb:table:ReadCapacityUnits"
S, F, PART = (True, True, True), (False, False, False), (False, False, True)


def aas(current, tag=None):
    return TargetView(AAS, "table/orders read", current, tag, S, F, keeps_earlier_pause=True)


def aas_plan(clusters, current, saved=None, fresh=False, paused=False):
    state = State(saved={AAS: saved} if saved is not None else {}, fresh=fresh, paused=paused)
    return decide(Observed(clusters, (aas(current),)), state, CONFIG, NOW)


# clusters, current, state's saved, fresh state, state paused -> changes, saved after
AAS_TABLE = [
    ("no backup, scaling: nothing", (), F, None, False, False, (), {}),
    (
        "backup starts: suspend all, save scaling",
        BACKUP,
        F,
        None,
        False,
        False,
        (Change(AAS, "table/orders read", F, S, save=F),),
        {AAS: F},
    ),
    (
        "backup starts, partly suspended by hand: save it",
        BACKUP,
        PART,
        None,
        False,
        False,
        (Change(AAS, "table/orders read", PART, S, save=PART),),
        {AAS: PART},
    ),
    (
        "backup starts, fully suspended by hand: record, no write",
        BACKUP,
        S,
        None,
        False,
        False,
        (Change(AAS, "table/orders read", S, None, save=S),),
        {AAS: S},
    ),
    ("backup goes on: nothing", BACKUP, S, F, False, True, (), {AAS: F}),
    ("backup goes on, state lost: nothing recorded", BACKUP, S, None, True, False, (), {}),
    (
        "backup over: restore saved",
        (),
        S,
        F,
        False,
        True,
        (Change(AAS, "table/orders read", S, F),),
        {},
    ),
    (
        "backup over: restore partial",
        (),
        S,
        PART,
        False,
        True,
        (Change(AAS, "table/orders read", S, PART),),
        {},
    ),
    (
        "backup over, was suspended by hand: stays",
        (),
        S,
        S,
        False,
        True,
        (Change(AAS, "table/orders read", S, None),),
        {},
    ),
    (
        "backup over, state lost: unsuspend fully suspended",
        (),
        S,
        None,
        True,
        False,
        (Change(AAS, "table/orders read", S, F),),
        {},
    ),
    ("no pause of ours, suspended by someone: leave", (), S, None, False, False, (), {}),
    ("no pause, partly suspended: leave", (), PART, None, True, False, (), {}),
]


@pytest.mark.parametrize(
    "clusters,current,saved,fresh,paused,changes,saved_after",
    [row[1:] for row in AAS_TABLE],
    ids=[row[0] for row in AAS_TABLE],
)
def test_scalable_target_table(clusters, current, saved, fresh, paused, changes, saved_after):
    plan = aas_plan(clusters, current, saved, fresh, paused)
    assert plan.changes == changes
    assert dict(plan.saved) == saved_after


flags = st.tuples(st.booleans(), st.booleans(), st.booleans())


@settings(max_examples=300, deadline=None)
@given(start=flags, nights=st.lists(st.integers(min_value=1, max_value=4), max_size=5))
def test_scalable_target_is_suspended_in_backups_and_restored_exactly(start, nights):
    current, state = start, State(fresh=False)
    for length in [1, *nights]:
        for backup in [True] * length + [False, False]:
            observed = Observed(BACKUP if backup else (), (aas(current),))
            plan = decide(observed, state, CONFIG, NOW)
            for c in plan.changes:
                if c.after is not None:
                    current = c.after
            state = next_state(state, plan, observed, [], None, NOW)
            assert current == S if backup else current == start


# --- time: resume grace and the stuck-pause alarm ---------------------------------------------

T = "2026-11-26T00:00:00Z"  # NOW is 03:00, three hours later
GRACE = dataclasses.replace(CONFIG, resume_grace_seconds=600)
LIMIT = dataclasses.replace(CONFIG, max_pause_minutes=120)
FORCE = dataclasses.replace(LIMIT, force_resume_after_max_pause=True)


def seen(minutes_ago):
    return iso(NOW - timedelta(minutes=minutes_ago))


# config, clusters, paused_at, last seen, ignored -> pause, alarm starts with, ignored after
TIME_TABLE = [
    ("grace: last seen 5 min ago, hold", GRACE, (), T, seen(5), (), True, None, ()),
    ("grace: last seen 11 min ago, resume", GRACE, (), T, seen(11), (), False, None, ()),
    ("grace: never seen, resume", GRACE, (), T, None, (), False, None, ()),
    ("no grace: resume at once", CONFIG, (), T, seen(1), (), False, None, ()),
    ("under the limit: no alarm", LIMIT, BACKUP, seen(119), seen(0), (), True, None, ()),
    (
        "over the limit: alarm, stay paused",
        LIMIT,
        BACKUP,
        T,
        seen(0),
        (),
        True,
        "paused for 180",
        (),
    ),
    (
        "over, forced: resume, ignore j-1",
        FORCE,
        BACKUP,
        T,
        seen(0),
        (),
        False,
        "paused for 180",
        ("j-1",),
    ),
    (
        "ignored cluster holds no pause",
        FORCE,
        BACKUP,
        None,
        seen(0),
        ("j-1",),
        False,
        None,
        ("j-1",),
    ),
    ("ignored cluster gone: forgotten", FORCE, (), None, seen(0), ("j-1",), False, None, ()),
    (
        "limit 0: no alarm ever",
        dataclasses.replace(CONFIG, max_pause_minutes=0),
        BACKUP,
        "2020-01-01T00:00:00Z",
        seen(0),
        (),
        True,
        None,
        (),
    ),
]


@pytest.mark.parametrize(
    "config,clusters,paused_at,last_seen,ignored,pause,alarm,ignored_after",
    [row[1:] for row in TIME_TABLE],
    ids=[row[0] for row in TIME_TABLE],
)
def test_time_table(config, clusters, paused_at, last_seen, ignored, pause, alarm, ignored_after):
    state = State(
        paused=paused_at is not None,
        paused_at=paused_at,
        last_seen_active_at=last_seen,
        ignored_clusters=ignored,
        fresh=False,
    )
    plan = decide(Observed(clusters, (ecs(0, 3),)), state, config, NOW)
    assert plan.pause is pause
    assert (plan.alarm or "").startswith(alarm or "") and (plan.alarm is None) is (alarm is None)
    assert plan.ignored == ignored_after
