"""decide is pure: its verdict and its per-target steps tested by tables, and the whole of it by
properties over random sequences of runs."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoscaler_pauser.decide import (
    decide,
    failsafe_plan,
    intent_record,
    judge,
    next_pause_record,
    next_run_record,
    pause_step,
    resume_step,
)
from autoscaler_pauser.model import (
    SCALING,
    SUSPENDED,
    Change,
    Cluster,
    Failure,
    Observed,
    PauseRecord,
    RunRecord,
    Suspension,
    TargetView,
    Why,
    iso,
)
from tests.unit.scene import BACKUP, CONFIG, KEY, NOW


def ecs(current, tag=None, resume_count=1):
    return TargetView(KEY, "ddb-scaler", current, tag, 0, resume_count, saves_on_aws=True)


def ecs_change(why, before, after, **kw):
    return Change(KEY, "ddb-scaler", why, before, after, **kw)


def known(tag, saved):
    """A target's pre-pause setting as decide finds it: on AWS first, else in the record."""
    return tag if tag is not None else saved


# --- one ECS service: a desired count, paused at 0 ------------------------------------------------

PAUSED_RECORD = PauseRecord(paused=True, fresh=False)

# current count, tag, record's saved -> change, setting recorded after
ECS_PAUSE = [
    ("backup starts: pause and save", 3, None, None, ecs_change(Why.PAUSE, 3, 0, save=3), 3),
    ("paused: nothing", 0, 3, 3, None, 3),
    (
        "paused, tag lost, record knows: save it on the service again",
        0,
        None,
        3,
        ecs_change(Why.SAVE, 0, None, save=3),
        3,
    ),
    ("paused, record lost, tag knows: nothing", 0, 3, None, None, 3),
    ("scaled up by hand: back to 0, keep first count", 5, 3, 3, ecs_change(Why.PAUSE, 5, 0), 3),
    (
        "scaled up by hand, tag lost: re-tag with the record's count",
        5,
        None,
        3,
        ecs_change(Why.PAUSE, 5, 0, save=3),
        3,
    ),
    ("at 0 when the backup starts, nothing known: stay, save nothing", 0, None, None, None, None),
]


@pytest.mark.parametrize(
    "current,tag,saved,change,keep", [r[1:] for r in ECS_PAUSE], ids=[r[0] for r in ECS_PAUSE]
)
def test_ecs_pause_step(current, tag, saved, change, keep):
    assert pause_step(ecs(current, tag), known(tag, saved), PAUSED_RECORD) == (change, keep)


# current count, tag, record's saved -> change
ECS_RESUME = [
    ("no backup, running: nothing", 3, None, None, None),
    ("backup over: resume to the tag's count", 0, 4, 4, ecs_change(Why.RESUME, 0, 4, forget=True)),
    (
        "backup over, the tag wins over the record",
        0,
        4,
        9,
        ecs_change(Why.RESUME, 0, 4, forget=True),
    ),
    (
        "backup over, record lost: the tag's count",
        0,
        4,
        None,
        ecs_change(Why.RESUME, 0, 4, forget=True),
    ),
    ("backup over, tag lost: the record's count", 0, None, 4, ecs_change(Why.RESUME, 0, 4)),
    ("at 0, nothing known: resume_count", 0, None, None, ecs_change(Why.RESUME_DEFAULT, 0, 1)),
    (
        "resumed by hand, leftover tag: clear it",
        6,
        3,
        3,
        ecs_change(Why.CLEAR, 6, None, forget=True),
    ),
    ("resumed by hand, no tag: nothing", 6, None, 3, None),
]


@pytest.mark.parametrize(
    "current,tag,saved,change", [r[1:] for r in ECS_RESUME], ids=[r[0] for r in ECS_RESUME]
)
def test_ecs_resume_step(current, tag, saved, change):
    assert resume_step(ecs(current, tag), known(tag, saved), PAUSED_RECORD) == (change, None)


def test_reason_names_count_prefix_and_ids():
    clusters = (*BACKUP, Cluster("j-2", "nightly-backup-b", "STARTING", "nightly-backup-"))
    record = PauseRecord()
    assert judge(clusters, record, CONFIG, NOW).reason == (
        "2 active clusters match 'nightly-backup-' (j-1, j-2)"
    )
    assert judge((), record, CONFIG, NOW).reason == "no active cluster matches 'nightly-backup-'"


def test_decide_takes_one_step_per_target_and_records_what_the_pause_needs():
    observed = Observed(BACKUP, (ecs(3), TargetView("other", "o", 0, 2, 0, 1)))
    plan = decide(observed, PauseRecord(), CONFIG, NOW)
    assert plan.verdict.pause and plan.verdict.holding == ("j-1",)
    assert plan.changes == (ecs_change(Why.PAUSE, 3, 0, save=3),)
    assert dict(plan.saved) == {KEY: 3, "other": 2}


def test_a_pause_keeps_the_settings_of_targets_this_run_did_not_read():
    """A steady run does not read the service's own scaling target: its record stays."""
    record = PauseRecord(paused=True, saved={KEY: 3, "aas:ecs:service/a/s": SCALING}, fresh=False)
    plan = decide(Observed(BACKUP, (ecs(0, 3),)), record, CONFIG, NOW)
    assert dict(plan.saved) == {KEY: 3, "aas:ecs:service/a/s": SCALING}
    resume = decide(Observed((), (ecs(0, 3),)), record, CONFIG, NOW)
    assert dict(resume.saved) == {}


# --- native auto scaling: suspension flags (in, out, scheduled) ----------------------------------

AAS = "aas:dynamodb:table/orders:dynamodb:table:ReadCapacityUnits"
S, F, PART = SUSPENDED, SCALING, Suspension(False, False, True)


def aas(current):
    return TargetView(AAS, "table/orders read", current, None, S, F, keeps_earlier_pause=True)


def aas_change(why, before, after, **kw):
    return Change(AAS, "table/orders read", why, before, after, **kw)


def record(fresh=False, paused=False):
    return PauseRecord(paused=paused, fresh=fresh)


# current, record's saved, the record -> change, setting recorded after
AAS_PAUSE = [
    (
        "backup starts: suspend all, save scaling",
        F,
        None,
        record(),
        aas_change(Why.PAUSE, F, S, save=F),
        F,
    ),
    (
        "backup starts, partly suspended by hand: save it",
        PART,
        None,
        record(),
        aas_change(Why.PAUSE, PART, S, save=PART),
        PART,
    ),
    (
        "backup starts, fully suspended by hand: record, no write",
        S,
        None,
        record(),
        aas_change(Why.KEEP_EARLIER, S, None, save=S),
        S,
    ),
    ("backup goes on: nothing", S, F, record(paused=True), None, F),
    ("backup goes on, record lost: nothing recorded", S, None, record(fresh=True), None, None),
]


@pytest.mark.parametrize(
    "current,saved,before,change,keep", [r[1:] for r in AAS_PAUSE], ids=[r[0] for r in AAS_PAUSE]
)
def test_scalable_target_pause_step(current, saved, before, change, keep):
    assert pause_step(aas(current), saved, before) == (change, keep)


# current, record's saved, the record -> change
AAS_RESUME = [
    ("no backup, scaling: nothing", F, None, record(), None),
    ("backup over: restore saved", S, F, record(paused=True), aas_change(Why.RESUME, S, F)),
    ("backup over: restore partial", S, PART, record(paused=True), aas_change(Why.RESUME, S, PART)),
    (
        "backup over, was suspended by hand: stays, nothing to write",
        S,
        S,
        record(paused=True),
        None,
    ),
    (
        "backup over, record lost: unsuspend the fully suspended",
        S,
        None,
        record(fresh=True),
        aas_change(Why.RESUME_DEFAULT, S, F),
    ),
    ("no pause of ours, suspended by someone: leave", S, None, record(), None),
    ("no pause, partly suspended: leave", PART, None, record(fresh=True), None),
]


@pytest.mark.parametrize(
    "current,saved,before,change", [r[1:] for r in AAS_RESUME], ids=[r[0] for r in AAS_RESUME]
)
def test_scalable_target_resume_step(current, saved, before, change):
    assert resume_step(aas(current), saved, before) == (change, None)


# --- the verdict: resume grace and the stuck-pause alarm -----------------------------------------

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
    before = PauseRecord(
        paused=paused_at is not None,
        paused_at=paused_at,
        last_seen_active_at=last_seen,
        ignored_clusters=ignored,
        fresh=False,
    )
    verdict = judge(clusters, before, config, NOW)
    assert verdict.pause is pause
    assert (verdict.alarm or "").startswith(alarm or "") and (verdict.alarm is None) is (
        alarm is None
    )
    assert verdict.ignored == ignored_after


# --- the records a run leaves --------------------------------------------------------------------


def test_a_failed_resume_keeps_the_pause_and_its_saved_setting():
    before = PauseRecord(paused=True, paused_at=T, saved={KEY: 3}, fresh=False)
    observed = Observed((), (ecs(0, 3),))
    plan = decide(observed, before, CONFIG, NOW)
    failures = {KEY: Failure("UpdateService failed: ThrottlingException: Rate exceeded")}
    after = next_pause_record(before, plan, failures, NOW)
    assert after.paused and after.paused_at == T and dict(after.saved) == {KEY: 3}
    run = next_run_record(RunRecord(), plan, observed, failures, NOW)
    assert run.last_action == "none" and run.last_result == "error"
    assert run.failed_targets == ("ddb-scaler",) and "ThrottlingException" in run.last_error


def test_a_resume_whose_untag_failed_still_counts_as_done():
    before = PauseRecord(paused=True, paused_at=T, saved={KEY: 3}, fresh=False)
    observed = Observed((), (ecs(0, 3),))
    plan = decide(observed, before, CONFIG, NOW)
    failures = {KEY: Failure("UntagResource failed: 5xx", changed=True)}
    after = next_pause_record(before, plan, failures, NOW)
    assert not after.paused and after.paused_at is None
    assert next_run_record(RunRecord(), plan, observed, failures, NOW).last_action == "resume"


def test_a_pause_that_saves_settings_is_recorded_before_it_acts():
    observed = Observed(BACKUP, (aas(PART),))
    before = PauseRecord(fresh=False)
    plan = decide(observed, before, CONFIG, NOW)
    intent = intent_record(before, plan, NOW)
    assert intent is not None and intent.paused and dict(intent.saved) == {AAS: PART}
    steady = next_pause_record(before, plan, {}, NOW)
    again = decide(Observed(BACKUP, (aas(S),)), steady, CONFIG, NOW)
    assert intent_record(steady, again, NOW) is None, "nothing new to save: no extra write"
    resume = decide(Observed((), (aas(S),)), steady, CONFIG, NOW)
    assert intent_record(steady, resume, NOW) is None, "a resume drops records only after it"


# --- the failsafe's schedules --------------------------------------------------------------------

HELD = PauseRecord(paused=True, saved={KEY: 3, AAS: PART, "kept": S}, fresh=False)


def at(minutes):
    return iso(NOW + timedelta(minutes=minutes))


# record, minutes, targets paused by this run -> to set, to remove
FAILSAFE = [
    (
        "a pause begins: a schedule each, not for one paused by someone else",
        HELD,
        30,
        (),
        {KEY: 3, AAS: PART},
        (),
    ),
    (
        "more than half its time ahead: left alone",
        dataclasses.replace(HELD, failsafe={KEY: at(16), AAS: at(16)}),
        30,
        (),
        {},
        (),
    ),
    (
        "less than half ahead: moved",
        dataclasses.replace(HELD, failsafe={KEY: at(14), AAS: at(16)}),
        30,
        (),
        {KEY: 3},
        (),
    ),
    (
        "paused again by this run (it fired): set again",
        dataclasses.replace(HELD, failsafe={KEY: at(29), AAS: at(29)}),
        30,
        (KEY,),
        {KEY: 3},
        (),
    ),
    ("resumed: removed", PauseRecord(fresh=False, failsafe={KEY: at(10)}), 30, (), {}, (KEY,)),
    (
        "the failsafe turned off: removed",
        dataclasses.replace(HELD, failsafe={KEY: at(10)}),
        0,
        (),
        {},
        (KEY,),
    ),
]


@pytest.mark.parametrize(
    "record,minutes,paused,arm,disarm", [r[1:] for r in FAILSAFE], ids=[r[0] for r in FAILSAFE]
)
def test_failsafe_plan(record, minutes, paused, arm, disarm):
    plan = failsafe_plan(record, minutes, NOW, paused)
    assert dict(plan.arm) == arm and plan.disarm == disarm
    assert plan.due == at(minutes)


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


def after_run(before, plan):
    return next_pause_record(before, plan, {}, NOW)


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
    current, tag, state, backup = start, None, PauseRecord(), False
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
            state, lost_state = PauseRecord(), True
        elif kind == "lose_tag":
            tag, lost_tag = None, True
        observed = Observed(BACKUP if backup else (), (ecs(current, tag),))
        plan = decide(observed, state, CONFIG, NOW)
        if backup and pre_pause is None and current > 0:
            pre_pause = current
        was_paused = current == 0
        current, tag = apply(current, tag, plan)
        state = after_run(state, plan)
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
            assert tag is None and not plan.verdict.pause
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
    state = PauseRecord(saved={KEY: saved} if saved else {}, fresh=False)
    observed = Observed(clusters, (ecs(current, tag),))
    plan = decide(observed, state, CONFIG, NOW)
    current1, tag1 = apply(current, tag, plan)
    state1 = after_run(state, plan)
    observed2 = Observed(clusters, (ecs(current1, tag1),))
    plan2 = decide(observed2, state1, CONFIG, NOW)
    assert plan2.changes == ()
    assert apply(current1, tag1, plan2) == (current1, tag1)


@settings(max_examples=200, deadline=None)
@given(current=st.integers(min_value=0, max_value=9), saved=st.integers(min_value=1, max_value=9))
def test_never_paused_without_a_matching_cluster(current, saved):
    state = PauseRecord(saved={KEY: saved}, fresh=False)
    plan = decide(Observed((), (ecs(current, saved),)), state, CONFIG, NOW)
    assert not plan.verdict.pause
    assert all(c.after != 0 for c in plan.changes)


flags = st.builds(Suspension, st.booleans(), st.booleans(), st.booleans())


@settings(max_examples=300, deadline=None)
@given(start=flags, nights=st.lists(st.integers(min_value=1, max_value=4), max_size=5))
def test_scalable_target_is_suspended_in_backups_and_restored_exactly(start, nights):
    current, state = start, PauseRecord(fresh=False)
    for length in [1, *nights]:
        for backup in [True] * length + [False, False]:
            observed = Observed(BACKUP if backup else (), (aas(current),))
            plan = decide(observed, state, CONFIG, NOW)
            for c in plan.changes:
                if c.after is not None:
                    current = c.after
            state = after_run(state, plan)
            assert current == S if backup else current == start
