"""The host's lock around a run: an flock on the lock file, waited for up to lock_timeout, and
never a change to the file it locks. (That the kernel lets it go when a run is killed, the kill
tests of tests/e2e/test_faults.py show.)"""

from __future__ import annotations

import fcntl
import os

import pytest

from autoscaler_pauser.commands import LockHeld, host_lock


def test_a_held_lock_is_waited_for_then_given_up(tmp_path):
    path = str(tmp_path / "run.lock")
    with host_lock(path, 0), pytest.raises(LockHeld), host_lock(path, 0.1):
        pass
    with host_lock(path, 0):  # let go: taken again at once
        pass


def test_the_locked_file_is_made_private_and_never_emptied(tmp_path):
    path = tmp_path / "run.lock"
    with host_lock(str(path), 0):
        assert oct(path.stat().st_mode & 0o777) == "0o600"
    path.write_text("kept")
    with host_lock(str(path), 0):
        held = os.open(path, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(held)
    assert path.read_text() == "kept"
