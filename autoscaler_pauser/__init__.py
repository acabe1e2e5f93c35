"""Pause a DynamoDB throughput autoscaler while backup EMR clusters run."""

import enum

__version__ = "1.0.0"


class Exit(enum.IntEnum):
    OK = 0  # done, or skipped because another run holds the lock
    FAILURE = 1  # an AWS call or the run failed
    USAGE = 2  # bad config or usage; no AWS call was made
    STUCK = 3  # paused for longer than max_pause_minutes
