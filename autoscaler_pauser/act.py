"""Making the changes a plan holds: the ECS service first, one change at a time, then the
scalable targets on a pool of workers sharing the clients. A throttled write is tried again
after a pause that the whole pool keeps, so a throttle slows the writes down instead of failing
targets; no write starts after the run's time for writes, and what is left is left for the next
run."""

from __future__ import annotations

import logging
import math
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping, Sequence

from .aws import AwsError
from .decide import Plan
from .model import Change, Failure
from .targets import TargetKind

log = logging.getLogger("autoscaler-pauser")

NOT_TRIED = "not tried: the run's time for writes was spent; next run"
# The pool's pause after a throttle: doubled at each throttle in a row, up to the most.
BACKOFF_FIRST, BACKOFF_MOST = 0.5, 8.0


def act(
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
    first = [c for c in plan.changes if not owners[c.key].parallel]
    rest = rotated([c for c in plan.changes if owners[c.key].parallel], rotation)
    failures = Writes(first, owners, deadline, monotonic, sleep).run(1)
    failures.update(Writes(rest, owners, deadline, monotonic, sleep).run(workers))
    return failures


def rotated(changes: Sequence[Change], by: int) -> list[Change]:
    if not changes:
        return []
    by %= len(changes)
    return [*changes[by:], *changes[:by]]


class Writes:
    """A queue of changes that workers take one at a time: a change is never made by two
    workers at once, and one that was throttled goes to the back of the queue."""

    def __init__(
        self,
        changes: Sequence[Change],
        owners: Mapping[str, TargetKind],
        deadline: float,
        monotonic: Callable[[], float],
        sleep: Callable[[float], None],
    ):
        self.todo = deque(changes)
        self.owners, self.deadline = owners, deadline
        self.monotonic, self.sleep = monotonic, sleep
        self.failures: dict[str, Failure] = {}
        self.lock = threading.Lock()
        self.backoff, self.resume_at = 0.0, 0.0

    def run(self, workers: int) -> dict[str, Failure]:
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
        for change in self.todo:
            self.failures[change.key] = Failure(NOT_TRIED, left=True)
        return self.failures

    def work(self) -> None:
        while True:
            change, wait = self.next()
            if change is not None:
                self.write(change)
            elif wait > 0:
                self.sleep(wait)
            else:
                return

    def next(self) -> tuple[Change | None, float]:
        """The next change to make; else how long to wait for one (0: nothing more to do)."""
        with self.lock:
            now = self.monotonic()
            if not self.todo or now > self.deadline:
                return None, 0.0
            if now < self.resume_at:
                return None, min(self.resume_at, self.deadline) - now + 0.001
            return self.todo.popleft(), 0.0

    def write(self, change: Change) -> None:
        try:
            self.owners[change.key].apply(change)
        except AwsError as e:
            if e.throttled:
                self.throttled(change, e)
                return
            self.fail(change, Failure(str(e), e.changed))
        except Exception as e:  # not the AWS call's failure: a fault of this run, as loud
            log.debug("%s", traceback.format_exc())
            self.fail(change, Failure(f"failed: {type(e).__name__}: {e}"))
        else:
            with self.lock:
                self.backoff = 0.0

    def throttled(self, change: Change, error: AwsError) -> None:
        with self.lock:
            self.backoff = min(max(self.backoff * 2, BACKOFF_FIRST), BACKOFF_MOST)
            self.resume_at = max(self.resume_at, self.monotonic() + self.backoff)
            self.todo.append(change)
        log.debug("%s: %s; all writes wait %.1fs", change.label, error, self.backoff)

    def fail(self, change: Change, failure: Failure) -> None:
        with self.lock:
            self.failures[change.key] = failure
