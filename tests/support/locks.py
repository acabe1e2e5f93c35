"""A filesystem without flock, as some network and FUSE filesystems are: flock fails with ENOSYS,
which `monkeypatch.setattr(fcntl, "flock", no_flock)` gives this process (and filelock in it)."""

from __future__ import annotations

import errno
import os


def no_flock(fd: int, operation: int) -> None:
    raise OSError(errno.ENOSYS, os.strerror(errno.ENOSYS))
