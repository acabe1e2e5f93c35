"""`status` and its health check (status.py), by table: how old the last run is, by the clock the
runs went by (AWS's, which the run record says how far this host's was from), and whether runs
keep being skipped."""

from __future__ import annotations

from datetime import timedelta

import pytest

from autoscaler_pauser.model import PauseRecord, RunRecord, State, iso, parse_iso
from autoscaler_pauser.status import status_lines, status_report
from tests.unit.scene import CONFIG

AWS_NOW = parse_iso("2026-11-26T03:00:00Z")
EIGHT_HOURS = 8 * 3600


def ago(seconds: float) -> str:
    return iso(AWS_NOW - timedelta(seconds=seconds))


# name -> (the run record, how far this host's clock is ahead of AWS's now, healthy, what the
# status line says after the last run's result)
CASES = {
    "a run just now": (RunRecord(last_run_at=ago(30), last_result="ok"), 0, True, ""),
    "a run just now, the host 8 h ahead": (
        RunRecord(last_run_at=ago(30), last_result="ok", clock_ahead=EIGHT_HOURS),
        EIGHT_HOURS,
        True,
        "",
    ),
    "a run just now, the host 8 h behind": (
        RunRecord(last_run_at=ago(30), last_result="ok", clock_ahead=-EIGHT_HOURS),
        -EIGHT_HOURS,
        True,
        "",
    ),
    "a run three intervals ago": (RunRecord(last_run_at=ago(180), last_result="ok"), 0, True, ""),
    "a run longer ago": (
        RunRecord(last_run_at=ago(181), last_result="ok"),
        0,
        False,
        "NOT RECENT: is the timer running?",
    ),
    "a failed run just now": (RunRecord(last_run_at=ago(30), last_result="error"), 0, False, ""),
    "runs skipped for a while, the last just now": (
        RunRecord(
            last_run_at=ago(300),
            last_result="ok",
            skipped=4,
            skipped_at=ago(20),
            skipped_by="host-b:7",
        ),
        0,
        False,
        f"SKIPPED since: 4 runs, the last at {ago(20)}, found the pause record held by host-b:7",
    ),
    "a run skipped just now, the last run recent": (
        RunRecord(last_run_at=ago(60), last_result="ok", skipped=1, skipped_at=ago(1)),
        0,
        True,
        "",
    ),
    "runs skipped, the last of them long ago": (
        RunRecord(last_run_at=ago(900), last_result="ok", skipped=3, skipped_at=ago(600)),
        0,
        False,
        "NOT RECENT: is the timer running?",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_status_judges_the_last_run_by_aws_s_clock_and_says_why_it_is_not_healthy(name):
    run, host_ahead, healthy, says = CASES[name]
    state = State(PauseRecord(fresh=False), run)
    host_now = AWS_NOW + timedelta(seconds=host_ahead)
    data = status_report(state, CONFIG, host_now)
    assert data["healthy"] is healthy
    [line] = [x for x in status_lines(state, CONFIG, data) if x.startswith("last run:")]
    assert line.endswith(f": {run.last_result}" + (f"  <- {says}" if says else "")), line
