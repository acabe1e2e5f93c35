"""The log lines: one per target, before → after and why, `would` in a dry run, `could not` when
the change failed; each a lookup of why the change exists."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from autoscaler_pauser.decide import Plan, Verdict, decide
from autoscaler_pauser.model import (
    SCALING,
    SUSPENDED,
    Change,
    Failure,
    Observed,
    PauseRecord,
    Schedule,
    Suspension,
    TargetView,
    Why,
)
from autoscaler_pauser.report import format_setting, moved_line, run_lines, target_line
from tests.unit.scene import BACKUP, CONFIG, KEY, NOW

REASON = "1 active cluster matches 'nightly-backup-' (j-1)"


def ecs(current, tag=None):
    return TargetView(KEY, "ddb-scaler", current, tag, 0, 1)


def test_a_change_s_line_says_before_after_and_would_in_dry_run():
    observed = Observed(BACKUP, (ecs(3),))
    plan = decide(observed, PauseRecord(), CONFIG, NOW)
    assert run_lines(plan, observed) == [(logging.INFO, f"paused ddb-scaler 3 → 0: {REASON}")]
    assert run_lines(plan, observed, dry_run=True) == [
        (logging.INFO, f"would pause ddb-scaler 3 → 0: {REASON}")
    ]


TABLE = "table/orders read"


def line(change, current, dry_run=False, failure=None):
    target = TargetView("t", TABLE, current, None, SUSPENDED, SCALING, keeps_earlier_pause=True)
    return target_line(target, change, "why", dry_run, failure)


# change, the target now, dry run, failure -> the line
LINES = [
    (
        "no change",
        None,
        SUSPENDED,
        False,
        None,
        f"no change: {TABLE} stays at suspended (paused): why",
    ),
    (
        "resumed",
        Change("t", TABLE, Why.RESUME, SUSPENDED, SCALING),
        SUSPENDED,
        False,
        None,
        f"resumed {TABLE} suspended → scaling: why",
    ),
    (
        "kept",
        Change("t", TABLE, Why.KEEP_EARLIER, SUSPENDED, None, save=SUSPENDED),
        SUSPENDED,
        True,
        None,
        f"would keep {TABLE} at suspended after the pause too: it was paused before it",
    ),
    (
        "cleared",
        Change("t", TABLE, Why.CLEAR, SCALING, None, forget=True),
        SCALING,
        False,
        None,
        f"cleared the leftover saved setting of {TABLE}, at scaling: why",
    ),
    (
        "could not pause",
        Change("t", TABLE, Why.PAUSE, SCALING, SUSPENDED),
        SCALING,
        False,
        Failure("RegisterScalableTarget failed: ThrottlingException: Rate exceeded"),
        f"could not pause {TABLE} scaling → suspended: why; RegisterScalableTarget failed: "
        "ThrottlingException: Rate exceeded",
    ),
    (
        "paused, only its record failed",
        Change("t", TABLE, Why.PAUSE, SCALING, SUSPENDED, save=SCALING),
        SCALING,
        False,
        Failure("TagResource failed: AccessDenied", changed=True),
        f"paused {TABLE} scaling → suspended: why; TagResource failed: AccessDenied",
    ),
]


@pytest.mark.parametrize(
    "change,current,dry_run,failure,expected", [r[1:] for r in LINES], ids=[r[0] for r in LINES]
)
def test_each_kind_of_change_has_its_line(change, current, dry_run, failure, expected):
    assert line(change, current, dry_run, failure) == expected


@pytest.mark.parametrize(
    "setting,text",
    [
        (3, "3"),
        (SUSPENDED, "suspended"),
        (SCALING, "scaling"),
        (Suspension(True, False, True), "suspended in+scheduled"),
    ],
)
def test_settings_read_as_words(setting, text):
    assert format_setting(setting) == text


def scalable(i: int, current) -> TargetView:
    return TargetView(f"t{i}", f"table/t{i} read", current, None, SUSPENDED, SCALING)


def test_a_steady_run_over_many_targets_logs_one_line():
    observed = Observed(BACKUP, (ecs(0, 3), *(scalable(i, SUSPENDED) for i in range(1199))))
    plan = Plan({"*": Verdict(True, REASON)}, (), {})
    lines = run_lines(plan, observed)
    info = [line for level, line in lines if level >= logging.INFO]
    assert info == [f"no change: 1,200 targets stay paused: {REASON}"]
    assert len(lines) == 1201, "each target's line is there under debug"
    assert all(level >= logging.INFO for level, _ in run_lines(plan, observed, dry_run=True))


def test_unchanged_targets_that_differ_say_how_many_are_each():
    observed = Observed((), (scalable(1, SUSPENDED), scalable(2, SCALING), scalable(3, SCALING)))
    plan = Plan({"*": Verdict(False, "none runs")}, (), {})
    [(level, line)] = [x for x in run_lines(plan, observed) if x[0] >= logging.INFO]
    assert level == logging.INFO
    assert line == "no change: 3 targets stay as they are (1 paused, 2 running): none runs"


def test_changes_left_for_the_next_run_are_one_warning():
    targets = [scalable(i, SCALING) for i in range(4)]
    plan = Plan(
        {"*": Verdict(True, REASON)},
        tuple(Change(t.key, t.label, Why.PAUSE, SCALING, SUSPENDED) for t in targets),
        {},
    )
    left = {t.key: Failure("not tried", left=True) for t in targets[1:]}
    lines = [x for x in run_lines(plan, Observed(BACKUP, tuple(targets)), failures=left)]
    shown = [(level, line) for level, line in lines if level >= logging.INFO]
    assert shown == [
        (logging.INFO, f"paused table/t0 read scaling → suspended: {REASON}"),
        (
            logging.WARNING,
            "the run's time for writes was spent: 3 of 4 changes are left for the next run",
        ),
    ]


def test_targets_that_stay_running_while_other_tables_are_backed_up_say_why():
    """Two tables not backed up stay running while a cluster backs up a third: one line."""
    from autoscaler_pauser.model import Cluster

    clusters = (Cluster("j-1", "nightly-backup-orders", "RUNNING", "nightly-backup-", ("orders",)),)
    targets = [
        TargetView(f"k{i}", f"table/{t} read", SCALING, None, SUSPENDED, SCALING, scope=t)
        for i, t in enumerate(("users", "events"))
    ]
    config = dataclasses.replace(CONFIG, dynamodb_tables=("orders", "users", "events"))
    plan = decide(Observed(clusters, tuple(targets)), PauseRecord(), config, NOW)
    [(_, line)] = [
        x for x in run_lines(plan, Observed(clusters, tuple(targets))) if x[0] >= logging.INFO
    ]
    assert line == (
        "no change: 2 targets stay running: no active cluster backs up their tables "
        "(1 active cluster matches 'nightly-backup-' (j-1))"
    )


# --- the failsafe moved -----------------------------------------------------------------------


def moved_to(group: str, region: str, *old: tuple[str, str]) -> Schedule:
    replaced = tuple(Schedule(DUE, g, r, "old") for g, r in old)
    return Schedule(DUE, group, region, "new", replaces=replaced)


DUE = "2026-11-26T03:30:00Z"


def test_a_moved_failsafe_is_one_line_from_where_to_where():
    moved = {
        KEY: moved_to("night-guard", "us-east-1", ("autoscaler-pauser", "us-east-1")),
        "k2": moved_to("night-guard", "eu-west-1", ("autoscaler-pauser", "eu-west-1")),
        "k3": moved_to("night-guard", "us-east-1", ("autoscaler-pauser", "us-east-1")),
        "kept": Schedule(DUE, "night-guard", "us-east-1", "n"),  # not moved: not counted
    }
    assert moved_line(moved) == (
        "moved the failsafe of 3 targets from autoscaler-pauser (eu-west-1), autoscaler-pauser "
        "(us-east-1) to night-guard (eu-west-1), night-guard (us-east-1)"
    )
    one = {KEY: moved_to("b", "us-east-1", ("a", "us-east-1"), ("older", "us-east-1"))}
    assert moved_line(one) == (
        "moved the failsafe of 1 target from a (us-east-1), older (us-east-1) to b (us-east-1)"
    )
    assert moved_line({"kept": moved["kept"]}) is None and moved_line({}) is None
