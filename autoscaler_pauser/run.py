"""One run: observe → decide → act → record, under the lock; and the loop."""

from __future__ import annotations

import functools
import logging
import os
import socket
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from . import Exit
from .aws import Aws, AwsError
from .config import Config
from .decide import (
    Plan,
    failed_run_record,
    failsafe_errors,
    failsafe_plan,
    intent_record,
    next_pause_record,
    next_run_record,
)
from .failsafe import Failsafe
from .lease import LeasedItem
from .metrics import metrics_text
from .model import (
    Failure,
    PauseRecord,
    Setting,
    State,
    Why,
    iso,
)
from .observe import Reading, observe_and_decide
from .record_store import FileRecordStore, RecordStore, TableRecordStore
from .report import run_lines
from .state_file import (
    UnusableState,
    load_state,
    read_state,
    state_to_json,
    write_json_atomic,
    write_text_atomic,
)
from .targets import TargetKind, region_of
from .targets.ecs import EcsService
from .timing import WRITE_BUDGET_SECONDS
from .writes import Job, WritePool, make_changes

log = logging.getLogger("autoscaler-pauser")


def record(config: Config, state: State, seconds: float, calls: int, now: datetime) -> bool:
    """Write the state file, then the metrics file; False if the metrics could not be written."""
    write_json_atomic(config.state_file, state_to_json(state, EcsService.configured_key(config)))
    if not config.metrics_file:
        return True
    try:
        # Readable by node_exporter, which runs as another user; it holds no secret.
        text = metrics_text(state, seconds, calls, now)
        write_text_atomic(config.metrics_file, text, mode=0o644)
    except OSError as e:
        log.error("metrics_file: cannot write %s: %s", config.metrics_file, e.strerror or e)
        return False
    return True


def run_once(
    config: Config,
    aws: Aws,
    now: Callable[[], datetime],
    dry_run: bool,
    holder: str = "",
    budget: float = WRITE_BUDGET_SECONDS,
) -> Exit:
    """One reconcile, the lock already held (or not needed for a dry run). `holder` names this
    run in the lease of state_table; no write starts `budget` seconds after the start."""
    return Run(config, aws, now, dry_run, holder or default_holder(), budget).reconcile()


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
        self.config, self.aws, self.now, self.dry_run = config, aws, now, dry_run
        self.started, self.calls, self.clock = now(), aws.calls, time.monotonic()
        self.deadline = self.clock + budget
        self.state = _state(config, self.started, dry_run)
        self.store = record_store(config, aws, holder, dry_run, self._write_pause)

    def reconcile(self) -> Exit:
        pause: PauseRecord | None = None
        try:
            pause = self.store.take(self.state.pause, self.started)
            if pause is None:
                return Exit.OK
            reading = observe_and_decide(self.config, self.aws, pause, self.started, self.state.run)
            for warning in reading.warnings:
                log.warning("%s", warning)
            failures = self._act(pause, reading.plan, reading.owners)
        except Exception as e:  # nothing was changed: say why, and leave
            return self._failed(e, pause or self.state.pause)
        return self._finish(pause, reading, failures)

    def _act(
        self, pause: PauseRecord, plan: Plan, owners: Mapping[str, TargetKind]
    ) -> dict[str, Failure]:
        """The changes, after the pre-pause settings they save are recorded."""
        if self.dry_run:
            return {}
        intent = intent_record(pause, plan, self.started)
        if intent is not None:
            self.store.write_ahead(intent, self.started)
        rotation = int(self.started.timestamp() // 60)  # another start each minute
        return make_changes(plan, owners, self.deadline, self.config.write_workers, rotation)

    def _finish(self, pause: PauseRecord, reading: Reading, failures: dict[str, Failure]) -> Exit:
        observed, plan, ended = reading.observed, reading.plan, self.now()
        after = next_pause_record(pause, plan, failures, ended)
        run = next_run_record(self.state.run, plan, observed, failures, ended, reading.warnings)
        if reading.scan is not None:
            run = replace(run, scan=reading.scan, scanned_at=iso(self.started))
        labels = {t.key: t.label for t in observed.targets}
        paused = {
            c.key
            for c in plan.changes
            if c.why is Why.PAUSE and (c.key not in failures or failures[c.key].changed)
        }
        after, unset = self._failsafe(after, labels, ended, paused)
        if unset:
            run = failsafe_errors(run, self.state.run, unset)
        try:
            after = self.store.commit(after, plan, ended)
        except AwsError as e:
            log.error("the pause record was not written: %s", e)
            run = failed_run_record(run, f"the pause record was not written: {e}", ended)
        # Recorded first, then logged: a line says what was done, not what was meant to be.
        recorded = self._record(State(after, run), ended)
        for level, line in run_lines(plan, observed, self.dry_run, failures):
            log.log(level, "%s", line)
        for error in unset:
            log.error("%s", error)
        if plan.verdict.alarm:
            log.error("%s", plan.verdict.alarm, extra={"stuck": plan.verdict.pause})
        if not recorded or run.last_result == "error":
            return Exit.FAILURE
        return Exit.STUCK if plan.verdict.alarm else Exit.OK

    def _failsafe(
        self, record: PauseRecord, labels: Mapping[str, str], now: datetime, paused: set[str]
    ) -> tuple[PauseRecord, list[str]]:
        """Set, move or remove the failsafe schedules the record calls for; the record with
        their due times, and what could not be done. A failure here never undoes the pause."""
        minutes = self.config.failsafe_minutes
        if self.dry_run or not (minutes or record.failsafe):
            return record, []
        plan = failsafe_plan(record, minutes, now, paused)
        if not plan.arm and not plan.disarm:
            return record, []
        failsafe = Failsafe(
            self._scheduler,
            self.config.failsafe_group,
            self.config.failsafe_role_arn or "arn:aws:iam::0:role/none",
            self.config.pauser_name,
        )

        def arm(key: str, setting: Setting) -> Job:
            there = key in record.failsafe and key not in paused  # not fired in between
            run = functools.partial(failsafe.arm, key, setting, plan.due, there)
            return Job(key, labels.get(key, key), run)

        jobs = [arm(key, setting) for key, setting in plan.arm.items()]
        jobs += [
            Job(key, labels.get(key, key), functools.partial(failsafe.disarm, key))
            for key in plan.disarm
        ]
        failures = WritePool(jobs, self.deadline).drain(self.config.write_workers)
        due = dict(record.failsafe)
        due.update({key: plan.due for key in plan.arm if key not in failures})
        for key in plan.disarm:
            if key not in failures:
                del due[key]
        unset = [
            f"could not set the failsafe of {labels.get(key, key)}: {f.error}"
            for key, f in failures.items()
        ]
        return replace(record, failsafe=due), unset

    def _scheduler(self, key: str) -> Any:
        return self.aws.client("scheduler", region_of(key, self.config))

    def _failed(self, e: Exception, pause: PauseRecord) -> Exit:
        error = str(e) if isinstance(e, AwsError) else f"run failed: {type(e).__name__}: {e}"
        log.error("%s; the autoscaler was left as it is", error)
        log.debug("%s", traceback.format_exc())
        self.store.give_back()
        self._record(
            State(pause, failed_run_record(self.state.run, error, self.started)), self.now()
        )
        return Exit.FAILURE

    def _record(self, after: State, ended: datetime) -> bool:
        seconds, calls = time.monotonic() - self.clock, self.aws.calls - self.calls
        return self.dry_run or record(self.config, after, seconds, calls, ended)

    def _write_pause(self, pause: PauseRecord) -> None:
        """The pause record, before the run acts, with the run record as it was."""
        write_json_atomic(
            self.config.state_file,
            state_to_json(State(pause, self.state.run), EcsService.configured_key(self.config)),
        )


def record_store(
    config: Config,
    aws: Aws,
    holder: str,
    dry_run: bool,
    write_state: Callable[[PauseRecord], None],
) -> RecordStore:
    if not config.state_table:
        return FileRecordStore(write_state)
    dynamodb = aws.client("dynamodb", config.record_region)
    name, seconds = config.pauser_name, config.lease_seconds
    shared = LeasedItem(dynamodb, config.state_table, name, holder, seconds)
    return TableRecordStore(shared, dry_run)


def default_holder() -> str:
    """This run in a lease: the host's name and the process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _state(config: Config, now: datetime, dry_run: bool) -> State:
    """The state file; a dry run leaves one that cannot be understood where it is."""
    if not dry_run:
        return read_state(config.state_file, now)
    try:
        return load_state(config.state_file)
    except UnusableState as e:
        log.warning(
            "state file %s is not usable (%s); a run would move it aside", config.state_file, e
        )
        return State()
