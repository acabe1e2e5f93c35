"""The pause record in state_table: the items every host and run of the pauser shares, taken
with the lease (lease.py), read back and checked (record_format.py), left with a conditional
write; a new item starts from the record kept under the pauser's earlier name, else from this
host's state file."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from .aws import AwsError
from .config import Config
from .decide import Plan
from .lease import Conflict, Held, Lease, LeasedItem, Unreadable
from .model import PauseRecord, iso
from .record_format import Warnings, pause_from_json, pause_to_json
from .records import merge_pause_records

log = logging.getLogger("autoscaler-pauser")


class TableRecordStore:
    """The pause record in state_table, taken with its lease and left with a conditional write.
    A dry run reads it without the lease. A new item starts from the record kept under the name
    a pauser had before (`legacy`), else from this host's state file."""

    def __init__(
        self,
        item: LeasedItem,
        config: Config,
        dry_run: bool = False,
        legacy: LeasedItem | None = None,
    ):
        self.item, self.config, self.dry_run, self.legacy = item, config, dry_run, legacy
        self.lease: Lease | None = None
        self.carried: Lease | None = None  # the legacy item's record, carried over
        self.warnings = Warnings()

    @property
    def where(self) -> str:
        return f"the pause record {self.item.name!r} in {self.item.table}"

    def take(self, cached: PauseRecord, now: datetime) -> PauseRecord | None:
        if self.dry_run:
            return self._record(self.item.read(), cached)
        taken = self.item.take(now)
        if isinstance(taken, Held):
            until = iso(datetime.fromtimestamp(taken.until, timezone.utc))
            log.warning(
                "another run (%s) holds the pause record %r in %s until %s; this run is skipped",
                taken.holder,
                self.item.name,
                self.item.table,
                until,
            )
            return None
        self.lease = taken
        return self._record(taken, cached)

    def _record(self, lease: Lease, cached: PauseRecord) -> PauseRecord:
        if lease.data is None:
            return self._new(cached)
        return self._read(lease.data, self.where, self.item.name)

    def _read(self, data: dict[str, Any], where: str, name: str) -> PauseRecord:
        """The record of an item, checked, as this pauser's; its warnings kept for the run."""
        try:
            record, self.warnings = pause_from_json(data, self.config, where, name)
        except ValueError as e:
            raise Unreadable(
                f"{where} is not understood ({e}): fix or delete the item's `record`"
            ) from e
        return replace(record, pauser=self.config.pauser_name)

    def _new(self, cached: PauseRecord) -> PauseRecord:
        """The record of a new item: the one kept under the pauser's earlier name, else this
        host's state file's."""
        if self.legacy is not None:
            old, name = self.legacy.read(), self.legacy.name
            if old.data is not None:
                where = f"the pause record {name!r} in {self.item.table}"
                record = self._read(old.data, where, name)
                log.info("carried %s over to the name %r", where, self.item.name)
                self.carried = old
                return record
        if not cached.fresh:
            log.info("%s is new: it starts from this host's state file", self.where)
            return replace(cached, pauser=self.config.pauser_name)
        return PauseRecord(pauser=self.config.pauser_name)

    def write_ahead(self, record: PauseRecord, now: datetime) -> None:
        if not self.dry_run and self.lease is not None:
            self.lease = self.item.write(self.lease, pause_to_json(record), now, release=False)

    def commit(self, record: PauseRecord, plan: Plan, now: datetime) -> PauseRecord:
        if self.dry_run or self.lease is None:
            return record
        try:
            self.item.write(self.lease, pause_to_json(record), now)
            self._forget_carried()
            return record
        except Conflict:
            pass
        # The lease ran out during this run and another run wrote the record: theirs stands,
        # with what this run saved and set added, so that nothing this run did is lost.
        log.warning(
            "%s changed during this run; read it again and added this run's saved settings and "
            "schedules",
            self.where,
        )
        read = self.item.read()
        theirs = self._record(read, PauseRecord())
        merged = merge_pause_records(theirs, record, plan)
        try:
            self.item.write_over(read, pause_to_json(merged), now)
        except Conflict as e:
            raise AwsError(f"{e} again: this run's changes are in its log lines only") from e
        return merged

    def _forget_carried(self) -> None:
        """Once the record is under its new name, the item under the old one goes."""
        if self.carried is None or self.legacy is None:
            return
        try:
            self.legacy.delete(self.carried)
        except (Conflict, AwsError) as e:
            name = self.legacy.name
            log.warning("the pause record %r was carried over, not removed: %s", name, e)
        self.carried = None

    def give_back(self) -> None:
        if self.lease is not None and not self.dry_run:
            self.item.give_back()
