"""The host's lock around a run: filelock's FileLock (an flock) on the lock file, waited for up
to lock_timeout; on a filesystem without flock, filelock's SoftFileLock on a marker beside it,
said in a WARNING. Another process holding it makes this one wait, then give up; killed, it
holds nothing (the kernel lets an flock go; a soft lock's marker names a process that is gone)."""

from __future__ import annotations

import fcntl
import logging
import os
import subprocess
import sys

import pytest

from autoscaler_pauser.commands import SOFT_MARKER, LockHeld, host_lock
from tests.support.locks import no_flock
from tests.support.tool import ROOT

# Another run's process: takes the lock, says so, and holds it until it is killed.
HOLDER = """
import fcntl, sys, time
from autoscaler_pauser.commands import host_lock
from tests.support.locks import no_flock
if sys.argv[2] == "no flock":
    fcntl.flock = no_flock
with host_lock(sys.argv[1], 0):
    print("held", flush=True)
    time.sleep(600)
"""


@pytest.fixture
def logged(caplog, monkeypatch):
    """The tool's log records, each once (its logger does not propagate once a test in this
    process has run main(), and may not yet)."""
    logger = logging.getLogger("autoscaler-pauser")
    monkeypatch.setattr(logger, "propagate", False)
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def test_a_held_lock_is_waited_for_then_given_up(tmp_path):
    path = str(tmp_path / "run.lock")
    with host_lock(path, 0), pytest.raises(LockHeld), host_lock(path, 0.1):
        pass
    with host_lock(path, 0):  # let go: taken again at once
        pass


def test_the_lock_file_is_made_private_and_holds_an_flock(tmp_path):
    """An flock, as another run or `flock(1)` in a script takes it. (What the file holds is
    filelock's: a lock on the state file is refused by check_files, tests/unit/test_state_paths.)"""
    path = tmp_path / "run.lock"
    with host_lock(str(path), 0):
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        held = os.open(path, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(held)
    assert not (tmp_path / ("run.lock" + SOFT_MARKER)).exists()


@pytest.mark.parametrize("flock", ["flock", "no flock"])
def test_a_lock_another_process_holds_is_given_up_and_is_free_once_it_is_killed(
    tmp_path, monkeypatch, flock
):
    if flock == "no flock":
        monkeypatch.setattr(fcntl, "flock", no_flock)
    path = str(tmp_path / "run.lock")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, path, flock], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(LockHeld), host_lock(path, 0.2):
            pass
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    with host_lock(path, 30):  # at once with an flock; a soft lock's dead holder is taken over
        pass


def test_without_flock_the_lock_is_a_soft_lock_beside_the_lock_file_said_once(
    tmp_path, monkeypatch, logged
):
    monkeypatch.setattr(fcntl, "flock", no_flock)
    path = tmp_path / "run.lock"
    path.touch(0o600)  # as check_files leaves it before every run
    marker = tmp_path / ("run.lock" + SOFT_MARKER)
    with host_lock(str(path), 0):
        assert oct(marker.stat().st_mode & 0o777) == "0o600"
        assert [(r.levelname, r.getMessage()) for r in logged.records] == [
            (
                "WARNING",
                f"{path}: no flock on this filesystem; the lock is a soft lock, {marker}",
            )
        ]
        with pytest.raises(LockHeld), host_lock(str(path), 0.1):
            pass
    assert not marker.exists()
    with host_lock(str(path), 0):  # let go: taken again at once
        pass


def test_a_lock_file_that_cannot_be_locked_for_another_reason_is_an_error(tmp_path, monkeypatch):
    def bad_descriptor(fd, operation):
        raise OSError(9, os.strerror(9))

    monkeypatch.setattr(fcntl, "flock", bad_descriptor)
    with pytest.raises(OSError, match="Bad file descriptor"), host_lock(str(tmp_path / "l"), 0):
        pass
    assert not (tmp_path / ("l" + SOFT_MARKER)).exists()
