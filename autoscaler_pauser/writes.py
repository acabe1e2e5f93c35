"""Making the changes a plan holds: the ECS service first, one change at a time, then the
scalable targets on a pool of workers sharing the clients. A throttled write is tried again
after a pause that the whole pool keeps, so a throttle slows the writes down instead of failing
targets; no write starts after the run's time for writes, and what is left is left for the next
run."""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .aws import AwsError
from .decide import Plan
from .model import Change, Failure
from .targets import TargetKind
from .timing import BACKOFF_FIRST, BACKOFF_MOST

log = logging.getLogger("autoscaler-pauser")

NOT_TRIED = "not tried: the run's time for writes was spent; next run"


def make_changes(
    plan: Plan,
    owners: Mapping[str, TargetKind],
    deadline: float = math.inf,
    workers: int = 1,
    rotation: int = 0,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Failure]:
    """Make each change; a failure on one target does not stop the others. The changes of kinds
    that go first (the ECS service and its own scaling target) are made one at a time before the
    others start, on `workers` threads, from the `rotation`-th on, so that no target is always
    last. Returns the failures by target; a change left untried is a Failure that is `left`."""
    first, rest = change_jobs(plan, owners)
    return write_jobs(first, rotated(rest, rotation), deadline, workers, monotonic, sleep)


@dataclass(frozen=True)
class Job:
    """A target's writes: its change, its failsafe schedule, or both in turn."""

    key: str
    label: str
    write: Callable[[], None]


class Steps:
    """Writes made in turn; called again (after a throttle), it goes on from the one that did
    not get through. `done`: how many did."""

    def __init__(self, *writes: Callable[[], None]):
        self.writes, self.done = writes, 0

    def __call__(self) -> None:
        while self.done < len(self.writes):
            self.writes[self.done]()
            self.done += 1


def change_jobs(
    plan: Plan,
    owners: Mapping[str, TargetKind],
    then: Mapping[str, Callable[[], None]] | None = None,
) -> tuple[list[Job], list[Job]]:
    """A job per change, with the write `then` names for its target after it; those of the
    kinds that go first, and the others."""
    then = then or {}

    def job(change: Change) -> Job:
        apply = functools.partial(owners[change.key].apply, change)
        after = then.get(change.key)
        return Job(change.key, change.label, apply if after is None else Steps(apply, after))

    first = [job(c) for c in plan.changes if not owners[c.key].parallel]
    rest = [job(c) for c in plan.changes if owners[c.key].parallel]
    return first, rest


def write_jobs(
    first: Sequence[Job],
    rest: Sequence[Job],
    deadline: float = math.inf,
    workers: int = 1,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Failure]:
    """The jobs of `first` one at a time, then the rest on `workers` threads; the failures."""
    failures = WritePool(first, deadline, monotonic, sleep, patient=False).drain(1)
    failures.update(WritePool(rest, deadline, monotonic, sleep).drain(workers))
    return failures


def rotated(jobs: Sequence[Job], by: int) -> list[Job]:
    if not jobs:
        return []
    by %= len(jobs)
    return [*jobs[by:], *jobs[:by]]


class WritePool:
    """A queue of jobs that workers take one at a time: a job is never run by two workers at
    once. `patient`: a throttled job goes to the back of the queue, and all wait, instead of
    failing (a job still throttled when the time is spent fails)."""

    def __init__(
        self,
        jobs: Sequence[Job],
        deadline: float,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        patient: bool = True,
    ):
        self.todo = deque(jobs)
        self.deadline, self.patient = deadline, patient
        self.monotonic, self.sleep = monotonic, sleep
        self.failures: dict[str, Failure] = {}
        self.throttles: dict[str, str] = {}  # job -> its last throttle
        self.lock = threading.Lock()
        self.backoff, self.resume_at = 0.0, 0.0

    def drain(self, workers: int) -> dict[str, Failure]:
        count = min(workers, len(self.todo))
        if count <= 1:
            self.work()
        else:
            threads = [
                threading.Thread(target=self.work, name=f"write-{i}", daemon=True)
                for i in range(count)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        for job in self.todo:
            throttled = self.throttles.get(job.key)
            if throttled is None:
                self.failures[job.key] = Failure(NOT_TRIED, left=True)
            else:
                self.failures[job.key] = Failure(f"{throttled}, until the run's time was spent")
        return self.failures

    def work(self) -> None:
        while True:
            job, wait = self.next()
            if job is not None:
                self.write(job)
            elif wait > 0:
                self.sleep(wait)
            else:
                return

    def next(self) -> tuple[Job | None, float]:
        """The next job to run; else how long to wait for one (0: nothing more to do)."""
        with self.lock:
            now = self.monotonic()
            if not self.todo or now > self.deadline:
                return None, 0.0
            if now < self.resume_at:
                return None, min(self.resume_at, self.deadline) - now + 0.001
            return self.todo.popleft(), 0.0

    def write(self, job: Job) -> None:
        try:
            job.write()
        except AwsError as e:
            if e.throttled and self.patient:
                self.throttled(job, e)
                return
            self.fail(job, Failure(str(e), e.changed))
        except Exception as e:  # not the AWS call's failure: a fault of this run, as loud
            log.debug("%s", traceback.format_exc())
            self.fail(job, Failure(f"failed: {type(e).__name__}: {e}"))
        else:
            with self.lock:
                self.backoff = 0.0

    def throttled(self, job: Job, error: AwsError) -> None:
        with self.lock:
            self.backoff = min(max(self.backoff * 2, BACKOFF_FIRST), BACKOFF_MOST)
            self.resume_at = max(self.resume_at, self.monotonic() + self.backoff)
            self.throttles[job.key] = str(error)
            self.todo.append(job)
        log.debug("%s: %s; all writes wait %.1fs", job.label, error, self.backoff)

    def fail(self, job: Job, failure: Failure) -> None:
        with self.lock:
            self.failures[job.key] = failure
