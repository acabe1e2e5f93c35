"""`history` (timeline.py) from a state file: one line a pause, newest first, columns aligned, the
longest gap between pauses marked where it falls; --since, --table and --json."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from autoscaler_pauser.cli import main
from autoscaler_pauser.model import EVERY_TABLE, Ended, Pause, PauseRecord, State, iso
from autoscaler_pauser.state_file import state_to_json, write_json_atomic
from autoscaler_pauser.timeline import chosen, longest_gap, since_option
from tests.support.tool import base_env
from tests.unit.scene import NOW


def at(hours: float) -> str:
    return iso(NOW - timedelta(hours=hours))


# Three nights of the service and orders, 02:00 to 04:00 or so, and a pause on now.
HISTORY = (
    Pause(EVERY_TABLE, at(72), at(70), {"j-1": "nightly-backup-a"}, Ended.CLUSTERS),
    Pause("orders", at(72), at(71), {"j-1": "nightly-backup-a"}, Ended.CLUSTERS),
    Pause(EVERY_TABLE, at(48), at(46), {"j-2": "nightly-backup-b"}, Ended.FAILSAFE),
    Pause("orders", at(20), at(19.5), {"j-3": "nightly-backup-c"}, Ended.FORCED),
    Pause(EVERY_TABLE, at(1), None, {"j-4": "nightly-backup-d", "j-5": "nightly-backup-e"}),
)


@pytest.fixture
def env(tmp_path):
    env = base_env(tmp_path)
    (tmp_path / "state").mkdir()
    record = PauseRecord("ecs:us-east-1/autoscaler/ddb-scaler", fresh=False, history=HISTORY)
    write_json_atomic(env["STATE_FILE"], state_to_json(State(record)))
    return env


def history(env, capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["history", *args], environ=env, now=lambda: NOW)
    out, err = capsys.readouterr()
    return code, out, err


def test_history_lists_each_pause_newest_first_with_the_longest_gap_marked(env, capsys):
    code, out, err = history(env, capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("pauses of ecs:us-east-1/autoscaler/ddb-scaler, newest first")
    assert lines[1:] == [
        "2026-11-26 02:00:00 → on now      60m  the autoscaler: j-4 nightly-backup-d, "
        "j-5 nightly-backup-e",
        "2026-11-25 07:00:00 → 07:30:00    30m  table orders: j-3 nightly-backup-c (resumed by "
        "force_resume_after_max_pause)",
        "  ── 26h 0m without a pause, the longest gap (2026-11-24 05:00:00 → 2026-11-25 "
        "07:00:00) ──",
        "2026-11-24 03:00:00 → 05:00:00  2h 0m  the autoscaler: j-2 nightly-backup-b (ended by "
        "the failsafe)",
        "2026-11-23 03:00:00 → 04:00:00    60m  table orders: j-1 nightly-backup-a",
        "2026-11-23 03:00:00 → 05:00:00  2h 0m  the autoscaler: j-1 nightly-backup-a",
    ]


def test_history_of_one_table_within_a_time(env, capsys):
    code, out, _ = history(env, capsys, "--table", "orders", "--since", "2d")
    assert code == 0
    [head, line] = out.splitlines()
    assert head.startswith("pauses of ") and "table orders: j-3" in line


def test_history_as_json_is_valid_json_with_each_pause_and_the_gap(env, capsys):
    code, out, _ = history(env, capsys, "--json")
    assert code == 0
    data = json.loads(out)
    assert [p["began"] for p in data["pauses"]] == sorted((p.began for p in HISTORY), reverse=True)
    first = data["pauses"][0]
    assert first == {
        "what": "autoscaler",
        "table": None,
        "began": at(1),
        "ended": None,
        "seconds": 3600,
        "ended_by": None,
        "clusters": [
            {"id": "j-4", "name": "nightly-backup-d"},
            {"id": "j-5", "name": "nightly-backup-e"},
        ],
    }
    assert data["longest_gap"] == {"from": at(46), "to": at(20), "seconds": 26 * 3600}


def test_history_before_any_pause_says_so(tmp_path, capsys):
    code, out, _ = history(base_env(tmp_path), capsys)
    assert code == 0 and out.startswith("no pause of ecs:us-east-1/autoscaler/ddb-scaler")


@pytest.mark.parametrize(
    "text, delta",
    [
        ("90m", timedelta(minutes=90)),
        ("12h", timedelta(hours=12)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
    ],
)
def test_since_takes_minutes_hours_days_and_weeks(text, delta):
    assert since_option(text) == delta


@pytest.mark.parametrize("text", ["7", "0d", "-1d", "1y", "7 days", ""])
def test_since_refuses_anything_else_with_exit_2(env, capsys, text):
    code, _, err = history(env, capsys, f"--since={text}")
    assert code == 2 and "--since takes a time like 90m, 12h, 7d or 2w" in err


def test_a_pause_on_is_always_shown_and_one_that_ended_before_since_is_not():
    shown = chosen(HISTORY, timedelta(hours=2), None, NOW)
    assert [p.began for p in shown] == [at(1)]


def test_the_longest_gap_counts_any_pause_and_none_within_overlapping_pauses():
    overlapping = (
        Pause("a", at(10), at(5)),
        Pause("b", at(8), at(2)),  # within a's and beyond
        Pause("c", at(1), None),
    )
    assert longest_gap(overlapping, NOW) == (at(2), at(1))
    assert longest_gap(overlapping[:1], NOW) is None
