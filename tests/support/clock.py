"""A clock for main(now=…): it stands still until a test moves it; and waits that do not wait."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self, start: datetime = T0):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


class Waits:
    """time.monotonic and time.sleep for code that waits between tries, without the waiting: a
    sleep returns at once and moves the clock on by as long. `start`: where the clock starts;
    None: it reads the real monotonic clock plus the sleeps, for code that sets its deadline by
    the real one."""

    def __init__(self, start: float | None = None):
        self.start, self.slept, self.passed = start, [], 0.0

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def advance(self, seconds: float) -> None:
        """Time passes otherwise than in a sleep (a call that takes long)."""
        self.passed += seconds

    def monotonic(self) -> float:
        now = time.monotonic() if self.start is None else self.start
        return now + sum(self.slept) + self.passed

    def install(self, monkeypatch, module) -> Waits:
        """In place of `module`'s monotonic and sleep."""
        monkeypatch.setattr(module, "monotonic", self.monotonic)
        monkeypatch.setattr(module, "sleep", self.sleep)
        return self
