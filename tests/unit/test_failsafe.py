"""The failsafe's schedules as Scheduler takes them: a Description within its limit however long
the target's names, the target whole in the Input, a role ARN of the form it takes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import botocore.session
import pytest
from botocore.exceptions import ClientError

from autoscaler_pauser.aws import AwsError
from autoscaler_pauser.config import ConfigError, load_config
from autoscaler_pauser.failsafe import DESCRIPTION_MAX, Failsafe, fitted
from autoscaler_pauser.model import SCALING, Schedule
from autoscaler_pauser.records import schedule_name
from autoscaler_pauser.timing import HUNG_CALL_SECONDS, RUN_SECONDS
from tests.support.contract import check_request, compiled
from tests.unit import scene

ROLE = "arn:aws:iam::123456789012:role/failsafe"
TABLE, INDEX = "orders-" + "x" * 248, "by-date-" + "y" * 247


NOW = datetime(2026, 11, 26, 1, 0, tzinfo=timezone.utc)
DUE = "2026-11-26T01:31:00Z"
PAUSER = "ecs:us-east-1/autoscaler/ddb-scaler"


class Scheduler:
    """A Scheduler client that keeps the schedules it is asked to make, and what it was asked,
    in order."""

    def __init__(self):
        self.made: list[dict] = []
        self.calls: list[tuple[str, str, str]] = []  # operation, group, name

    def get_schedule_group(self, Name):
        return {"Name": Name}

    def update_schedule(self, **params):
        raise AssertionError("a schedule that is not there is made, not moved")

    def create_schedule(self, **params):
        self.calls.append(("CreateSchedule", params["GroupName"], params["Name"]))
        self.made.append(params)

    def delete_schedule(self, Name, GroupName):
        self.calls.append(("DeleteSchedule", GroupName, Name))
        if GroupName == "gone":
            error = {"Error": {"Code": "ResourceNotFoundException", "Message": "no schedule"}}
            raise ClientError(error, "DeleteSchedule")


def scheduler_model():
    return botocore.session.get_session().get_service_model("scheduler")


@pytest.mark.parametrize("operation", ["CreateSchedule", "UpdateSchedule"])
def test_the_description_limit_is_the_one_of_scheduler_s_model(operation):
    description = scheduler_model().operation_model(operation).input_shape.members["Description"]
    assert description.metadata["max"] == DESCRIPTION_MAX


def failsafe(scheduler: Scheduler, pauser: str = PAUSER, now: datetime = NOW) -> Failsafe:
    return Failsafe(lambda region: scheduler, "autoscaler-pauser", ROLE, pauser, lambda: now)


def arm(key: str, setting, pauser: str = PAUSER) -> dict:
    scheduler = Scheduler()
    made = failsafe(scheduler, pauser)
    made.arm(key, setting, made.schedule(key, DUE, None))
    [params] = scheduler.made
    return params


def test_a_target_with_the_longest_names_has_a_description_scheduler_takes():
    key = f"dynamodb:us-east-1/table/{TABLE}/index/{INDEX}:write"
    params = arm(key, SCALING, pauser="p" * 200)
    description = params["Description"]
    assert len(description) == DESCRIPTION_MAX
    assert description.startswith("autoscaler-pauser failsafe of ppp")
    assert description.endswith(f"{'y' * 20}:write")
    assert len(params["Name"]) <= 64
    assert json.loads(params["Target"]["Input"])["ResourceId"] == f"table/{TABLE}/index/{INDEX}"
    create = scheduler_model().operation_model("CreateSchedule")
    assert check_request(create, params) == []


def test_a_description_that_fits_is_left_whole():
    params = arm("ecs:us-east-1/autoscaler/ddb-scaler", 3)
    assert params["Description"] == (
        "autoscaler-pauser failsafe of ecs:us-east-1/autoscaler/ddb-scaler: restores "
        "ecs:us-east-1/autoscaler/ddb-scaler"
    )


@pytest.mark.parametrize("length", [DESCRIPTION_MAX, DESCRIPTION_MAX + 1, 1010])
def test_a_fitted_text_keeps_its_start_and_end_within_the_limit(length):
    text = "s" * (length // 2) + "e" * (length - length // 2)
    cut = fitted(text)
    assert len(cut) == min(length, DESCRIPTION_MAX)
    assert cut.startswith("s") and cut.endswith("e")
    assert (cut == text) is (length <= DESCRIPTION_MAX)


ENV = {**scene.ENV, "FAILSAFE_MINUTES": "30"}


@pytest.mark.parametrize(
    "role",
    [
        ROLE,
        "arn:aws-us-gov:iam::123456789012:role/path/x+=,.@-_",
        "arn:aws:iam::123456789012:role/fäilsafe",
        "arn:aws:iam::١٢٣٤٥٦٧٨٩٠١٢:role/failsafe",
        "arn:aws:iam::123456789012:role/fail safe",
    ],
)
def test_the_config_takes_the_role_arns_scheduler_takes_and_no_other(role):
    """Scheduler's RoleArn pattern is Java's: its \\w and \\d are ASCII."""
    shape = scheduler_model().operation_model("CreateSchedule").input_shape
    taken = compiled(shape.members["Target"].members["RoleArn"].metadata["pattern"])
    try:
        load_config(None, {**ENV, "FAILSAFE_ROLE_ARN": role})
    except ConfigError as e:
        assert taken.fullmatch(role) is None, e.problems
    else:
        assert taken.fullmatch(role) is not None, f"the config took {role!r}"


# --- where a schedule is set, and when --------------------------------------------------------

KEY = "ecs:us-east-1/autoscaler/ddb-scaler"
NAME = schedule_name(PAUSER, KEY)


def test_a_schedule_in_another_group_is_set_in_this_one_first_then_the_old_one_removed():
    scheduler = Scheduler()
    made = failsafe(scheduler)
    old = Schedule("2026-11-26T01:20:00Z", "old-group", "us-east-1", "old-name", unset=True)
    schedule = made.schedule(KEY, DUE, old)
    assert schedule == Schedule(
        DUE,
        "autoscaler-pauser",
        "us-east-1",
        NAME,
        replaces=(Schedule(old.due, "old-group", "us-east-1", "old-name"),),
    )
    made.arm(KEY, 3, schedule)
    assert scheduler.calls == [
        ("CreateSchedule", "autoscaler-pauser", NAME),
        ("DeleteSchedule", "old-group", "old-name"),
    ]


def test_a_schedule_moved_twice_replaces_both_earlier_ones_but_never_itself():
    made = failsafe(Scheduler())
    first = Schedule("2026-11-26T01:20:00Z", "autoscaler-pauser", "us-east-1")  # named as now
    second = made.schedule(KEY, DUE, first)
    assert second.replaces == ()  # the same group and region: the same schedule, moved later
    elsewhere = Schedule(
        DUE,
        "other",
        "us-east-1",
        NAME,
        replaces=(
            Schedule(first.due, "autoscaler-pauser", "us-east-1", NAME),
            Schedule(first.due, "older", "us-east-1", "x"),
        ),
    )
    back = made.schedule(KEY, DUE, elsewhere)
    assert [(s.group, s.name) for s in back.replaces] == [("other", NAME), ("older", "x")]


def test_a_schedule_that_cannot_be_removed_where_it_was_fails_the_move_after_the_new_is_set():
    scheduler = Scheduler()
    made = failsafe(scheduler)

    def refuse(Name, GroupName):
        error = {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}
        raise ClientError(error, "DeleteSchedule")

    scheduler.delete_schedule = refuse
    old = Schedule("2026-11-26T01:20:00Z", "old-group", "us-east-1", "old-name")
    with pytest.raises(AwsError, match="DeleteSchedule failed: AccessDeniedException"):
        made.arm(KEY, 3, made.schedule(KEY, DUE, old))
    assert scheduler.calls == [("CreateSchedule", "autoscaler-pauser", NAME)]


def test_removing_a_schedule_removes_those_it_replaces_and_one_gone_is_fine():
    scheduler = Scheduler()
    old = Schedule(DUE, "gone", "us-east-1", "old-name")
    failsafe(scheduler).disarm(
        KEY, Schedule(DUE, "autoscaler-pauser", "us-east-1", replaces=(old,))
    )
    assert scheduler.calls == [
        ("DeleteSchedule", "autoscaler-pauser", NAME),
        ("DeleteSchedule", "gone", "old-name"),
    ]


@pytest.mark.parametrize(
    "ahead, sent", [(HUNG_CALL_SECONDS + 1, True), (HUNG_CALL_SECONDS, False), (-60, False)]
)
def test_a_schedule_is_sent_only_while_its_time_is_further_off_than_a_call_may_take(ahead, sent):
    """A run held up far beyond its budget: its clock at the call, and the schedule's time."""
    scheduler = Scheduler()
    due = datetime(2026, 11, 26, 1, 31, tzinfo=timezone.utc)
    made = failsafe(scheduler, now=due - timedelta(seconds=ahead))
    schedule = made.schedule(KEY, DUE, None)
    if sent:
        made.arm(KEY, 3, schedule)
    else:
        with pytest.raises(AwsError, match="CreateSchedule not sent: the schedule would be due"):
            made.arm(KEY, 3, schedule)
    assert len(scheduler.made) == int(sent)


# interval (seconds) -> the least failsafe_minutes: a run (RUN_SECONDS, 45) and the interval
LEAST = {60: 1.75, 1: 0.77, 61: 1.77, 3600: 60.75}


@pytest.mark.parametrize("interval", list(LEAST))
def test_failsafe_minutes_must_outlast_a_run_and_the_interval_and_the_least_is_named(interval):
    least = LEAST[interval]
    assert least * 60 >= RUN_SECONDS + interval > (least - 0.01) * 60
    env = {**ENV, "FAILSAFE_ROLE_ARN": ROLE, "INTERVAL": str(interval)}
    assert load_config(None, {**env, "FAILSAFE_MINUTES": str(least)}).failsafe_minutes == least
    with pytest.raises(ConfigError) as refused:
        load_config(None, {**env, "FAILSAFE_MINUTES": f"{least - 0.01:.2f}"})
    assert refused.value.problems == [
        f"failsafe_minutes: must be at least {least:g}, to outlast a run ({RUN_SECONDS} s) and the "
        f"interval ({interval} s) to the next, which moves it; got {least - 0.01:.2f}"
    ]
