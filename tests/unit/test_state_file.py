"""The state file read back (state_file.py, record_format.py): what a run wrote reads back as
it was, and content that cannot be understood is refused with what is wrong with it, never half
read."""

from __future__ import annotations

import dataclasses
import json

import pytest

from autoscaler_pauser.model import (
    SUSPENDED,
    Cluster,
    Hold,
    PauseRecord,
    RunRecord,
    Scan,
    Schedule,
    State,
    Suspension,
    iso,
    parse_iso,
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
DUE = "2026-11-26T10:00:00Z"
READ = "dynamodb:us-east-1/table/orders:read"
WHERE = "the state file"
STATE = State(
    PauseRecord(
        pauser="autoscaler-pauser",
        holds={
            "*": Hold(TIME, TIME, holding=("j-1",), ignored=("j-0",), alarm="paused for 400 min"),
            "orders": Hold(TIME, TIME, holding=("j-1",)),
        },
        saved={KEY: 3, READ: Suspension(False, False, True)},
        schedules={
            KEY: Schedule(DUE, "autoscaler-pauser", "us-east-1"),
            READ: Schedule(
                DUE,
                "autoscaler-pauser",
                "us-east-1",
                "old-name",
                unset=True,
                replaces=(Schedule(TIME, "old-group", "eu-west-1", "n"),),
            ),
        },
        clusters={"j-1": ("orders",), "j-2": None},
        clusters_tag="backup-tables",
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
        failed_targets=(READ,),
        warnings=("a warning",),
        planned=4,
        pending=1,
        scan=Scan(("table/orders",), 156),
        scanned_at=TIME,
    ),
)
EMPTY = State(PauseRecord(fresh=False), RunRecord())


def written(state: State) -> dict:
    """The state as a run writes it to the file, and as json reads it back."""
    return json.loads(json.dumps(state_to_json(state)))


def read(data) -> State:
    state, warnings = state_from_json(data, WHERE)
    assert warnings == []
    return state


def test_a_state_reads_back_as_it_was_written():
    assert read(written(STATE)) == STATE


def test_a_fresh_state_reads_back_as_no_pause_and_no_run():
    assert read(written(State())) == EMPTY


def test_the_version_the_tool_writes_is_read():
    data = written(STATE)
    assert data["version"] == STATE_VERSION
    assert read(data).pause.paused


def test_a_saved_suspension_reads_back_as_one_and_a_count_as_a_count():
    data = written(State(PauseRecord(saved={KEY: 7, READ: SUSPENDED})))
    saved = read(data).pause.saved
    assert saved == {KEY: 7, READ: SUSPENDED}
    assert isinstance(saved[READ], Suspension)


def _pause(**targets) -> dict:
    return {"version": 2, "run": {}, "pause": {"format": 2, "scopes": {"*": {"targets": targets}}}}


# what is ignored, with a warning naming it, while the rest is read
IGNORED = {
    "a key no kind makes": (_pause(**{"lambda:x": {"saved": 1}}), "'lambda:x'"),
    "a count that is text": (_pause(**{KEY: {"saved": "three"}}), f"saved setting of {KEY}"),
    "a count that is a boolean": (_pause(**{KEY: {"saved": True}}), f"saved setting of {KEY}"),
    "a count of 0, which is paused": (_pause(**{KEY: {"saved": 0}}), f"saved setting of {KEY}"),
    "a suspension of two flags": (
        _pause(**{READ: {"saved": [True, True]}}),
        f"saved setting of {READ}",
    ),
}


@pytest.mark.parametrize("name", list(IGNORED))
def test_a_setting_no_target_can_have_is_left_out_with_a_warning(name):
    data, says = IGNORED[name]
    state, warnings = state_from_json(data, WHERE)
    assert state.pause.saved == {}
    assert len(warnings) == 1 and says in warnings[0] and WHERE in warnings[0]


def _version2(**pause) -> dict:
    return {"version": 2, "run": {}, "pause": {"format": 2, **pause}}


def _schedule(**fields) -> dict:
    schedule = {"due": DUE, "group": "g", "region": "us-east-1", **fields}
    return _pause(**{KEY: {"schedule": schedule}})


# name -> (the file's JSON content, what the error says is wrong)
INVALID = {
    "a list": ([1, 2, 3], "not a JSON object"),
    "a string": ("paused", "not a JSON object"),
    "null": (None, "not a JSON object"),
    "an empty object": ({}, "names no version of the state format"),
    "the records' fields side by side": (
        {"paused": True, "paused_at": TIME, "saved": {KEY: 3}},
        "names no version of the state format",
    ),
    "a newer version": ({"version": 99}, "unknown version 99"),
    "a version as text": ({"version": "2"}, "unknown version '2'"),
    "pause not an object": ({"version": 2, "pause": [], "run": {}}, "'pause' or 'run'"),
    "run missing": ({"version": 2, "pause": {"format": 2}}, "'pause' or 'run'"),
    "a record of no format": (
        {"version": 2, "run": {}, "pause": {"saved": {KEY: 3}}},
        "names no format of the pause record",
    ),
    "a newer record format": (_version2(format=3), "unknown format 3"),
    "pauser a number": (_version2(pauser=7), "'pauser' is not a name"),
    "scopes a list": (_version2(scopes=[]), "'scopes' is not an object"),
    "a scope a list": (_version2(scopes={"*": []}), "scope '*' is not an object"),
    "paused_at a date": (_version2(scopes={"*": {"paused_at": "2026-11-26"}}), "'paused_at'"),
    "paused_at unpadded": (
        _version2(scopes={"*": {"paused_at": "2026-1-6T1:2:3Z"}}),
        "'paused_at'",
    ),
    "paused_at a week date": (
        _version2(scopes={"*": {"paused_at": "2026-W48-1T13:09:45Z"}}),
        "'paused_at'",
    ),
    "paused_at Feb 30": (
        _version2(scopes={"*": {"paused_at": "2026-02-30T00:00:00Z"}}),
        "'paused_at'",
    ),
    "last_seen a number": (
        _version2(scopes={"*": {"paused_at": TIME, "last_seen": 1}}),
        "'last_seen' is not a time",
    ),
    "alarm a number": (_version2(scopes={"*": {"alarm": 1}}), "'alarm' is not a text"),
    "ignored a string": (_version2(scopes={"*": {"ignored": "j-1"}}), "'ignored' is not a list"),
    "targets a list": (_version2(scopes={"*": {"targets": []}}), "'targets' is not an object"),
    "an entry a number": (_pause(**{KEY: 3}), f"the entry of {KEY!r} is not an object"),
    "a schedule without due": (_pause(**{KEY: {"schedule": {}}}), "has no due time"),
    "a schedule due yesterday": (_schedule(due="yesterday"), "has no due time"),
    "a schedule without group": (_schedule(group=None), "has no group"),
    "a schedule group ending in a newline": (_schedule(group="g\n"), "has no group"),
    "a schedule region ending in a newline": (
        _schedule(region="us-east-1\n"),
        "has no region",
    ),
    "a schedule name ending in a newline": (_schedule(name="n\n"), "a name no schedule can have"),
    "a schedule group with spaces": (_schedule(group="a b"), "has no group"),
    "a schedule in no region": (_schedule(region="mars"), "has no region"),
    "a schedule name too long": (_schedule(name="n" * 65), "a name no schedule can have"),
    "unset as text": (_schedule(unset="yes"), "'unset' that is not true or false"),
    "replaces an object": (_schedule(replaces={"due": DUE}), "replaces no list of schedules"),
    "replaces a list of names": (_schedule(replaces=["n"]), "replaces no list of schedules"),
    "replaces one without a group": (
        _schedule(replaces=[{"due": DUE, "region": "us-east-1"}]),
        "has no group",
    ),
    "clusters a list": (_version2(clusters=["j-1"]), "'clusters' is not an object"),
    "a cluster's tables a string": (_version2(clusters={"j-1": "orders"}), "tables of cluster"),
    "clusters_tag a list": (_version2(clusters_tag=[]), "'clusters_tag' is not a text"),
}
RUN_INVALID = {
    "active clusters a string": ({"active_clusters": "j-1"}, "'active_clusters' is not a list"),
    "active clusters of strings": ({"active_clusters": ["j-1"]}, "not a list of objects"),
    "a cluster's tables a string": (
        {"active_clusters": [{"id": "j-1", "tables": "orders"}]},
        "a cluster's 'tables' is not a list of names",
    ),
    "failed targets a string": ({"failed_targets": "t"}, "'failed_targets' or 'warnings' is not"),
    "warnings a mapping": ({"warnings": {"a": 1}}, "'failed_targets' or 'warnings' is not a list"),
    "planned a negative count": ({"planned": -1}, "'planned' is not a count"),
    "planned a boolean": ({"planned": True}, "'planned' is not a count"),
    "pending as text": ({"pending": "1"}, "'pending' is not a count"),
    "pending a fraction": ({"pending": 1.5}, "'pending' is not a count"),
    "scan a list": ({"scan": ["table/orders"]}, "'scan' is not a list of resource ids and a count"),
    "scan without ids": ({"scan": {"namespace": 1}}, "'scan' is not a list of resource ids"),
    "scan ids a string": ({"scan": {"ids": "t", "namespace": 1}}, "'scan' is not a list"),
    "scan count a boolean": ({"scan": {"ids": [], "namespace": True}}, "'scan' is not a list"),
}
# a time that is not one as the tool writes it: local, without seconds, a date, a number
NOT_TIMES = ["2026-11-26T03:00:00", "2026-11-26T03:00Z", "2026-11-26", 1764126000, "yesterday"]
for _name in ("last_action_at", "last_success_at", "last_run_at", "scanned_at"):
    for _value in NOT_TIMES:
        RUN_INVALID[f"{_name} {_value!r}"] = (
            {_name: _value},
            f"{_name!r} is not a time like 2026-01-31T23:59:00Z",
        )


@pytest.mark.parametrize("name", list(INVALID))
def test_content_that_cannot_be_understood_is_refused_saying_what_is_wrong(name):
    data, reason = INVALID[name]
    with pytest.raises(ValueError) as e:
        state_from_json(data, WHERE)
    assert reason in str(e.value)


@pytest.mark.parametrize("name", list(RUN_INVALID))
def test_a_run_record_field_that_cannot_be_understood_spoils_a_state_that_was_whole(name):
    """The wrong value in a whole state file: refused, not read around."""
    data, reason = RUN_INVALID[name]
    whole = written(STATE)
    with pytest.raises(ValueError) as e:
        state_from_json({**whole, "run": {**whole["run"], **data}}, WHERE)
    assert reason in str(e.value)


# name -> (the file's bytes, what the error says is wrong)
UNREADABLE = {
    "garbage bytes": (b"\x00\x9f\x92\x96 not json at all", "can't decode byte 0x9f"),
    "cut short": (b'{"version": tru', "Expecting value"),
    "empty": (b"", "Expecting value"),
    "not an object": (b"[1, 2, 3]", "not a JSON object"),
}


@pytest.mark.parametrize("name", list(UNREADABLE))
def test_a_state_file_that_cannot_be_understood_is_unusable_saying_why(name, tmp_path):
    content, reason = UNREADABLE[name]
    path = tmp_path / "state.json"
    path.write_bytes(content)
    with pytest.raises(UnusableState) as e:
        load_state(dataclasses.replace(CONFIG, state_file=str(path)))
    assert reason in str(e.value)
    assert path.read_bytes() == content, "reading it changes nothing"


def test_a_missing_state_file_is_the_state_before_any_run(tmp_path):
    config = dataclasses.replace(CONFIG, state_file=str(tmp_path / "state.json"))
    assert load_state(config) == (State(), [])


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("2026-11-30T13:09:45Z", "2026-11-30 13:09:45+00:00"),
        ("2026-02-28T23:59:59Z", "2026-02-28 23:59:59+00:00"),
        ("2026-02-30T00:00:00Z", None),  # no such day
        ("2026-11-30T24:00:00Z", None),
        ("2026-11-30T13:09:45", None),  # no Z: not what iso() writes
        ("2026-11-30T13:09:45+00:00", None),
        ("2026-11-30 13:09:45Z", None),
        ("2026-W48-1T13:09:45Z", None),
        ("2026-1-6T1:2:3Z", None),
        ("２０２６-11-30T13:09:45Z", None),  # digits of another script
        ("", None),
        (1764508185, None),
        (None, None),
    ],
)
def test_parse_iso_reads_only_what_iso_writes(text: object, parsed: str | None) -> None:
    moment = parse_iso(text)
    assert (None if moment is None else str(moment)) == parsed
    if moment is not None:
        assert iso(moment) == text
