"""Where a run takes the pause record from, and where it leaves it: this host's state file (one
host only), or the item in state_table that every host and run of the pauser shares, one run at
a time by its lease."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Protocol

from .aws import AwsError
from .decide import Plan, merge_pause_records
from .lease import Conflict, Held, Lease, LeasedItem
from .model import PauseRecord, iso

log = logging.getLogger("autoscaler-pauser")


class RecordStore(Protocol):
    def take(self, cached: PauseRecord, now: datetime) -> PauseRecord | None:
        """The record for this run, or None when another run holds it (this run is skipped).
        `cached`: the pause record in this host's state file."""

    def write_ahead(self, record: PauseRecord, now: datetime) -> None:
        """Record, before the run acts, the pre-pause settings it is about to save: a run that
        dies between its changes and its record must not lose them."""

    def commit(self, record: PauseRecord, plan: Plan, now: datetime) -> PauseRecord:
        """Leave the record after the run; the record as it was left."""

    def give_back(self) -> None:
        """The run ends without acting: let the next one in."""


class FileRecordStore:
    """The pause record in this host's state file, which the run writes whole at its end."""

    def __init__(self, write: Callable[[PauseRecord], None]):
        self.write = write

    def take(self, cached: PauseRecord, now: datetime) -> PauseRecord:
        return cached

    def write_ahead(self, record: PauseRecord, now: datetime) -> None:
        self.write(record)

    def commit(self, record: PauseRecord, plan: Plan, now: datetime) -> PauseRecord:
        return record

    def give_back(self) -> None:
        pass


class TableRecordStore:
    """The pause record in state_table, taken with its lease and left with a conditional write.
    A dry run reads it without the lease."""

    def __init__(self, shared: LeasedItem, dry_run: bool = False):
        self.shared, self.dry_run = shared, dry_run
        self.lease: Lease | None = None

    def take(self, cached: PauseRecord, now: datetime) -> PauseRecord | None:
        if self.dry_run:
            record, _ = self.shared.read()
            return record
        taken = self.shared.take(now)
        if isinstance(taken, Held):
            until = iso(datetime.fromtimestamp(taken.until, timezone.utc))
            log.warning(
                "another run (%s) holds the pause record %r in %s until %s; this run is skipped",
                taken.holder,
                self.shared.name,
                self.shared.table,
                until,
            )
            return None
        self.lease = taken
        if taken.record.fresh and not cached.fresh:
            log.info(
                "the pause record %r in %s is new: it starts from this host's state file",
                self.shared.name,
                self.shared.table,
            )
            return cached
        return taken.record

    def write_ahead(self, record: PauseRecord, now: datetime) -> None:
        if not self.dry_run and self.lease is not None:
            self.lease = self.shared.write(self.lease, record, now, release=False)

    def commit(self, record: PauseRecord, plan: Plan, now: datetime) -> PauseRecord:
        if self.dry_run or self.lease is None:
            return record
        try:
            self.shared.write(self.lease, record, now)
            return record
        except Conflict:
            pass
        # The lease ran out during this run and another run wrote the record: theirs stands,
        # with what this run saved added, so that no pre-pause setting is lost.
        log.warning(
            "the pause record %r in %s changed during this run; read it again and added this "
            "run's saved settings",
            self.shared.name,
            self.shared.table,
        )
        theirs, version = self.shared.read()
        merged = merge_pause_records(theirs, record, plan)
        try:
            self.shared.write_over(version, merged, now)
        except Conflict as e:
            raise AwsError(f"{e} again: this run's changes are in its log lines only") from e
        return merged

    def give_back(self) -> None:
        if self.lease is not None and not self.dry_run:
            self.shared.give_back()
