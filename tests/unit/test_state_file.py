"""The state file read back (state_file.py): what a run wrote reads back as it was, and content
that cannot be understood is refused with what is wrong with it, never half read."""

from __future__ import annotations

import json

import pytest

from autoscaler_pauser.model import (
    SUSPENDED,
    Cluster,
    PauseRecord,
    RunRecord,
    Scan,
    State,
    Suspension,
)
from autoscaler_pauser.state_file import (
    STATE_VERSION,
    UnusableState,
    load_state,
    state_from_json,
    state_to_json,
)
from tests.unit.scene import CONFIG, KEY

TIME = "2026-11-26T03:00:00Z"
STATE = State(
    PauseRecord(
        paused=True,
        paused_at=TIME,
        last_seen_active_at=TIME,
        ignored_clusters=("j-0",),
        alarm="paused for 400 min",
        saved={KEY: 3, "table/orders read": Suspension(False, False, True)},
        failsafe={KEY: "2026-11-26T03:30:00Z"},
        fresh=False,
    ),
    RunRecord(
        last_action="pause",
        last_action_at=TIME,
        last_run_at=TIME,
        last_result="error",
        last_error="UpdateService failed: ThrottlingException: Rate exceeded",
        last_success_at=TIME,
        active_clusters=(Cluster("j-1", "nightly-backup-a", "RUNNING", "nightly-backup-"),),
        failed_targets=("table/orders write",),
        warnings=("a warning",),
        planned=4,
        pending=1,
        scan=Scan(("table/orders",), 156),
        scanned_at=TIME,
    ),
)


def written(state: State) -> dict:
    """The state as a run writes it to the file, and as json reads it back."""
    return json.loads(json.dumps(state_to_json(state, CONFIG)))


def test_a_state_reads_back_as_it_was_written():
    assert state_from_json(written(STATE)) == STATE


def test_a_fresh_state_reads_back_as_no_pause_and_no_run():
    assert state_from_json(written(State())) == State(PauseRecord(fresh=False), RunRecord())


def test_an_empty_object_is_the_state_before_any_run():
    assert state_from_json({}) == State(PauseRecord(fresh=False), RunRecord())


def test_the_version_the_tool_writes_is_read():
    assert written(State())["version"] == STATE_VERSION
    assert state_from_json({"version": STATE_VERSION, "paused": True}).pause.paused


def test_a_saved_suspension_reads_back_as_one_and_a_count_as_a_count():
    saved = state_from_json({"saved": {"a": 0, "b": 7, "c": [True, True, True]}}).pause.saved
    assert saved == {"a": 0, "b": 7, "c": SUSPENDED}
    assert isinstance(saved["c"], Suspension)


def test_what_a_run_wrote_is_read_without_the_fields_a_run_adds_for_people():
    """saved_desired_count is for a person reading the file: the saved settings are the record."""
    data = written(STATE)
    assert data["saved_desired_count"] == 3
    assert state_from_json({**data, "saved_desired_count": 99}) == STATE


# name -> (the file's JSON content, what the error says is wrong)
INVALID = {
    "a list": ([1, 2, 3], "not a JSON object"),
    "a string": ("paused", "not a JSON object"),
    "null": (None, "not a JSON object"),
    "a newer version": ({"version": 99, "paused": True}, "unknown version 99"),
    "a version as text": ({"version": "1"}, "unknown version '1'"),
    "paused not a boolean": ({"paused": "yes"}, "'paused' or 'saved' has the wrong type"),
    "paused a number": ({"paused": 1}, "'paused' or 'saved' has the wrong type"),
    "saved a list": ({"saved": [3]}, "'paused' or 'saved' has the wrong type"),
    "a saved count as text": ({"saved": {KEY: "three"}}, f"saved setting of {KEY!r} is not"),
    "a saved count a boolean": ({"saved": {KEY: True}}, f"saved setting of {KEY!r} is not"),
    "a saved count a fraction": ({"saved": {KEY: 3.5}}, f"saved setting of {KEY!r} is not"),
    "a saved suspension of two flags": ({"saved": {"t": [True, True]}}, "of 't' is not"),
    "a saved suspension of words": ({"saved": {"t": ["true"] * 3}}, "of 't' is not"),
    "a saved suspension as a mapping": ({"saved": {"t": {"in": True}}}, "of 't' is not"),
    "a saved setting of null": ({"saved": {"t": None}}, "of 't' is not"),
    "failsafe a list": ({"failsafe": [KEY]}, "'failsafe' is not a mapping of targets to times"),
    "a failsafe time that is none": ({"failsafe": {KEY: "soon"}}, "'failsafe' is not a mapping"),
    "a failsafe time a number": ({"failsafe": {KEY: 1764126000}}, "'failsafe' is not a mapping"),
    "ignored clusters a string": ({"ignored_clusters": "j-1"}, "'ignored_clusters' is not a list"),
    "active clusters a string": ({"active_clusters": "j-1"}, "'active_clusters' is not a list"),
    "active clusters of strings": ({"active_clusters": ["j-1"]}, "not a list of objects"),
    "failed targets a string": ({"failed_targets": "t"}, "'failed_targets' or 'warnings' is not"),
    "warnings a mapping": ({"warnings": {"a": 1}}, "'failed_targets' or 'warnings' is not a list"),
    "planned a negative count": ({"planned": -1}, "'planned' is not a count"),
    "planned a boolean": ({"planned": True}, "'planned' is not a count"),
    "pending as text": ({"pending": "1"}, "'pending' is not a count"),
    "pending a fraction": ({"pending": 1.5}, "'pending' is not a count"),
    "scan a list": ({"scan": ["table/orders"]}, "'scan' is not a list of resource ids and a count"),
    "scan without ids": ({"scan": {"namespace": 1}}, "'scan' is not a list of resource ids"),
    "scan ids a string": ({"scan": {"ids": "t", "namespace": 1}}, "'scan' is not a list"),
    "scan count as text": ({"scan": {"ids": [], "namespace": "1"}}, "'scan' is not a list"),
    "scan count a boolean": ({"scan": {"ids": [], "namespace": True}}, "'scan' is not a list"),
}
TIMES = [
    "paused_at",
    "last_seen_active_at",
    "last_success_at",
    "last_run_at",
    "scanned_at",
]
# a time that is not one as the tool writes it: local, without seconds, a date, a number
NOT_TIMES = ["2026-11-26T03:00:00", "2026-11-26T03:00Z", "2026-11-26", 1764126000, "yesterday"]
for _name in TIMES:
    for _value in NOT_TIMES:
        INVALID[f"{_name} {_value!r}"] = (
            {_name: _value},
            f"{_name!r} is not a time like 2026-01-31T23:59:00Z",
        )


@pytest.mark.parametrize("name", list(INVALID))
def test_content_that_cannot_be_understood_is_refused_saying_what_is_wrong(name):
    data, reason = INVALID[name]
    with pytest.raises(ValueError) as e:
        state_from_json(data)
    assert reason in str(e.value)


@pytest.mark.parametrize("name", [n for n, (data, _) in INVALID.items() if isinstance(data, dict)])
def test_a_field_that_cannot_be_understood_spoils_a_state_that_was_whole(name):
    """The same wrong value in a whole state file: refused too, not read around."""
    data, reason = INVALID[name]
    with pytest.raises(ValueError) as e:
        state_from_json({**written(STATE), **data})
    assert reason in str(e.value)


# name -> (the file's bytes, what the error says is wrong)
UNREADABLE = {
    "garbage bytes": (b"\x00\x9f\x92\x96 not json at all", "can't decode byte 0x9f"),
    "cut short": (b'{"paused": tru', "Expecting value"),
    "empty": (b"", "Expecting value"),
    "not an object": (b"[1, 2, 3]", "not a JSON object"),
}


@pytest.mark.parametrize("name", list(UNREADABLE))
def test_a_state_file_that_cannot_be_understood_is_unusable_saying_why(name, tmp_path):
    content, reason = UNREADABLE[name]
    path = tmp_path / "state.json"
    path.write_bytes(content)
    with pytest.raises(UnusableState) as e:
        load_state(str(path))
    assert reason in str(e.value)
    assert path.read_bytes() == content, "reading it changes nothing"


def test_a_missing_state_file_is_the_state_before_any_run(tmp_path):
    assert load_state(str(tmp_path / "state.json")) == State()
