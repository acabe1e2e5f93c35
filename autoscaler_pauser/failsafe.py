"""The failsafe: while a target is paused, a one-time EventBridge Scheduler schedule that restores
its pre-pause setting at a time the runs keep moving later. Should the pauser die (its host, its
timer, its credentials, its stack), the schedule fires: Scheduler itself makes the restoring call
as a universal target, with the role it is given, then deletes the schedule.

Each schedule is recorded in the pause record before it is made (its due time, group, region and
name), so that whatever happens to the run, a resume, a change of group or the failsafe turned
off removes it where it was made.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from .aws import aws_error, error_code
from .model import Schedule, Setting
from .records import schedule_name
from .targets import region_of, restore_call

# The longest Description Scheduler takes: botocore's scheduler model, CreateSchedule and
# UpdateSchedule, shape Description, "max": 512 (characters).
DESCRIPTION_MAX = 512


def fitted(text: str, limit: int = DESCRIPTION_MAX) -> str:
    """The text, or its start and its end with "..." between, `limit` characters in all: the
    target's key stays whole in the schedule's Input, and its end tells read from write."""
    if len(text) <= limit:
        return text
    head = (limit - 3) // 2
    return text[:head] + "..." + text[len(text) - (limit - 3 - head) :]


# How long Scheduler keeps trying a call that fails (throttled, the role not yet usable).
RETRY_POLICY = {"MaximumEventAgeInSeconds": 24 * 60 * 60, "MaximumRetryAttempts": 185}


class Failsafe:
    """The failsafe schedules of one pauser: named from its name and the target, in one group,
    in each target's region. `scheduler(region)` is the Scheduler client of a region."""

    def __init__(self, scheduler: Callable[[str], Any], group: str, role_arn: str, pauser: str):
        self.scheduler, self.group, self.role_arn, self.pauser = scheduler, group, role_arn, pauser
        self.partition = role_arn.split(":")[1]
        self.lock = threading.Lock()
        self.checked: set[int] = set()  # the clients whose region has the group

    def schedule(self, key: str, due: str, earlier: Schedule | None) -> Schedule:
        """The schedule to record, then set, for the target of `key`: in this pauser's group and
        the target's region; named as it was made, if it is in that group already."""
        if earlier is not None and earlier.group == self.group and earlier.name:
            name = earlier.name
        else:
            name = schedule_name(self.pauser, key)
        return Schedule(due, self.group, region_of(key), name)

    def arm(self, key: str, setting: Setting, schedule: Schedule, there: bool = False) -> None:
        """Set the target's schedule to restore `setting` at its due time (UTC, as iso() writes
        it): made, or, if it is `there` (or turns out to be), moved. UpdateSchedule replaces the
        whole schedule, so every field goes again."""
        call = restore_call(key, setting)
        scheduler = self.scheduler(schedule.region)
        self._group(scheduler)
        params = {
            "Name": schedule.name,
            "GroupName": schedule.group,
            "Description": fitted(f"autoscaler-pauser failsafe of {self.pauser}: restores {key}"),
            "ScheduleExpression": f"at({schedule.due.removesuffix('Z')})",
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {
                "Arn": f"arn:{self.partition}:scheduler:::aws-sdk:{call.service}:{call.action}",
                "RoleArn": self.role_arn,
                "Input": json.dumps(call.input, sort_keys=True),
                "RetryPolicy": RETRY_POLICY,
            },
            "ActionAfterCompletion": "DELETE",
            "State": "ENABLED",
        }
        if there:
            try:
                scheduler.update_schedule(**params)
                return
            except Exception as e:  # it fired and went: made again
                if error_code(e) != "ResourceNotFoundException":
                    raise aws_error("UpdateSchedule", e) from e
        try:
            scheduler.create_schedule(**params)
            return
        except Exception as e:
            if there or error_code(e) != "ConflictException":
                raise aws_error("CreateSchedule", e) from e
        try:  # it was there already: moved
            scheduler.update_schedule(**params)
        except Exception as e:
            raise aws_error("UpdateSchedule", e) from e

    def disarm(self, key: str, schedule: Schedule) -> None:
        """Remove a schedule where it was made; one that is gone (it fired) is fine."""
        scheduler = self.scheduler(schedule.region)
        name = schedule.name or schedule_name(self.pauser, key)
        try:
            scheduler.delete_schedule(Name=name, GroupName=schedule.group)
        except Exception as e:
            if error_code(e) != "ResourceNotFoundException":
                raise aws_error("DeleteSchedule", e) from e

    def _group(self, scheduler: Any) -> None:
        """The group, looked up once a run in the client's region and made only if missing
        (making one that is there would replace it, and drop its schedules)."""
        with self.lock:
            if id(scheduler) in self.checked:
                return
            try:
                scheduler.get_schedule_group(Name=self.group)
            except Exception as e:
                if error_code(e) != "ResourceNotFoundException":
                    raise aws_error("GetScheduleGroup", e) from e
                try:
                    scheduler.create_schedule_group(Name=self.group)
                except Exception as e2:
                    raise aws_error("CreateScheduleGroup", e2) from e2
            self.checked.add(id(scheduler))
