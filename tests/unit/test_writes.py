"""make_changes(): the ECS service first, then a pool of writers; a throttle slows the pool
down; nothing starts after the deadline; no target is written twice. The kinds here stand for
the AWS edge."""

from __future__ import annotations

import threading
import time

import pytest

from autoscaler_pauser.aws import AwsError
from autoscaler_pauser.decide import Plan, Verdict
from autoscaler_pauser.model import SCALING, SUSPENDED, Change, Why
from autoscaler_pauser.writes import BACKOFF_FIRST, BACKOFF_MOST, Job, make_changes, rotated


def changes(prefix: str, count: int) -> list[Change]:
    return [
        Change(f"{prefix}{i}", f"{prefix}{i}", Why.PAUSE, SCALING, SUSPENDED) for i in range(count)
    ]


class Kind:
    """Records every write it is asked for: when it began and ended, how many ran at once, and on
    which threads. `together`: a barrier the first writes wait at until as many have begun as it
    has parties, so that they run at once (or, if the pool never has that many running, the
    barrier breaks and those writes fail)."""

    def __init__(self, parallel: bool, seconds: float = 0.0, journal=None, together=None):
        self.parallel, self.seconds, self.together = parallel, seconds, together
        self.journal = journal if journal is not None else []
        self.lock = threading.Lock()
        self.running = self.most = self.begun = 0
        self.threads: set[str] = set()

    def apply(self, change: Change) -> None:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.journal.append(("begin", change.key))
            self.threads.add(threading.current_thread().name)
            self.begun += 1
            wait = self.together is not None and self.begun <= self.together.parties
        if wait:
            self.together.wait()
        time.sleep(self.seconds)
        with self.lock:
            self.running -= 1
            self.journal.append(("end", change.key))


def test_the_service_is_done_before_any_table_write_begins():
    journal = []
    service, tables = Kind(False, 0.05, journal), Kind(True, 0.01, journal)
    first, rest = changes("svc", 2), changes("t", 20)
    owners = {c.key: service for c in first} | {c.key: tables for c in rest}
    assert (
        make_changes(Plan({"*": Verdict(True, "why")}, (*rest, *first), {}), owners, workers=10)
        == {}
    )
    order = [key for what, key in journal if what == "begin"]
    assert order[:2] == ["svc0", "svc1"]
    last_service_end = max(i for i, (what, key) in enumerate(journal) if key.startswith("svc"))
    first_table_begin = min(i for i, (what, key) in enumerate(journal) if key.startswith("t"))
    assert last_service_end < first_table_begin


def test_the_pool_writes_each_target_once_with_up_to_the_workers_at_once():
    # The first ten writes wait for each other: ten run at once, however the threads are
    # scheduled. Each thread makes one write at a time, so no more run at once than threads.
    tables = Kind(True, together=threading.Barrier(10, timeout=30))
    rest = changes("t", 60)
    assert (
        make_changes(
            Plan({"*": Verdict(True, "why")}, tuple(rest), {}),
            {c.key: tables for c in rest},
            workers=10,
        )
        == {}
    )
    begun = [key for what, key in tables.journal if what == "begin"]
    assert sorted(begun) == sorted(c.key for c in rest), "each target once"
    assert len(tables.threads) == 10, "ten writers"
    assert tables.most == 10


class Throttled(Kind):
    """Application Auto Scaling throttling the first `times` writes to some targets."""

    def __init__(self, throttle: set[str], times: int):
        super().__init__(True)
        self.left = dict.fromkeys(throttle, times)

    def apply(self, change: Change) -> None:
        super().apply(change)
        with self.lock:
            if self.left.get(change.key, 0) > 0:
                self.left[change.key] -= 1
                raise AwsError(
                    "RegisterScalableTarget failed: ThrottlingException: Rate exceeded",
                    code="ThrottlingException",
                )


class FakeTime:
    """The pool's clock: it moves only when a writer sleeps, and keeps each wait. Writers that
    sleep at once share the time that passes: a sleep ends `seconds` after the time its writer
    last read, so time never moves further than the longest of them (it does not add them up)."""

    def __init__(self):
        self.now = 0.0
        self.waits: list[float] = []
        self.lock = threading.Lock()
        self.read = threading.local()  # the time this thread last read

    def monotonic(self) -> float:
        with self.lock:
            self.read.at = self.now
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.waits.append(seconds)
            self.now = max(self.now, getattr(self.read, "at", self.now) + seconds)


def test_a_throttle_slows_the_pool_down_instead_of_failing_targets():
    rest = changes("t", 30)
    kind = Throttled({"t3", "t7", "t20"}, times=2)
    clock = FakeTime()
    failures = make_changes(
        Plan({"*": Verdict(True, "why")}, tuple(rest), {}),
        {c.key: kind for c in rest},
        deadline=100,
        workers=4,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
    )
    assert failures == {}, "every throttled target was written in the end"
    assert sorted({key for what, key in kind.journal if what == "end"}) == sorted(
        c.key for c in rest
    )
    assert clock.waits, "the pool waited after a throttle"


# name -> (how many targets, those throttled on their first three tries, and for
# each wait of the pool, the number of throttles in a row before it: it waits BACKOFF_FIRST
# doubled that many times, up to BACKOFF_MOST)
BACKOFFS = {
    "throttles in a row": (2, {"t0", "t1"}, [0, 1, 2, 3, 4, 5]),
    "a write that goes through in between": (3, {"t0", "t1"}, [0, 1, 0, 1, 2, 3]),
}


@pytest.mark.parametrize("name", list(BACKOFFS))
def test_after_each_throttle_in_a_row_the_pool_waits_twice_as_long_up_to_the_most(name):
    """One writer, so the order of the writes is the queue's and each wait is exact."""
    count, throttled, doublings = BACKOFFS[name]
    rest = changes("t", count)
    kind = Throttled(throttled, times=3)
    clock = FakeTime()
    failures = make_changes(
        Plan(Verdict(True, "why"), tuple(rest), {}),
        {c.key: kind for c in rest},
        workers=1,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
    )
    assert failures == {}
    expected = [min(BACKOFF_FIRST * 2**n, BACKOFF_MOST) for n in doublings]
    assert clock.waits == pytest.approx(expected, abs=0.01)


def test_a_throttle_that_outlasts_the_run_fails_the_targets_it_held_up():
    rest = changes("t", 5)
    kind = Throttled({"t1"}, times=1000)
    clock = FakeTime()
    failures = make_changes(
        Plan({"*": Verdict(True, "why")}, tuple(rest), {}),
        {c.key: kind for c in rest},
        deadline=28,
        workers=2,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
    )
    assert list(failures) == ["t1"] and not failures["t1"].left, "a failure, not work left"
    assert failures["t1"].error.endswith("Rate exceeded, until the run's time was spent")


def test_the_order_is_rotated_so_that_no_target_is_always_last():
    jobs = [Job(c.key, c.label, lambda: None) for c in changes("t", 5)]
    assert [j.key for j in rotated(jobs, 2)] == ["t2", "t3", "t4", "t0", "t1"]
    assert [j.key for j in rotated(jobs, 7)] == ["t2", "t3", "t4", "t0", "t1"]
    assert rotated([], 3) == []
