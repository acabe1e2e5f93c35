"""The failsafe's schedules as Scheduler takes them: a Description within its limit however long
the target's names, the target whole in the Input, a role ARN of the form it takes."""

from __future__ import annotations

import json

import botocore.session
import pytest

from autoscaler_pauser.config import ConfigError, load_config
from autoscaler_pauser.failsafe import DESCRIPTION_MAX, Failsafe, fitted
from autoscaler_pauser.model import SCALING
from tests.support.contract import check_request, compiled
from tests.unit import scene

ROLE = "arn:aws:iam::123456789012:role/failsafe"
TABLE, INDEX = "orders-" + "x" * 248, "by-date-" + "y" * 247


class Scheduler:
    """A Scheduler client that keeps the schedules it is asked to make."""

    def __init__(self):
        self.made: list[dict] = []

    def get_schedule_group(self, Name):
        return {"Name": Name}

    def update_schedule(self, **params):
        raise AssertionError("a schedule that is not there is made, not moved")

    def create_schedule(self, **params):
        self.made.append(params)


def scheduler_model():
    return botocore.session.get_session().get_service_model("scheduler")


@pytest.mark.parametrize("operation", ["CreateSchedule", "UpdateSchedule"])
def test_the_description_limit_is_the_one_of_scheduler_s_model(operation):
    description = scheduler_model().operation_model(operation).input_shape.members["Description"]
    assert description.metadata["max"] == DESCRIPTION_MAX


def arm(key: str, setting, pauser: str = "ecs:us-east-1/autoscaler/ddb-scaler") -> dict:
    scheduler = Scheduler()
    failsafe = Failsafe(lambda region: scheduler, "autoscaler-pauser", ROLE, pauser)
    failsafe.arm(key, setting, failsafe.schedule(key, "2026-11-26T01:31:00Z", None))
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
