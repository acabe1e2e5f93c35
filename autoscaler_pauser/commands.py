"""The commands that change AWS: one run under the host's file lock, and the loop that makes a
run every interval in one process."""

from __future__ import annotations

import contextlib
import errno
import logging
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


# Where the soft lock's marker goes on a filesystem without flock, beside the lock file: the lock
# file itself is there already (check_files makes it, and an flock leaves it), and a soft lock is a
# file's existence, so a marker on its path would be one no run could take.
SOFT_MARKER = ".soft"


@contextlib.contextmanager
def host_lock(path: str, timeout: float) -> Iterator[None]:
    """The host's lock for a run: filelock's FileLock on the lock file (an flock; the file made
    0600), waited for up to `timeout` seconds, else LockHeld. The kernel lets it go when the
    process ends, however it ends. On a filesystem without flock (ENOSYS), filelock's
    SoftFileLock on `path` + SOFT_MARKER instead, said in a WARNING: a marker file that names
    this process, which a later run takes over once this process is gone."""
    import filelock  # here, not at the top: cli names a missing package before this loads

    def take(lock: filelock.BaseFileLock) -> filelock.BaseFileLock:
        try:
            lock.acquire(timeout=timeout)
        except filelock.Timeout:
            raise LockHeld from None
        return lock

    try:
        lock = take(filelock.FileLock(path, mode=0o600, fallback_to_soft=False))
    except OSError as e:
        if e.errno != errno.ENOSYS:
            raise
        marker = path + SOFT_MARKER
        log.warning("%s: no flock on this filesystem; the lock is a soft lock, %s", path, marker)
        lock = take(filelock.SoftFileLock(marker, mode=0o600))
    try:
        yield
    finally:
        lock.release()


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
