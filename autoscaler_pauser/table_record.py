"""The pause record in state_table: the items every host and run of the pauser shares, taken
with the lease (lease.py), read back and checked (record_format.py), held by one pauser only,
each table paused by one pauser only, left with a conditional write; a new item, or one that
cannot be read, starts from the copy in the state file."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from .aws import AwsError
from .config import Config
from .decide import NO_HOLD, Plan
from .lease import Conflict, Held, Lease, LeasedItem, Unreadable
from .model import EVERY_TABLE, Named, PauseRecord, Scope, iso
from .record_format import LOOKED_FOR, Warnings, pause_from_json, pause_to_json
from .records import merge_pause_records
from .state_file import StateFileError
from .targets import kind_of_scope, named_targets, region_of, scope_of

log = logging.getLogger("autoscaler-pauser")

NAMED_ID = 10  # hex digits of a named target's digest: 40 bits, no two alike in a fleet's
NAMES_KEPT = 5  # named targets the record keeps by name, to say which


class TableRecordStore:
    """The pause record in state_table, taken with its lease and left with a conditional write.
    A dry run reads it without the lease. A new item starts from the state file's copy."""

    def __init__(self, item: LeasedItem, config: Config, dry_run: bool = False):
        self.item, self.config, self.dry_run = item, config, dry_run
        self.lease: Lease | None = None
        self.warnings = Warnings()
        self.held_by: str | None = None
        self.taken = PauseRecord()  # the record as this run took it

    @property
    def where(self) -> str:
        return f"the pause record {self.item.name!r} in {self.item.table}"

    def take(self, cached: PauseRecord, now: datetime) -> PauseRecord | None:
        """The record, checked to be this pauser's (else StateFileError: exit 2)."""
        if self.dry_run:
            return self._ours(self._record(self.item.read(), cached))
        taken = self.item.take(now)
        if isinstance(taken, Held):
            self.held_by = taken.holder
            log.warning(
                "another run (%s) holds %s until %s; this run is skipped",
                taken.holder,
                self.where,
                _time(taken.until),
            )
            return None
        self.lease = taken
        if taken.overridden is not None:
            self.warnings.append(
                f"the lease of {self.where} was held by {taken.overridden.holder} until "
                f"{_time(taken.overridden.until)}, further ahead than one lease "
                f"({self.item.seconds} s) from now, {iso(now)} (AWS's clock), which no run "
                "takes: taken as expired"
            )
        return self._ours(self._record(taken, cached))

    def _ours(self, record: PauseRecord) -> PauseRecord:
        """The record, held by no other pauser of the same name; what this config names
        recorded."""
        ours = named(self.config)
        check_same_pauser(record.named, ours, self.config, self.where)
        self.taken = replace(record, named=ours)
        return self.taken

    def _record(self, lease: Lease, cached: PauseRecord) -> PauseRecord:
        if lease.unreadable is not None:
            return self._unreadable(lease.unreadable, cached)
        if lease.data is None:
            return self._new(cached)
        try:
            return self._read(lease.data)
        except Unreadable as e:
            return self._unreadable(str(e), cached)

    def _unreadable(self, why: str, cached: PauseRecord) -> PauseRecord:
        """A record that cannot be read: its head is copied aside (not by a dry run), and the
        run goes on from this host's copy, else from AWS, looking for the failsafe's schedules
        the record held."""
        moved = "" if self.dry_run else f"; copied its item to {self.item.set_aside()!r}"
        start = "its copy in " + self.config.state_file if not cached.fresh else "AWS"
        self.warnings.append(f"{why}{moved}; this run goes on from {start}, and {LOOKED_FOR}")
        return replace(self._new(cached, quiet=True), sweep=True)

    def _read(self, data: dict[str, Any]) -> PauseRecord:
        """The record of the item, checked, as this pauser's; its warnings kept for the run."""
        try:
            record, warnings = pause_from_json(data, self.where)
        except ValueError as e:
            raise Unreadable(f"{self.where} is not understood ({e})") from e
        self.warnings += warnings
        return replace(record, pauser=self.config.pauser_name)

    def _new(self, cached: PauseRecord, quiet: bool = False) -> PauseRecord:
        """The record of a new item: the state file's copy."""
        if not cached.fresh:
            if not quiet:
                log.info(
                    "%s is new: it starts from the copy in %s", self.where, self.config.state_file
                )
            return replace(cached, pauser=self.config.pauser_name)
        return PauseRecord(pauser=self.config.pauser_name)

    def write_ahead(self, record: PauseRecord, now: datetime) -> None:
        self._check_tables(record)
        if not self.dry_run and self.lease is not None:
            self.lease = self.item.write(self.lease, pause_to_json(record), now, release=False)

    def commit(self, record: PauseRecord, plan: Plan, now: datetime) -> PauseRecord:
        if self.dry_run:  # a dry run says what a run would: stop, if it would
            self._check_tables(record)
        if self.dry_run or self.lease is None:
            return record
        try:
            self.item.write(self.lease, pause_to_json(record), now)
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

    def give_back(self) -> None:
        if self.lease is not None and not self.dry_run:
            self.item.give_back()

    def _check_tables(self, record: PauseRecord) -> None:
        """One table, one pauser: before the first write of a run that begins the pause of a
        table, the records of the other pausers in state_table are read, and one whose pause
        holds that table stops the run (StateFileError: exit 2). Two pausers of one table would
        each take the other's pause for the table's own setting, and keep it suspended for
        good."""
        beginning = beginning_tables(self.taken, record)
        if not beginning:
            return
        problems = []
        for other in self.item.others():
            theirs = self._theirs(other)
            tables = [t for t in beginning if theirs and self._holds(theirs, t)]
            if tables:
                problems.append(
                    f"{self._key(tables[0])}: {_tables(tables)} held by the pause of the pauser "
                    f"{other.name!r} in {self.item.table}; one table, one pauser: give it to one "
                    "of them (one pauser takes several prefixes: emr_prefix is a list)"
                )
        if problems:
            raise StateFileError("; ".join(problems))

    def _theirs(self, other: LeasedItem) -> PauseRecord | None:
        """Another pauser's record, or None if it has none this run can read."""
        lease = other.read()
        if lease.data is None:
            return None
        try:
            return pause_from_json(lease.data, other.name)[0]
        except ValueError:  # its own runs say what is wrong with it
            return None

    def _holds(self, theirs: PauseRecord, table: Scope) -> bool:
        kind = kind_of_scope(table, self.config)
        return holds_table(theirs, table, (kind and kind.home_region(self.config)) or "")

    def _key(self, table: Scope) -> str:
        """The config key that names the table."""
        kind = kind_of_scope(table, self.config)
        return kind.KEYS[0].name if kind else "name"


def _time(seconds: int) -> str:
    return iso(datetime.fromtimestamp(seconds, timezone.utc))


def named(config: Config) -> Named:
    """What the config names: a digest of each target, and the first few by name."""
    return named_of(named_targets(config))


def named_of(targets: Iterable[str]) -> Named:
    names = sorted(targets)
    ids = frozenset(hashlib.sha256(n.encode()).hexdigest()[:NAMED_ID] for n in names)
    return Named(ids, tuple(names[:NAMES_KEPT]))


def check_same_pauser(theirs: Named | None, ours: Named, config: Config, where: str) -> None:
    """Two pausers of the default name share one record by mistake, and each would give back
    what the other paused: a record whose pauser names none of this config's targets is not
    this pauser's (StateFileError: exit 2). One that names any of them is this pauser with its
    config changed. A pauser given a `name` is the record's whatever its config names."""
    if config.name or theirs is None or not theirs.ids or not ours.ids or theirs.ids & ours.ids:
        return
    raise StateFileError(
        f"{where} is held by a pauser of the same name, {config.pauser_name!r}, that names "
        f"{_targets(theirs)}, none of the {_targets(ours)} this config names: two pausers "
        "share one record, and each would give back what the other paused. Give each pauser "
        "its own name (the key name, or PAUSER_NAME); if this is that pauser with all its "
        f"targets changed, set its name: {config.pauser_name!r}"
    )


def _targets(named: Named) -> str:
    more = len(named.ids) - len(named.names)
    shown = ", ".join(named.names) + (f", and {more} more" if more > 0 else "")
    return f"{len(named.ids)} target(s) ({shown})"


def beginning_tables(taken: PauseRecord, intended: PauseRecord) -> list[Scope]:
    """The tables whose pause a run begins: paused in the record it is to leave, not in the one
    it took."""
    return [
        scope
        for scope, hold in intended.holds.items()
        if hold.paused_at and scope != EVERY_TABLE and not taken.holds.get(scope, NO_HOLD).paused_at
    ]


def holds_table(record: PauseRecord, table: Scope, region: str) -> bool:
    """Whether a record's pause holds the table of that name in `region` (a pause of a table by
    that name whose targets the record does not say are elsewhere)."""
    if not record.holds.get(table, NO_HOLD).paused_at:
        return False
    regions = {region_of(key) for key in record.held if scope_of(key) == table}
    return not regions or region in regions


def _tables(tables: list[str]) -> str:
    return f"table {tables[0]} is" if len(tables) == 1 else f"tables {', '.join(tables)} are"
