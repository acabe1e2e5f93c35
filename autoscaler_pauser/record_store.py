"""Where a run takes the pause record from, and where it leaves it: the protocol, and this
host's state file (one host only). The items in state_table that every host and run of the
pauser shares are table_record.py's. Either way the record names its pauser, and what is read
back is checked (record_format.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from .config import Config
from .decide import Plan
from .model import PauseRecord
from .record_format import Warnings

log = logging.getLogger("autoscaler-pauser")


class RecordStore(Protocol):
    warnings: Warnings  # what reading the record ignored
    where: str  # where the record is, for a log line
    held_by: str | None  # who held the record when take() found it held

    def take(self, cached: PauseRecord, now: datetime) -> PauseRecord | None:
        """The record for this run, or None when another run holds it (this run is skipped).
        `cached`: the pause record in this host's state file."""

    def write_ahead(self, record: PauseRecord, now: datetime) -> None:
        """Record, before the run acts, the pre-pause settings it is about to save and the
        schedules it is about to set: a run that dies between its changes and its record must
        not lose them."""

    def commit(self, record: PauseRecord, plan: Plan, now: datetime) -> PauseRecord:
        """Leave the record after the run; the record as it was left."""

    def give_back(self) -> None:
        """The run ends without acting: let the next one in."""


class FileRecordStore:
    """The pause record in this host's state file, which the run writes whole at its end."""

    def __init__(self, config: Config, write: Callable[[PauseRecord], None]):
        self.pauser, self.write = config.pauser_name, write
        self.warnings = Warnings()
        self.where, self.held_by = f"state file {config.state_file}", None

    def take(self, cached: PauseRecord, now: datetime) -> PauseRecord:
        return replace(cached, pauser=self.pauser)

    def write_ahead(self, record: PauseRecord, now: datetime) -> None:
        self.write(record)

    def commit(self, record: PauseRecord, plan: Plan, now: datetime) -> PauseRecord:
        return record

    def give_back(self) -> None:
        pass
