"""One run: observe → decide → act → record, under the lock; and the loop."""

from __future__ import annotations

import functools
import logging
import os
import socket
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from . import Exit
from .act import Job, Writes, act
from .aws import Aws, AwsError, list_matching_clusters
from .config import Config
from .decide import (
    Plan,
    decide,
    failed_run_record,
    failsafe_errors,
    failsafe_plan,
    intent_record,
    next_pause_record,
    next_run_record,
)
from .failsafe import Failsafe
from .metrics import metrics_text
from .model import (
    Failure,
    Observed,
    PauseRecord,
    RunRecord,
    Setting,
    State,
    TargetView,
    Why,
    iso,
    parse_iso,
)
from .pause import LocalPause, PauseStore, TablePause
from .report import run_lines
from .shared import SharedRecord
from .state import (
    StateFileError,
    UnusableState,
    check_files,
    load_state,
    read_state,
    state_to_json,
    write_json_atomic,
    write_text_atomic,
)
from .targets import TargetKind
from .targets.dynamodb import DynamoDbScaling, Scan, by_name_pays
from .targets.ecs import EcsService, EcsServiceScaling

log = logging.getLogger("autoscaler-pauser")

# No write starts later than this into a run: one call against a hung endpoint takes about 16 s
# (three tries), so a run still ends within 45 s, however many targets it has to change.
WRITE_BUDGET_SECONDS = 28


def target_kinds(
    config: Config, aws: Aws, known: Scan | None = None
) -> tuple[list[TargetKind], EcsServiceScaling | None]:
    """The kinds read on every run, and the service's scaling target, read only when needed.
    `known`: the tables' resource ids to ask for by name, or None to scan the namespace."""
    kinds: list[TargetKind] = []
    scaling = None
    if config.has_ecs:
        region = config.autoscaler_region
        service = EcsService(
            aws.client("ecs", region),
            config.autoscaler_cluster,
            config.autoscaler_service,
            config.resume_count,
        )
        kinds.append(service)
        scaling = EcsServiceScaling(aws.client("application-autoscaling", region), service)
    if config.dynamodb_tables:
        aas = aws.client("application-autoscaling", config.tables_region)
        kinds.append(DynamoDbScaling(aas, config.dynamodb_tables, known))
    return kinds, scaling


def observe_targets(
    kinds: Sequence[TargetKind],
) -> tuple[tuple[TargetView, ...], dict[str, TargetKind]]:
    owners: dict[str, TargetKind] = {}
    targets = []
    for kind in kinds:
        for view in kind.observe():
            owners[view.key] = kind
            targets.append(view)
    return tuple(targets), owners


@dataclass
class Reading:
    """What a run read and decided, and which kind owns each target."""

    observed: Observed
    plan: Plan
    owners: dict[str, TargetKind]
    warnings: list[str] = field(default_factory=list)
    scan: Scan | None = None  # the tables' targets, if this run scanned the whole namespace


def observe_and_decide(
    config: Config, aws: Aws, record: PauseRecord, now: datetime, run: RunRecord | None = None
) -> Reading:
    """Read, decide, and if the plan touches the ECS service, read its scaling target too and
    decide again, so that a steady run stays at one read per kind. EMR first: if it fails,
    nothing else is asked or changed. The tables' targets are asked for by name when that is
    cheaper, from `run`'s last scan, unless a pause may begin (a new index must not be missed)."""
    clusters = list_matching_clusters(aws.emr, config.emr_prefix)
    last = run.scan if run is not None and not (clusters and not record.paused) else None
    known = last if by_name_pays(last, parse_iso(run.scanned_at) if run else None, now) else None
    kinds, scaling = target_kinds(config, aws, known)
    targets, owners = observe_targets(kinds)
    observed = Observed(clusters, targets)
    scans = [k.scan for k in kinds if isinstance(k, DynamoDbScaling) and k.scan is not None]
    reading = Reading(
        observed, decide(observed, record, config, now), owners, scan=next(iter(scans), None)
    )
    if scaling is None or not needs_scaling_target(reading.plan, record, scaling):
        return reading
    try:
        more, more_owners = observe_targets([scaling])
    except AwsError as e:
        if not e.denied:
            raise
        # Pausing the service matters more than its scaling target: go on without it.
        reading.warnings.append(
            f"{scaling.service.service}'s own scaling target was not checked: {e}; if the "
            "service has one, its scale-out alarms or scheduled actions could lift the count "
            "during the pause: allow application-autoscaling:DescribeScalableTargets and "
            "RegisterScalableTarget (README, IAM permissions)"
        )
        return reading
    owners.update(more_owners)
    observed = Observed(observed.clusters, more + observed.targets)
    plan = decide(observed, record, config, now)
    return Reading(observed, plan, owners, reading.warnings, reading.scan)


def needs_scaling_target(plan: Plan, record: PauseRecord, scaling: EcsServiceScaling) -> bool:
    """The service's scaling target is read when the service is about to change, or at resume
    when a record of its earlier suspension is left."""
    touched = any(c.key == scaling.service.key for c in plan.changes)
    recorded = scaling.service.saved_scaling is not None or scaling.key in record.saved
    return touched or (recorded and not plan.verdict.pause)


def record(config: Config, state: State, seconds: float, calls: int, now: datetime) -> bool:
    """Write the state file, then the metrics file; False if the metrics could not be written."""
    write_json_atomic(config.state_file, state_to_json(state, config))
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
    return Run(config, aws, now, dry_run, holder or default_holder(), budget)()


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
        self.store = pause_store(config, aws, holder, dry_run, self._write_pause)

    def __call__(self) -> Exit:
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
            self.store.intend(intent, self.started)
        rotation = int(self.started.timestamp() // 60)  # another start each minute
        return act(plan, owners, self.deadline, self.config.write_workers, rotation)

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
            after = self.store.keep(after, plan, ended)
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
        failures = Writes(jobs, self.deadline).run(self.config.write_workers)
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

    def _scheduler(self, where: str) -> Any:
        region = self.config.tables_region if where == "tables" else self.config.autoscaler_region
        return self.aws.client("scheduler", region)

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
            self.config.state_file, state_to_json(State(pause, self.state.run), self.config)
        )


def pause_store(
    config: Config,
    aws: Aws,
    holder: str,
    dry_run: bool,
    write_state: Callable[[PauseRecord], None],
) -> PauseStore:
    if not config.state_table:
        return LocalPause(write_state)
    dynamodb = aws.client("dynamodb", config.record_region)
    name, seconds = config.pauser_name, config.lease_seconds
    shared = SharedRecord(dynamodb, config.state_table, name, holder, seconds)
    return TablePause(shared, dry_run)


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


def locked_run(config: Config, aws: Aws, now: Callable[[], datetime]) -> Exit:
    from filelock import FileLock, Timeout

    check_files(config)
    lock = FileLock(config.lock_path, timeout=config.lock_timeout, mode=0o600)
    try:
        with lock:
            return run_once(config, aws, now, dry_run=False)
    except Timeout:
        log.warning(
            "another run holds %s after %gs; this run is skipped",
            config.lock_path,
            config.lock_timeout,
        )
        return Exit.OK


def cmd_run(
    config: Config, aws_factory: Callable[[Config], Aws], now: Callable[[], datetime], dry_run: bool
) -> Exit:
    if dry_run:
        return run_once(config, aws_factory(config), now, dry_run=True)
    return locked_run(config, aws_factory(config), now)


def cmd_loop(
    config: Config,
    aws_factory: Callable[[Config], Aws],
    now: Callable[[], datetime],
    interval: float,
) -> Exit:
    """The same run every interval in one process, reusing the AWS clients, until SIGTERM or
    SIGINT, which end it between runs. A failed run is logged and the loop goes on."""
    import signal
    import threading

    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("%s received: stopping after this run", signal.Signals(signum).name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    check_files(config)  # an unusable state path at the start ends the loop, with exit 2
    aws = aws_factory(config)
    log.info("loop: a run every %gs; SIGTERM or SIGINT stops it", interval)
    while not stop.is_set():
        began = time.monotonic()
        try:
            code = locked_run(config, aws, now)
        except StateFileError as e:  # the state folder went away mid-loop
            log.error("%s; this run was skipped", e)
            code = Exit.FAILURE
        except Exception as e:
            log.error("run failed: %s: %s", type(e).__name__, e)
            code = Exit.FAILURE
        if code not in (Exit.OK, Exit.STUCK):
            log.warning("run ended with exit code %d; the loop goes on", code)
        stop.wait(max(0.0, interval - (time.monotonic() - began)))
    log.info("loop stopped")
    return Exit.OK
