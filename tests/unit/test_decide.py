"""decide is pure: its verdict and its per-target steps tested by tables, and the whole of it by
properties over random sequences of runs."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoscaler_pauser.decide import Step, decide, judge, pause_step, resume_step
from autoscaler_pauser.model import (
    EVERY_TABLE,
    SCALING,
    SUSPENDED,
    Change,
    Cluster,
    Failure,
    Hold,
    Observed,
    PauseRecord,
    RunRecord,
    Schedule,
    Suspension,
    TargetView,
    Why,
    iso,
    parse_iso,
)
from autoscaler_pauser.records import (
    failsafe_plan,
    intent_record,
    next_pause_record,
    next_run_record,
)
from autoscaler_pauser.targets import paused_setting
from autoscaler_pauser.timing import failsafe_lead
from tests.unit.scene import BACKUP, CONFIG, KEY, NOW


def ecs(current, tag=None, resume_count=1):
    return TargetView(KEY, "ddb-scaler", current, tag, 0, resume_count, saves_on_aws=True)


def ecs_change(why, before, after, **kw):
    return Change(KEY, "ddb-scaler", why, before, after, **kw)


def known(saved, tag):
    """A target's pre-pause setting as decide finds it: in the record first, else on AWS."""
    return saved if saved is not None else tag


# --- one ECS service: a desired count, paused at 0 ------------------------------------------------


def paused(*scopes, at="2026-11-26T00:00:00Z", **kw):
    """A record whose pause of each scope began `at`."""
    return PauseRecord(holds={s: Hold(paused_at=at) for s in scopes}, fresh=False, **kw)


RECORDED = False  # a record is there: a paused target it does not hold is not ours

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
    assert pause_step(ecs(current, tag), known(saved, tag), RECORDED) == Step(change, keep)


def test_a_service_at_0_with_the_record_lost_is_held_without_its_count():
    assert pause_step(ecs(0), None, True) == Step(None, None, unknown=True)


# current count, tag, record's saved -> change
ECS_RESUME = [
    ("no backup, running: nothing", 3, None, None, None),
    ("backup over: resume to the tag's count", 0, 4, 4, ecs_change(Why.RESUME, 0, 4, forget=True)),
    (
        "backup over, the record wins over the tag",
        0,
        4,
        9,
        ecs_change(Why.RESUME, 0, 9, forget=True),
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
    assert resume_step(ecs(current, tag), known(saved, tag), RECORDED) == Step(change, None)


def test_reason_names_count_prefix_and_ids():
    clusters = (*BACKUP, Cluster("j-2", "nightly-backup-b", "STARTING", "nightly-backup-"))
    assert judge(EVERY_TABLE, clusters, Hold(), CONFIG, NOW).reason == (
        "2 active clusters match 'nightly-backup-' (j-1, j-2)"
    )
    assert judge(EVERY_TABLE, (), Hold(), CONFIG, NOW).reason == (
        "no active cluster matches 'nightly-backup-'"
    )


def test_decide_takes_one_step_per_target_and_records_what_the_pause_needs():
    observed = Observed(BACKUP, (ecs(3), TargetView("other", "o", 0, 2, 0, 1)))
    plan = decide(observed, PauseRecord(), CONFIG, NOW)
    assert plan.pause and plan.verdict(EVERY_TABLE).holding == ("j-1",)
    assert plan.changes == (ecs_change(Why.PAUSE, 3, 0, save=3),)
    assert dict(plan.saved) == {KEY: 3, "other": 2}


SCALING_KEY = "ecs-scaling:us-east-1/autoscaler/ddb-scaler"


def test_the_record_of_a_target_this_run_did_not_read_is_kept():
    """A steady run does not read the service's own scaling target: its record stays, at a
    resume too (its read denied): only its resume, or AWS saying it is gone, lets it go."""
    record = paused(EVERY_TABLE, saved={KEY: 3, SCALING_KEY: SCALING})
    unseen = {SCALING_KEY: EVERY_TABLE}
    plan = decide(Observed(BACKUP, (ecs(0, 3),), unseen), record, CONFIG, NOW)
    assert dict(plan.saved) == {KEY: 3, SCALING_KEY: SCALING}
    resume = decide(Observed((), (ecs(0, 3),), unseen), record, CONFIG, NOW)
    assert dict(resume.saved) == {SCALING_KEY: SCALING}
    gone = decide(Observed((), (ecs(0, 3),), {}, (SCALING_KEY,)), record, CONFIG, NOW)
    assert dict(gone.saved) == {} and gone.forgotten == (SCALING_KEY,)


# --- native auto scaling: suspension flags (in, out, scheduled) ----------------------------------

AAS = "dynamodb:us-east-1/table/orders:read"
S, F, PART = SUSPENDED, SCALING, Suspension(False, False, True)


def aas(current, table="orders", side="read", created=None):
    key = f"dynamodb:us-east-1/table/{table}:{side}"
    label = f"table/{table} {side}"
    return TargetView(
        key, label, current, None, S, F, keeps_earlier_pause=True, scope=table, created=created
    )


def aas_change(why, before, after, **kw):
    return Change(AAS, "table/orders read", why, before, after, scope="orders", **kw)


def record(lost=False):
    """Whether a pause of ours could explain a paused target: the record was lost (there is no
    earlier one, or it holds the target without its setting)."""
    return lost


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
    ("backup goes on: nothing", S, F, record(), None, F),
    (
        "backup goes on, not in the record (an index made, a dimension put back): as found",
        S,
        None,
        record(),
        aas_change(Why.KEEP_EARLIER, S, None, save=S),
        S,
    ),
    ("backup goes on, record lost: held as not known", S, None, record(lost=True), None, None),
]


@pytest.mark.parametrize(
    "current,saved,before,change,keep", [r[1:] for r in AAS_PAUSE], ids=[r[0] for r in AAS_PAUSE]
)
def test_scalable_target_pause_step(current, saved, before, change, keep):
    unknown = keep is None and change is None and before
    assert pause_step(aas(current), saved, before) == Step(change, keep, unknown)


# current, record's saved, the record -> change
AAS_RESUME = [
    ("no backup, scaling: nothing", F, None, record(), None),
    ("backup over: restore saved", S, F, record(), aas_change(Why.RESUME, S, F)),
    ("backup over: restore partial", S, PART, record(), aas_change(Why.RESUME, S, PART)),
    ("backup over, was suspended by hand: stays, nothing to write", S, S, record(), None),
    (
        "backup over, record lost: unsuspend the fully suspended",
        S,
        None,
        record(lost=True),
        aas_change(Why.RESUME_DEFAULT, S, F),
    ),
    ("not in the record, suspended by someone: leave", S, None, record(), None),
    ("no pause, partly suspended: leave", PART, None, record(lost=True), None),
]


@pytest.mark.parametrize(
    "current,saved,before,change", [r[1:] for r in AAS_RESUME], ids=[r[0] for r in AAS_RESUME]
)
def test_scalable_target_resume_step(current, saved, before, change):
    assert resume_step(aas(current), saved, before) == Step(change, None)


# --- what the record holds of a target, and of a new one ----------------------------------------

BEGAN = parse_iso("2026-11-26T00:00:00Z").timestamp()  # when the pause of orders began
ORDERS = paused("orders", saved={AAS: PART})


@pytest.mark.parametrize(
    "created,known",
    [
        (None, PART),  # AWS says nothing of when it was made
        (BEGAN - 3600, PART),  # made before the pause
        (BEGAN + 3600, None),  # made after it, with no record of that: another target
    ],
)
def test_the_record_of_a_target_made_after_the_pause_began_is_not_its_own(created, known):
    plan = decide(Observed(BACKUP, (aas(F, created=created),)), ORDERS, CONFIG, NOW)
    assert dict(plan.saved) == {AAS: known if known is not None else F}
    assert dict(plan.created) == ({} if known is not None else {AAS: created})


def test_a_table_made_again_mid_pause_is_saved_as_found_and_resumed_to_it():
    made = BEGAN + 3600
    first = decide(Observed(BACKUP, (aas(F, created=made),)), ORDERS, CONFIG, NOW)
    assert first.changes == (aas_change(Why.PAUSE, F, S, save=F),), "its own setting"
    record = next_pause_record(ORDERS, first, {}, NOW)
    assert record.created == {AAS: made} and record.saved == {AAS: F}
    again = decide(Observed(BACKUP, (aas(S, created=made),)), record, CONFIG, NOW)
    assert again.changes == () and dict(again.saved) == {AAS: F}, "the record is its own now"
    record = next_pause_record(record, again, {}, NOW)
    resume = decide(Observed((), (aas(S, created=made),)), record, CONFIG, NOW)
    assert resume.changes == (aas_change(Why.RESUME, S, F),)
    later = decide(Observed((), (aas(S, created=made + 60),)), record, CONFIG, NOW)
    assert later.changes == (), "made once more, suspended: someone else's"


def test_a_target_made_in_the_second_its_pause_began_keeps_its_record():
    """The record keeps when a pause began to the second: a target made within that second,
    before the run, is recorded with when it was made, and is the same target at the next run."""
    began = NOW.replace(microsecond=900_000)
    made = NOW.timestamp() + 0.5  # after the second the pause began in, before the run
    plan = decide(Observed(BACKUP, (aas(PART, created=made),)), PauseRecord(), CONFIG, began)
    record = next_pause_record(PauseRecord(fresh=False), plan, {}, began)
    assert record.created == {AAS: made}
    later = decide(Observed((), (aas(S, created=made),)), record, CONFIG, NOW)
    assert later.changes == (aas_change(Why.RESUME, S, PART),)


def test_a_target_found_paused_with_the_record_lost_is_held_until_the_resume():
    """The state file is lost mid-backup: the targets found suspended are held, their setting
    not known, run after run, and resumed to the default when the backup ends."""
    record = PauseRecord()
    for _ in range(2):
        plan = decide(Observed(BACKUP, (aas(S),)), record, CONFIG, NOW)
        assert plan.changes == () and plan.unknown == {AAS}
        record = next_pause_record(record, plan, {}, NOW)
        assert not record.fresh and record.unknown == {AAS}
    resume = decide(Observed((), (aas(S),)), record, CONFIG, NOW)
    assert resume.changes == (aas_change(Why.RESUME_DEFAULT, S, F),)
    assert next_pause_record(record, resume, {}, NOW).empty


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
    before = Hold(paused_at=paused_at, last_seen=last_seen, ignored=ignored)
    verdict = judge(EVERY_TABLE, clusters, before, config, NOW)
    assert verdict.pause is pause
    assert (verdict.alarm or "").startswith(alarm or "") and (verdict.alarm is None) is (
        alarm is None
    )
    assert verdict.ignored == ignored_after


# --- the records a run leaves --------------------------------------------------------------------


def test_a_failed_resume_keeps_the_pause_and_its_saved_setting():
    before = paused(EVERY_TABLE, at=T, saved={KEY: 3})
    observed = Observed((), (ecs(0, 3),))
    plan = decide(observed, before, CONFIG, NOW)
    failures = {KEY: Failure("UpdateService failed: ThrottlingException: Rate exceeded")}
    after = next_pause_record(before, plan, failures, NOW)
    assert after.paused and after.paused_at == T and dict(after.saved) == {KEY: 3}
    run = next_run_record(RunRecord(), plan, observed, failures, NOW)
    assert run.last_action == "none" and run.last_result == "error"
    assert run.failed_targets == ("ddb-scaler",) and "ThrottlingException" in run.last_error


def test_a_resume_whose_untag_failed_still_counts_as_done():
    before = paused(EVERY_TABLE, at=T, saved={KEY: 3})
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


def test_a_write_ahead_keeps_what_the_run_is_to_give_back_until_it_is_done():
    """The service's pause begins while a target the config no longer names is given back:
    the record written first holds both, so that a run killed in between loses neither."""
    before = paused("orders", saved={AAS: PART})
    leftover = dataclasses.replace(aas(S), managed=False)
    plan = decide(Observed(BACKUP, (ecs(3), leftover)), before, CONFIG, NOW)
    assert {c.why for c in plan.changes} == {Why.PAUSE, Why.GIVE_BACK}
    intent = intent_record(before, plan, NOW)
    assert intent is not None and dict(intent.saved) == {KEY: 3, AAS: PART}
    assert dict(next_pause_record(before, plan, {}, NOW).saved) == {KEY: 3}


def test_a_schedule_to_set_is_recorded_before_it_is_set_as_not_known_to_be_set():
    observed = Observed(BACKUP, (aas(S),))
    before = next_pause_record(
        PauseRecord(fresh=False), decide(observed, PauseRecord(), CONFIG, NOW), {}, NOW
    )
    plan = decide(observed, before, CONFIG, NOW)
    schedule = Schedule("2026-11-26T03:30:00Z", "autoscaler-pauser", "us-east-1", "n")
    intent = intent_record(before, plan, NOW, {AAS: schedule})
    assert intent is not None and intent.schedules == {
        AAS: dataclasses.replace(schedule, unset=True)
    }
    assert intent_record(before, plan, NOW, {}) is None


# --- the failsafe's schedules --------------------------------------------------------------------

KEPT = "dynamodb:us-east-1/table/kept:read"  # paused before ours: no schedule restores it
HELD = paused(EVERY_TABLE, "orders", saved={KEY: 3, AAS: PART, KEPT: S})
GROUP = "autoscaler-pauser"
LEAD = failsafe_lead(60)  # a run and a minute's interval


def in_region(key: str) -> str:
    """Where the failsafe schedule of each target here belongs: its target's region."""
    return "us-east-1"


def at(minutes):
    return iso(NOW + timedelta(minutes=minutes))


def schedules(group=GROUP, region="us-east-1", **due):
    """KEY and AAS's schedules, due so many minutes on: schedules(KEY=16, AAS=14)."""
    keys = {"KEY": KEY, "AAS": AAS}
    return {keys[k]: Schedule(at(m), group, region, f"n-{k}") for k, m in due.items()}


def moving(**due):
    """KEY and AAS's schedules, set in GROUP, each still to remove one in "old-group"."""
    old = schedules("old-group", **due)
    return {
        key: dataclasses.replace(s, replaces=(old[key],)) for key, s in schedules(**due).items()
    }


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
        dataclasses.replace(HELD, schedules=schedules(KEY=16, AAS=16)),
        30,
        (),
        {},
        (),
    ),
    (
        "less than half ahead: moved",
        dataclasses.replace(HELD, schedules=schedules(KEY=14, AAS=16)),
        30,
        (),
        {KEY: 3},
        (),
    ),
    (
        "recorded before it was set, not known to be set: set again",
        dataclasses.replace(
            HELD,
            schedules={
                **schedules(KEY=29),
                AAS: dataclasses.replace(schedules(AAS=29)[AAS], unset=True),
            },
        ),
        30,
        (),
        {AAS: PART},
        (),
    ),
    (
        "paused again by this run (it fired): set again",
        dataclasses.replace(HELD, schedules=schedules(KEY=29, AAS=29)),
        30,
        (KEY,),
        {KEY: 3},
        (),
    ),
    (
        "due within a run and the interval, though more than half of its time ahead: moved",
        dataclasses.replace(HELD, schedules=schedules(KEY=1.7, AAS=1.8)),
        3,
        (),
        {KEY: 3},
        (),
    ),
    (
        "in another group: set in this one (which removes the old one after)",
        dataclasses.replace(HELD, schedules=schedules("old-group", KEY=29, AAS=29)),
        30,
        (),
        {KEY: 3, AAS: PART},
        (),
    ),
    (
        "in another region: set in its target's",
        dataclasses.replace(HELD, schedules=schedules(region="eu-west-1", KEY=29)),
        30,
        (),
        {KEY: 3, AAS: PART},
        (),
    ),
    (
        "what it replaces not known to be removed: set again",
        dataclasses.replace(HELD, schedules={**schedules(AAS=29), **moving(KEY=29)}),
        30,
        (),
        {KEY: 3},
        (),
    ),
    (
        "resumed while moving: removed, with what it replaces",
        PauseRecord(fresh=False, schedules=moving(KEY=10)),
        30,
        (),
        {},
        (KEY,),
    ),
    (
        "resumed: removed",
        PauseRecord(fresh=False, schedules=schedules(KEY=10)),
        30,
        (),
        {},
        (KEY,),
    ),
    (
        "the failsafe turned off: removed",
        dataclasses.replace(HELD, schedules=schedules(KEY=10)),
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
    plan = failsafe_plan(
        record, minutes, GROUP, NOW, paused, region=in_region, lead=LEAD, pausing=paused_setting
    )
    assert dict(plan.arm) == arm and tuple(plan.disarm) == disarm and plan.forget == ()
    assert plan.due == at(minutes)


def test_a_schedule_to_remove_whose_time_has_passed_is_forgotten_not_deleted():
    record = PauseRecord(fresh=False, schedules=schedules(KEY=0, AAS=-5))
    plan = failsafe_plan(
        record, 30, GROUP, NOW, region=in_region, lead=LEAD, pausing=paused_setting
    )
    assert plan.forget == (KEY, AAS) and not plan.disarm and not plan.arm


def test_a_schedule_due_already_is_removed_while_one_it_replaces_is_not():
    old = schedules("old-group", KEY=5)[KEY]
    record = PauseRecord(
        fresh=False, schedules={KEY: dataclasses.replace(schedules(KEY=0)[KEY], replaces=(old,))}
    )
    plan = failsafe_plan(
        record, 30, GROUP, NOW, region=in_region, lead=LEAD, pausing=paused_setting
    )
    assert plan.forget == () and tuple(plan.disarm) == (KEY,)


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
    assert not plan.pause
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
