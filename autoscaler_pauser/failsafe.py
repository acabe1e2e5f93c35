"""The failsafe: while a target is paused, a one-time EventBridge Scheduler schedule that restores
its pre-pause setting at a time the runs keep moving later. Should the pauser die (its host, its
timer, its credentials, its stack), the schedule fires: Scheduler itself makes the restoring call
as a universal target, with the role it is given, then deletes the schedule.

Each schedule is recorded in the pause record before it is made (its due time, group, region and
name), so that whatever happens to the run, a resume, a change of group or the failsafe turned
off removes it where it was made. A schedule moved to another group or region is set there first,
and the old one, recorded beside it until then, removed after, in the same run.

A schedule is due a run and the interval after the run that sets it starts (config: failsafe
minutes at least timing.failsafe_lead), so it is never sent with a time already past; a call that
would be sent too close to that time (a run held up far beyond its budget) is not made, and the
next run sets the schedule later.

A schedule's name starts with a digest of the pauser's name, so that a record that lost track of
one (a field of it set aside, or the record moved aside) can look for them: the run lists the
pauser's schedules in its group and removes those no record holds.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import datetime
from typing import Any

from .aws import AwsError, aws_error, error_code, pages
from .model import PauseRecord, Schedule, Setting, TargetView, parse_iso
from .records import schedule_name, schedule_prefix
from .targets import region_of, restore_call
from .timing import HUNG_CALL_SECONDS

log = logging.getLogger("autoscaler-pauser")

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
    in each target's region. `scheduler(region)` is the Scheduler client of a region; `now`, the
    run's clock."""

    def __init__(
        self,
        scheduler: Callable[[str], Any],
        group: str,
        role_arn: str,
        pauser: str,
        now: Callable[[], datetime],
    ):
        self.scheduler, self.group, self.role_arn, self.pauser = scheduler, group, role_arn, pauser
        self.now = now
        self.partition = role_arn.split(":")[1]
        self.lock = threading.Lock()
        self.checked: set[int] = set()  # the clients whose region has the group

    def schedule(self, key: str, due: str, earlier: Schedule | None) -> Schedule:
        """The schedule to record, then set, for the target of `key`: in this pauser's group and
        the target's region; named as it was made, if it is there already. One set in another
        place replaces the earlier one, and what that one had still to replace."""
        region, name = region_of(key), schedule_name(self.pauser, key)
        if earlier is None:
            return Schedule(due, self.group, region, name)
        earlier = replace(earlier, name=earlier.name or name)
        if (earlier.group, earlier.region) == (self.group, region):
            return Schedule(due, self.group, region, earlier.name, replaces=earlier.replaces)
        left = [replace(earlier, replaces=(), unset=False), *earlier.replaces]
        here = (self.group, region, name)
        replaces = tuple(s for s in left if (s.group, s.region, s.name) != here)
        return Schedule(due, self.group, region, name, replaces=replaces)

    def arm(self, key: str, setting: Setting, schedule: Schedule, there: bool = False) -> None:
        """Set the target's schedule to restore `setting` at its due time (UTC, as iso() writes
        it): made, or, if it is `there` (or turns out to be), moved; then remove those it
        replaces. UpdateSchedule replaces the whole schedule, so every field goes again."""
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
        # Each call, and the error that says the other is to be made instead: a schedule made
        # that is there already is moved; one moved that fired and went is made again.
        make = ("CreateSchedule", scheduler.create_schedule, "ConflictException")
        move = ("UpdateSchedule", scheduler.update_schedule, "ResourceNotFoundException")
        first, then = (move, make) if there else (make, move)
        try:
            self._send(*first[:2], params, schedule.due)
        except AwsError as e:
            if e.code != first[2]:
                raise
            self._send(*then[:2], params, schedule.due)
        for old in schedule.replaces:  # the new one first, then the old ones go
            self._delete(key, old)

    def _send(
        self, operation: str, call: Callable[..., Any], params: dict[str, Any], due: str
    ) -> None:
        """One call that sets a schedule, made only while its due time is further off than the
        call may take (every try of it then carries a time still to come)."""
        now = self.now()
        ahead = ((parse_iso(due) or now) - now).total_seconds()
        if ahead <= HUNG_CALL_SECONDS:
            raise AwsError(
                f"{operation} not sent: the schedule would be due at {due}, in {ahead:.0f} s, too "
                "soon for the call to be sure to get there first; the next run sets it later"
            )
        try:
            call(**params)
        except Exception as e:
            raise aws_error(operation, e) from e

    def disarm(self, key: str, schedule: Schedule) -> None:
        """Remove a schedule where it was made, and those it replaces; one that is gone (it
        fired) is fine."""
        for each in (schedule, *schedule.replaces):
            self._delete(key, each)

    def _delete(self, key: str, schedule: Schedule) -> None:
        name = schedule.name or schedule_name(self.pauser, key)
        _delete(self.scheduler(schedule.region), name, schedule.group)

    def swept(
        self, after: PauseRecord, targets: Collection[TargetView], errors: list[str]
    ) -> PauseRecord:
        """Once a pause is over, or when the record lost track of a schedule: the pauser's
        schedules that `after` does not hold removed, in the regions of its targets and of those
        the run saw, and the record no longer marked (`sweep`); else an error in `errors`, and
        the record stays marked for the next run."""
        try:
            removed = self.sweep(after, {t.key for t in targets})
        except AwsError as e:
            errors.append(f"the failsafe's schedules no record holds were not removed: {e}")
            return replace(after, sweep=True)
        for name in removed:
            log.info("removed the failsafe schedule %s, which no record of this pauser held", name)
        return replace(after, sweep=False)

    def sweep(self, record: PauseRecord, keys: Collection[str]) -> list[str]:
        """Remove this pauser's schedules in its group that `record` does not hold (those of a
        record that lost track of them), in the regions of its targets and of `keys`. The names
        removed."""
        regions = {region_of(k) for k in {*keys, *record.saved, *record.schedules}}
        recorded = [s for each in record.schedules.values() for s in (each, *each.replaces)]
        kept = {s.name for s in recorded if s.name}
        removed = []
        for region in sorted(regions):
            scheduler = self.scheduler(region)
            listing = scheduler.list_schedules
            prefix = schedule_prefix(self.pauser)
            try:
                found = [
                    s["Name"]
                    for page in pages(listing, "NextToken", GroupName=self.group, NamePrefix=prefix)
                    for s in page.get("Schedules", [])
                ]
            except Exception as e:
                if error_code(e) == "ResourceNotFoundException":  # no group: no schedule
                    continue
                raise aws_error("ListSchedules", e) from e
            for name in sorted(set(found) - set(kept)):
                _delete(scheduler, name, self.group)
                removed.append(name)
        return removed

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


def _delete(scheduler: Any, name: str, group: str) -> None:
    """Remove a schedule; one that is gone (it fired) is fine."""
    try:
        scheduler.delete_schedule(Name=name, GroupName=group)
    except Exception as e:
        if error_code(e) != "ResourceNotFoundException":
            raise aws_error("DeleteSchedule", e) from e
