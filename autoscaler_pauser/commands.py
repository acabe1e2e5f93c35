"""The commands that change AWS: one run under the host's file lock, and the loop that makes a
run every interval in one process."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from . import Exit
from .aws import Aws
from .config import Config
from .run import run_once
from .state_file import StateFileError, check_files

log = logging.getLogger("autoscaler-pauser")


class LockHeld(Exception):
    """Another run held the host's lock for longer than this one would wait."""


@contextlib.contextmanager
def host_lock(path: str, timeout: float) -> Iterator[None]:
    """The host's lock for a run: an exclusive flock on the lock file (made 0600, never
    truncated), waited for up to `timeout` seconds, else LockHeld. The kernel lets it go when
    the file is closed, however the process ends."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LockHeld from None
                time.sleep(min(0.05, left))
        yield
    finally:
        os.close(fd)


def locked_run(config: Config, aws: Aws, now: Callable[[], datetime]) -> Exit:
    check_files(config)
    try:
        with host_lock(config.lock_path, config.lock_timeout):
            return run_once(config, aws, now, dry_run=False)
    except LockHeld:
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
