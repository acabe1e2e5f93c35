"""Pause a DynamoDB throughput autoscaler while backup EMR clusters run."""

import enum

__version__ = "1.0.0"


class Exit(enum.IntEnum):
    """The exit codes; `meaning` is what --help and the docs say of each."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    STUCK = 3

    @property
    def meaning(self) -> str:
        return EXIT_MEANINGS[self]


EXIT_MEANINGS = {
    Exit.OK: "done, or skipped because another run holds the lock or the lease",
    Exit.FAILURE: "an AWS call or the run failed",
    Exit.USAGE: (
        "bad config or usage, or a missing Python package (no AWS call was made), or a pause "
        "record or a table another pauser holds: nothing was changed"
    ),
    Exit.STUCK: "paused for longer than max_pause_minutes",
}
