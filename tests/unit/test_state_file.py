"""The state file read back (state_file.py, record_format.py): what a run wrote reads back as
it was; a field that cannot be understood is set aside alone, named in a warning, and the rest is
read; only content that is not a JSON object is refused."""

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
from autoscaler_pauser.record_format import UNKNOWN_DUE, times_as_of
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
WRITE = "dynamodb:us-east-1/table/orders:write"
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
        created={READ: 1796101200.125},
        unknown=frozenset({WRITE}),
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
    if "saved setting" in says:
        assert state.pause.held == tuple(state.pause.unknown), "held, its setting not known"


def test_a_target_held_without_its_setting_reads_back_as_held():
    state = read(_pause(**{READ: {"saved": None}}))
    assert state.pause.unknown == {READ} and state.pause.saved == {}


@pytest.mark.parametrize("created", ["yesterday", True, float("inf")])
def test_a_creation_time_that_is_not_one_is_left_out_with_a_warning(created):
    data = _pause(**{READ: {"saved": [False, False, True], "created": created}})
    state, warnings = state_from_json(json.loads(json.dumps(data)), WHERE)
    assert state.pause.saved == {READ: Suspension(False, False, True)}
    assert state.pause.created == {}
    assert len(warnings) == 1 and f"when the target {READ} was made" in warnings[0]


def test_content_that_is_not_a_json_object_is_refused():
    for data in ([1, 2, 3], "paused", None):
        with pytest.raises(ValueError, match="not a JSON object"):
            state_from_json(data, WHERE)


def test_an_object_with_no_field_of_a_state_file_is_refused():
    for data in ({}, {"paused": True, "paused_at": TIME, "saved": {KEY: 3}}):
        with pytest.raises(ValueError, match="no field of a state file"):
            state_from_json(data, WHERE)


SCHEDULED = ("pause", "scopes", "*", "targets", KEY, "schedule")
REPLACING = ("pause", "scopes", "orders", "targets", READ, "schedule")  # moved: replaces one
KEEPS_ALL = frozenset({KEY, READ})
# name -> (the field's path in a whole state file, the value put there (DELETE: taken out), what
# the warning names, the saved settings left, whether the run looks for lost schedules)
DELETE = object()
ASIDE = {
    "format as text": (("pause", "format"), "2", "the format", KEEPS_ALL, False),
    "no format": (("pause", "format"), DELETE, "the format", KEEPS_ALL, False),
    "a newer format": (("pause", "format"), 3, "the format", KEEPS_ALL, False),
    "pauser a number": (("pause", "pauser"), 7, "the pauser", KEEPS_ALL, False),
    "scopes a list": (("pause", "scopes"), [], "the scopes", frozenset(), True),
    "a scope a list": (("pause", "scopes", "*"), [], "scope '*'", {READ}, True),
    "alarm a number": (("pause", "scopes", "*", "alarm"), 1, "'alarm'", KEEPS_ALL, False),
    "ignored a string": (("pause", "scopes", "*", "ignored"), "j-0", "'ignored'", KEEPS_ALL, False),
    "holding a number": (("pause", "scopes", "*", "holding"), 1, "'holding'", KEEPS_ALL, False),
    "targets a list": (
        ("pause", "scopes", "orders", "targets"),
        [],
        "the targets of scope 'orders'",
        {KEY},
        True,
    ),
    "an entry a number": (
        ("pause", "scopes", "*", "targets", KEY),
        3,
        f"entry of {KEY}",
        {READ},
        True,
    ),
    "a schedule a list": (SCHEDULED, [], f"the schedule of {KEY}", KEEPS_ALL, True),
    "a schedule without group": ((*SCHEDULED, "group"), None, "has no group", KEEPS_ALL, True),
    "a schedule group ending in a newline": (
        (*SCHEDULED, "group"),
        "autoscaler-pauser\n",
        "has no group",
        KEEPS_ALL,
        True,
    ),
    "a schedule with spaces in its group": (
        (*SCHEDULED, "group"),
        "a b",
        "has no group",
        KEEPS_ALL,
        True,
    ),
    "a schedule in no region": ((*SCHEDULED, "region"), "mars", "has no region", KEEPS_ALL, True),
    "a schedule name too long": ((*SCHEDULED, "name"), "n" * 65, "the name of", KEEPS_ALL, True),
    "a schedule due as a person writes it": (
        (*SCHEDULED, "due"),
        "2026-12-06 02:00",
        "the due time of",
        KEEPS_ALL,
        False,
    ),
    "a schedule due yesterday": (
        (*SCHEDULED, "due"),
        "yesterday",
        "the due time of",
        KEEPS_ALL,
        False,
    ),
    "a schedule without due": ((*SCHEDULED, "due"), DELETE, "the due time of", KEEPS_ALL, False),
    "unset as text": ((*SCHEDULED, "unset"), "yes", "'unset'", KEEPS_ALL, False),
    "clusters a list": (("pause", "clusters"), ["j-1"], "the clusters", KEEPS_ALL, False),
    "a cluster's tables a string": (
        ("pause", "clusters", "j-1"),
        "orders",
        "the tables of cluster 'j-1'",
        KEEPS_ALL,
        False,
    ),
    "a schedule name ending in a newline": (
        (*SCHEDULED, "name"),
        "n\n",
        "the name of",
        KEEPS_ALL,
        True,
    ),
    "replaces an object": ((*REPLACING, "replaces"), {"due": DUE}, "replaces", KEEPS_ALL, True),
    "replaces a list of names": (
        (*REPLACING, "replaces"),
        ["n"],
        f"schedule of {READ}",
        KEEPS_ALL,
        True,
    ),
    "replaces one without a group": (
        (*REPLACING, "replaces"),
        [{"due": DUE, "region": "us-east-1"}],
        "has no group",
        KEEPS_ALL,
        True,
    ),
    "clusters_tag a list": (("pause", "clusters_tag"), [], "'clusters_tag'", KEEPS_ALL, False),
    "what the pauser names not understood": (
        ("pause", "named"),
        {"ids": "x"},
        "what its pauser names",
        KEEPS_ALL,
        False,
    ),
    "a version as text": (("version",), "2", "the version", KEEPS_ALL, False),
    "a newer version": (("version",), 99, "the version", KEEPS_ALL, False),
    "no version": (("version",), DELETE, "the version", KEEPS_ALL, False),
    "pause a list": (("pause",), [], "the pause record", frozenset(), True),
    "run missing": (("run",), DELETE, "the run record", KEEPS_ALL, False),
}


def damaged(path: tuple[str, ...], value) -> dict:
    """The whole state a run wrote, with one field put to `value`."""
    data = written(STATE)
    *to, last = path
    place = data
    for step in to:
        place = place[step]
    if value is DELETE:
        del place[last]
    else:
        place[last] = value
    return data


@pytest.mark.parametrize("name", list(ASIDE))
def test_a_field_that_cannot_be_understood_is_set_aside_alone_and_named(name):
    path, value, says, kept, sweep = ASIDE[name]
    state, warnings = state_from_json(damaged(path, value), WHERE)
    assert len(warnings) == 1, warnings
    assert says in warnings[0] and WHERE in warnings[0] and warnings[0].startswith("ignored ")
    assert set(state.pause.saved) == set(kept), "every saved setting the field did not hold stays"
    assert {k: STATE.pause.saved[k] for k in kept} == state.pause.saved
    assert state.pause.sweep is sweep
    if path[:2] != ("pause", "clusters") and path[0] == "pause" and path != ("pause",):
        assert state.pause.clusters == STATE.pause.clusters
    if path[0] != "run":
        assert state.run == STATE.run


def test_a_schedule_whose_due_time_is_not_one_is_set_again_or_removed():
    state, _ = state_from_json(damaged((*SCHEDULED, "due"), "2026-12-06 02:00"), WHERE)
    schedule = state.pause.schedules[KEY]
    assert schedule.unset and schedule.due == UNKNOWN_DUE
    assert (
        schedule.name == STATE.pause.schedules[KEY].name and schedule.group == "autoscaler-pauser"
    )


def test_a_schedule_that_cannot_be_found_is_left_out_and_looked_for():
    state, _ = state_from_json(damaged((*SCHEDULED, "region"), "mars"), WHERE)
    assert KEY not in state.pause.schedules and state.pause.sweep
    assert state.pause.saved[KEY] == 3


RUN_ASIDE = {
    "active clusters a string": ({"active_clusters": "j-1"}, "'active_clusters'"),
    "active clusters of strings": ({"active_clusters": ["j-1"]}, "an active cluster"),
    "a cluster's tables a string": (
        {"active_clusters": [{"id": "j-1", "tables": "orders"}]},
        "an active cluster",
    ),
    "failed targets a string": ({"failed_targets": "t"}, "'failed_targets'"),
    "warnings a mapping": ({"warnings": {"a": 1}}, "'warnings'"),
    "planned a negative count": ({"planned": -1}, "'planned'"),
    "planned a boolean": ({"planned": True}, "'planned'"),
    "pending as text": ({"pending": "1"}, "'pending'"),
    "pending a fraction": ({"pending": 1.5}, "'pending'"),
    "skipped as text": ({"skipped": "3"}, "'skipped'"),
    "clock_ahead as text": ({"clock_ahead": "8h"}, "'clock_ahead'"),
    "scan a list": ({"scan": ["table/orders"]}, "'scan'"),
    "scan without ids": ({"scan": {"namespace": 1}}, "'scan'"),
    "scan ids a string": ({"scan": {"ids": "t", "namespace": 1}}, "'scan'"),
    "scan count a boolean": ({"scan": {"ids": [], "namespace": True}}, "'scan'"),
}
# a time that is not one as the tool writes it: local, without seconds, a date, a number
NOT_TIMES = ["2026-11-26T03:00:00", "2026-11-26T03:00Z", "2026-11-26", 1764126000, "yesterday"]
for _name in ("last_action_at", "last_success_at", "last_run_at", "scanned_at", "skipped_at"):
    for _value in NOT_TIMES:
        RUN_ASIDE[f"{_name} {_value!r}"] = ({_name: _value}, f"{_name!r}")


@pytest.mark.parametrize("name", list(RUN_ASIDE))
def test_a_run_record_field_that_cannot_be_understood_is_read_as_before_any_run(name):
    data, says = RUN_ASIDE[name]
    whole = written(STATE)
    state, warnings = state_from_json({**whole, "run": {**whole["run"], **data}}, WHERE)
    assert len(warnings) == 1 and says in warnings[0], warnings
    [field] = data
    default = getattr(RunRecord(), field)
    assert getattr(state.run, field) == default
    rest = [f.name for f in dataclasses.fields(RunRecord) if f.name != field]
    assert all(getattr(state.run, f) == getattr(STATE.run, f) for f in rest)
    assert state.pause == STATE.pause


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


NOW = parse_iso("2026-11-26T03:10:00Z")
# name -> (the scope's paused_at and last_seen as read, whether each is read as now)
TIMES = {
    "both in the past": (("2026-11-26T03:00:00Z", "2026-11-26T03:09:00Z"), (False, False)),
    "a few seconds ahead, as another host's clock may be": (
        ("2026-11-26T03:10:03Z", "2026-11-26T03:10:04Z"),
        (False, False),
    ),
    "paused_at in 2099": (("2099-01-01T00:00:00Z", "2026-11-26T03:09:00Z"), (True, False)),
    "last_seen a minute ahead": (("2026-11-26T03:00:00Z", "2026-11-26T03:11:00Z"), (False, True)),
    "paused_at a date": (("2026-11-26", "2026-11-26T03:09:00Z"), (True, False)),
    "last_seen a number": (("2026-11-26T03:00:00Z", "1764126000"), (False, True)),
}


@pytest.mark.parametrize("name", list(TIMES))
def test_a_pause_time_that_cannot_be_true_is_read_as_now_with_a_warning(name):
    (paused_at, last_seen), as_now = TIMES[name]
    record = PauseRecord(holds={"orders": Hold(paused_at, last_seen, ("j-1",))}, fresh=False)
    read, warnings = times_as_of(record, NOW, WHERE)
    hold = read.holds["orders"]
    for field, given, now in (
        ("paused_at", paused_at, as_now[0]),
        ("last_seen", last_seen, as_now[1]),
    ):
        assert getattr(hold, field) == (iso(NOW) if now else given)
        said = [w for w in warnings if f"the {field} of scope 'orders' in {WHERE}" in w]
        assert len(said) == int(now), warnings
        assert all("read as now, 2026-11-26T03:10:00Z (AWS's clock)" in w for w in said)
    assert hold.holding == ("j-1",)


def test_a_hand_written_paused_at_is_kept_as_text_until_read_against_aws_s_clock():
    data = damaged(("pause", "scopes", "orders", "paused_at"), "2026-11-26 03:00")
    state, warnings = state_from_json(data, WHERE)
    assert warnings == [] and state.pause.holds["orders"].paused_at == "2026-11-26 03:00"
    assert state.pause.paused, "a pause whose start is not known is still a pause"
