"""One run: observe → decide → act → record, under the lock or the lease.

The run's clock is AWS's: the first answer (the EMR clusters) tells it, and every time two hosts
compare (the lease, the grace, when a pause began) is taken from it. The pause record is taken
(the state file, or state_table's lease), the targets are read and the plan made; what the plan
saves and the failsafe schedules it sets are recorded before any change (write-ahead); each
target's change and then its schedule go through the write pool; the records are left, and the
log lines say what was done.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from . import Exit
from .aws import Aws, AwsClock, AwsError, list_matching_clusters
from .config import Config
from .decide import Plan
from .history import Story, failsafe_restored, with_history
from .logs import METRICS_LOG
from .model import Failure, PauseRecord, RunRecord, Schedule, State, Why, iso
from .observe import Reading, observe_and_decide
from .record_format import times_as_of
from .record_store import FileRecordStore, RecordStore
from .records import (
    FailsafePlan,
    changed,
    failed_run_record,
    failsafe_errors,
    failsafe_plan,
    intent_record,
    next_pause_record,
    next_run_record,
)
from .report import failsafe_lines, moved_line, run_lines
from .state_file import (
    StateFileError,
    read_state,
    state_to_json,
    write_json_atomic,
    write_text_atomic,
)
from .targets import paused_setting, region_of
from .timing import TAGS_SHARE, TELL_SECONDS, WRITE_BUDGET_SECONDS, failsafe_lead

if TYPE_CHECKING:  # imported where a run needs them: a steady run writes nothing
    from .failsafe import Failsafe
    from .writes import Job

log = logging.getLogger("autoscaler-pauser")


def record(
    config: Config,
    state: State,
    seconds: float,
    calls: int,
    now: datetime,
    durable: bool = True,
    changes: int = 0,
) -> bool:
    """Write the state file, then the metrics file; False if the metrics could not be written.
    `durable`: the state file holds what a resume needs that it did not hold before; `changes`:
    the targets the run set, for the metrics' log line where it is logged (Lambda)."""
    write_state(config, state, durable)
    if METRICS_LOG.isEnabledFor(logging.INFO):
        from .metrics import log_metrics

        log_metrics(state, seconds, changes, now, config.pauser_name)
    if not config.metrics_file:
        return True
    from .metrics import metrics_text

    try:
        # Readable by node_exporter, which runs as another user; it holds no secret.
        text = metrics_text(state, seconds, calls, now)
        write_text_atomic(config.metrics_file, text, mode=0o644, durable=False)
    except OSError as e:
        log.error("metrics_file: cannot write %s: %s", config.metrics_file, e.strerror or e)
        return False
    return True


def write_state(config: Config, state: State, durable: bool = True) -> None:
    """The state file, with the saved count of the config's ECS service for a person to read."""
    data = state_to_json(state)
    write_json_atomic(config.state_file, data, durable)


def run_once(
    config: Config,
    aws: Aws,
    now: Callable[[], datetime],
    dry_run: bool,
    holder: str = "",
    budget: float = WRITE_BUDGET_SECONDS,
) -> Exit:
    """One reconcile, the lock already held (or not needed for a dry run). `holder` names this
    run in the lease of state_table; no write starts `budget` seconds after the start. `now` is
    this host's clock, which AWS's corrects."""
    return Run(config, aws, now, dry_run, holder or default_holder(), budget).reconcile()


@dataclass
class Acts:
    """What a run set out to write, and how it went."""

    failures: dict[str, Failure] = field(default_factory=dict)  # of the targets' changes
    schedules: FailsafePlan | None = None
    armed: dict[str, Schedule] = field(default_factory=dict)  # key -> schedule, as recorded
    unset: dict[str, Failure] = field(default_factory=dict)  # schedules not set, or not removed
    scheduled: set[str] = field(default_factory=set)  # keys whose schedule write went through
    writes: int = 0


class Run:
    """One reconcile. Every run that gets as far as reading its state leaves a record of
    itself, whatever goes wrong."""

    def __init__(
        self,
        config: Config,
        aws: Aws,
        now: Callable[[], datetime],
        dry_run: bool,
        holder: str,
        budget: float,
    ):
        self.config, self.aws, self.dry_run = config, aws, dry_run
        self.clock = AwsClock(now, aws)
        self.calls, self.began = aws.calls, time.monotonic()
        self.deadline = self.began + budget
        self.tags_until = self.began + budget * TAGS_SHARE  # the clusters' tags: asked till then
        self.started = now()
        self.state, self.read_warnings = read_state(config, self.started, dry_run)  # no AWS call
        self.warnings: list[str] = []  # what the run logged as warnings, for its record
        self.store = record_store(config, aws, holder, dry_run, self._write_pause)

    def reconcile(self) -> Exit:
        pause: PauseRecord | None = None
        try:
            self._warn(self.read_warnings)
            clusters = list_matching_clusters(self.aws.emr, self.config.emr_prefix)
            self.started = self.clock.now()  # AWS's, from here on
            self._warn(self.clock.warnings)
            pause = self.store.take(self.state.pause, self.started)
            if pause is None:
                return self._skipped()
            pause, times = times_as_of(pause, self.started, self.store.where)
            self._warn(self.store.warnings + times)
            reading = observe_and_decide(
                self.config,
                self.aws,
                pause,
                self.started,
                clusters,
                self.state.run,
                self.tags_until,
            )
            self._warn(reading.warnings)
            reading.warnings = self.warnings
            acts = self._act(pause, reading)
        except StateFileError:  # another pauser's record: exit 2, nothing changed
            self.store.give_back()
            raise
        except Exception as e:  # nothing was changed: say why, and leave
            return self._failed(e, pause or self.state.pause)
        return self._finish(pause, reading, acts)

    def _warn(self, warnings: list[str]) -> None:
        """Log each warning as it comes, and keep it for the run record."""
        for warning in warnings:
            log.warning("%s", warning)
        self.warnings += warnings

    # --- act ---------------------------------------------------------------------------------

    def _act(self, pause: PauseRecord, reading: Reading) -> Acts:
        """The changes and the failsafe's writes, after what they save and set is recorded."""
        if self.dry_run:
            return Acts()
        plan = reading.plan
        intended = next_pause_record(pause, plan, {}, self.started)
        paused = {c.key for c in plan.changes if c.why is Why.PAUSE}
        acts = Acts(schedules=self._failsafe_plan(intended, paused))
        failsafe = self._schedules_to_set(acts, pause)
        ahead = intent_record(pause, plan, self.started, acts.armed)
        if ahead is not None:
            self.store.write_ahead(ahead, self.started)
        first, rest = self._jobs(reading, acts, failsafe, pause, paused)
        if not first and not rest:
            return acts
        from .writes import Steps, rotated, write_jobs

        acts.writes = len(first) + len(rest)
        rotation = int(self.started.timestamp() // 60)  # another start each minute
        workers = self.config.write_workers
        failures = write_jobs(first, rotated(rest, rotation), self.deadline, workers)
        steps = {j.key: j.write for j in first + rest if isinstance(j.write, Steps)}
        changed = {c.key for c in plan.changes}
        for key, failure in failures.items():  # the change's, or the schedule's after it
            if key in changed and (key not in steps or steps[key].done == 0):
                acts.failures[key] = failure
            else:
                acts.unset[key] = failure
        acts.scheduled -= set(failures)  # what remains: the schedule writes that went through
        return acts

    def _jobs(
        self,
        reading: Reading,
        acts: Acts,
        failsafe: Failsafe | None,
        pause: PauseRecord,
        paused: set[str],
    ) -> tuple[list[Job], list[Job]]:
        """Each target's change, then its schedule (set, moved or removed: a resume removes it
        once the target is resumed); the schedules of targets that do not change."""
        if not reading.plan.changes and failsafe is None:
            return [], []  # nothing to write: a steady run does not load the write pool
        from .writes import Job, change_jobs

        then = {} if failsafe is None else self._arm_writes(failsafe, acts, pause, paused)
        for key, schedule in (acts.schedules.disarm if failsafe and acts.schedules else {}).items():
            then[key] = functools.partial(failsafe.disarm, key, schedule)
        first, rest = change_jobs(reading.plan, reading.owners, then)
        changed = {c.key for c in reading.plan.changes}
        labels = {t.key: t.label for t in reading.observed.targets}
        alone = [Job(k, labels.get(k, k), w) for k, w in then.items() if k not in changed]
        acts.scheduled = set(then)
        return first, rest + alone

    def _schedules_to_set(self, acts: Acts, pause: PauseRecord) -> Failsafe | None:
        """The failsafe, if the run writes schedules, with each schedule to set in `acts`."""
        if acts.schedules is None:
            return None
        failsafe = self._failsafe()
        for key in acts.schedules.arm:
            earlier = pause.schedules.get(key)
            acts.armed[key] = failsafe.schedule(key, acts.schedules.due, earlier)
        return failsafe

    def _failsafe_plan(self, intended: PauseRecord, paused: set[str]) -> FailsafePlan | None:
        minutes, group = self.config.failsafe_minutes, self.config.failsafe_group
        if not (minutes or intended.schedules):
            return None
        lead = failsafe_lead(self.config.interval)
        plan = failsafe_plan(
            intended,
            minutes,
            group,
            self.started,
            paused,
            region=region_of,
            lead=lead,
            pausing=paused_setting,
        )
        return plan or None

    def _arm_writes(
        self, failsafe: Failsafe, acts: Acts, pause: PauseRecord, paused: set[str]
    ) -> dict[str, Callable[[], None]]:
        """The write that sets each schedule, by target, to go after the target's change."""
        then: dict[str, Callable[[], None]] = {}
        if acts.schedules is None:
            return then
        for key, setting in acts.schedules.arm.items():
            schedule, earlier = acts.armed[key], pause.schedules.get(key)
            there = (  # made where it is to be set, and not fired in between
                earlier is not None
                and (earlier.group, earlier.region, earlier.name)
                == (schedule.group, schedule.region, schedule.name)
                and key not in paused
            )
            then[key] = functools.partial(failsafe.arm, key, setting, schedule, there)
        return then

    def _failsafe(self) -> Failsafe:
        from .failsafe import Failsafe

        return Failsafe(
            lambda region: self.aws.client("scheduler", region),
            self.config.failsafe_group,
            self.config.failsafe_role_arn or "arn:aws:iam::0:role/none",
            self.config.pauser_name,
            self.clock.now,
        )

    # --- record ------------------------------------------------------------------------------

    def _finish(self, pause: PauseRecord, reading: Reading, acts: Acts) -> Exit:
        observed, plan, ended = reading.observed, reading.plan, self.clock.now()
        after = next_pause_record(pause, plan, acts.failures, ended)
        after = replace(after, schedules=self._schedules(pause, after, acts))
        restored = failsafe_restored(pause, observed.targets, self.started)
        after = with_history(pause, after, observed.clusters, restored, plan.verdicts, ended)
        run = self._run_record(reading, acts, ended)
        labels = {t.key: t.label for t in observed.targets}
        errors, warnings = failsafe_lines(
            acts.schedules, acts.unset, labels, pause.schedules, acts.armed
        )
        over = pause.paused and not after.paused
        if self.config.failsafe_minutes and not self.dry_run and (pause.sweep or over):
            after = self._failsafe().swept(after, observed.targets, errors)  # lost schedules
        if errors:
            run = failsafe_errors(run, self.state.run, errors)
        try:
            after = self.store.commit(after, plan, ended)
        except AwsError as e:
            log.error("the pause record was not written: %s", e)
            run = failed_run_record(run, f"the pause record was not written: {e}", ended)
        else:  # told once the record holds it, and only by the run that wrote it
            failures, clusters = acts.failures, observed.clusters
            story = Story(self.config, pause, after, plan, failures, clusters, restored, ended)
            warnings += self._tell(story)
        if warnings:
            run = replace(run, warnings=(*run.warnings, *warnings))
        # Recorded first, then logged: a line says what was done, not what was meant to be.
        recorded = self._record(State(after, run), ended, changes=changed(plan, acts.failures))
        self._log(plan, reading, acts, errors, warnings)
        if not recorded or run.last_result == "error":
            return Exit.FAILURE
        return Exit.STUCK if plan.alarms else Exit.OK

    def _tell(self, story: Story) -> list[str]:
        """The events of what this run did, on events_bus; warnings for those not told."""
        if self.dry_run or self.config.events_bus is None or not story.told:
            return []
        from .events import publish

        events = self.aws.client("events", self.config.events_region or "")
        return publish(events, story, self.deadline + TELL_SECONDS)

    def _run_record(self, reading: Reading, acts: Acts, ended: datetime) -> RunRecord:
        run = next_run_record(
            self.state.run,
            reading.plan,
            reading.observed,
            acts.failures,
            ended,
            reading.warnings,
            acts.writes,
        )
        left = [f for f in acts.unset.values() if f.left]
        run = replace(run, pending=run.pending + len(left))
        if reading.scan is not None:
            run = replace(run, scan=reading.scan, scanned_at=iso(self.started))
        else:  # a run that asked by name keeps the scan it asked from, until it is too old
            run = replace(run, scan=self.state.run.scan, scanned_at=self.state.run.scanned_at)
        return run

    def _log(
        self, plan: Plan, reading: Reading, acts: Acts, errors: list[str], warnings: list[str]
    ) -> None:
        for level, line in run_lines(plan, reading.observed, self.dry_run, acts.failures):
            log.log(level, "%s", line)
        moved = moved_line({k: s for k, s in acts.armed.items() if k in acts.scheduled})
        if moved:
            log.info("%s", moved)
        for line in warnings:
            log.warning("%s", line)
        for error in errors:
            log.error("%s", error)
        alarms: set[str] = set()
        for verdict in plan.verdicts.values():
            if verdict.alarm and verdict.alarm not in alarms:
                alarms.add(verdict.alarm)
                log.error("%s", verdict.alarm, extra={"stuck": verdict.pause})

    def _schedules(
        self, before: PauseRecord, after: PauseRecord, acts: Acts
    ) -> Mapping[str, Schedule]:
        """The schedules after the failsafe's writes: one set is recorded as set, one not set
        stays recorded as maybe set (and is set again next run), one removed or past its time
        goes, one that could not be removed stays until its time has passed."""
        schedules = dict(before.schedules)
        plan = acts.schedules
        if plan is None or self.dry_run:
            return schedules
        for key, schedule in acts.armed.items():  # set, and what it replaces removed; or not
            done = key in acts.scheduled
            schedules[key] = replace(
                schedule, unset=not done, replaces=() if done else schedule.replaces
            )
        for key in plan.forget:
            schedules.pop(key, None)
        for key in plan.disarm:
            if key in acts.scheduled:
                schedules.pop(key, None)
        return schedules

    def _skipped(self) -> Exit:
        """Another run holds the record: skipped, exit 0, counted for `status --check`."""
        run, by, ahead = self.state.run, self.store.held_by, self.clock.ahead
        run = replace(run, skipped=run.skipped + 1, skipped_at=iso(self.started), skipped_by=by)
        write_state(self.config, State(self.state.pause, replace(run, clock_ahead=ahead)), False)
        return Exit.OK  # in the state file's run record, not the metrics: no run was made

    def _failed(self, e: Exception, pause: PauseRecord) -> Exit:
        error = str(e) if isinstance(e, AwsError) else f"run failed: {type(e).__name__}: {e}"
        log.error("%s; the autoscaler was left as it is", error)
        log.debug("%s", traceback.format_exc())
        self.store.give_back()
        ended = self.clock.now()
        self._record(State(pause, failed_run_record(self.state.run, error, self.started)), ended)
        return Exit.FAILURE

    def _record(self, after: State, ended: datetime, changes: int = 0) -> bool:
        seconds, calls = time.monotonic() - self.began, self.aws.calls - self.calls
        before = self.state.pause
        durable = (after.pause.saved, after.pause.schedules) != (before.saved, before.schedules)
        run = replace(after.run, skipped=0, skipped_at=None, skipped_by=None)  # this one ran
        after = State(after.pause, replace(run, clock_ahead=self.clock.ahead))
        return self.dry_run or record(self.config, after, seconds, calls, ended, durable, changes)

    def _write_pause(self, pause: PauseRecord) -> None:
        """The pause record, before the run acts, with the run record as it was."""
        write_state(self.config, State(pause, self.state.run))


def record_store(
    config: Config,
    aws: Aws,
    holder: str,
    dry_run: bool,
    write_state: Callable[[PauseRecord], None],
) -> RecordStore:
    if not config.state_table:
        return FileRecordStore(config, write_state)
    from .lease import LeasedItem
    from .table_record import TableRecordStore

    dynamodb = aws.client("dynamodb", config.record_region or "")
    table, seconds = config.state_table, config.lease_seconds
    item = LeasedItem(dynamodb, table, config.pauser_name, holder, seconds)
    return TableRecordStore(item, config, dry_run)


def default_holder() -> str:
    """This run in a lease: the host's name and the process id."""
    return f"{socket.gethostname()}:{os.getpid()}"
