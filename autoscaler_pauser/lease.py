"""The pause record shared by every host and run of one pauser: one item in a DynamoDB table
(key `name`), taken with a lease, written conditionally on the version read.

The item holds `record` (the pause record as JSON, as the state file holds it), `version` (one
more at each write of the record), and while a run holds it `lease_holder` and `lease_until`
(Unix seconds). Taking the lease returns the record, and the write that ends a run also gives
the lease back, so a run makes two calls to the table.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from .aws import AwsError, aws_error, error_code
from .model import PauseRecord, iso
from .state_file import pause_from_json, pause_to_json

log = logging.getLogger("autoscaler-pauser")


@dataclass(frozen=True)
class Lease:
    """The record as the lease found it, and what a write must be conditional on."""

    record: PauseRecord
    version: int
    until: int  # Unix seconds


@dataclass(frozen=True)
class Held:
    """Another run holds the lease."""

    holder: str
    until: int


class Conflict(Exception):
    """The item changed since this run read it, or its lease is no longer this run's."""


class LeasedItem:
    """The item of one pauser in the state table, for one holder (host name and pid)."""

    def __init__(self, dynamodb: Any, table: str, name: str, holder: str, seconds: float):
        self.dynamodb, self.table, self.name, self.holder = dynamodb, table, name, holder
        self.seconds = int(seconds)
        self.key = {"name": {"S": name}}

    def take(self, now: datetime) -> Lease | Held:
        """The lease and the record, unless another run holds the lease."""
        stamp, until = int(now.timestamp()), int(now.timestamp()) + self.seconds
        try:
            resp = self.dynamodb.update_item(
                TableName=self.table,
                Key=self.key,
                UpdateExpression="SET lease_holder = :me, lease_until = :until",
                ConditionExpression=(
                    "attribute_not_exists(lease_until) OR lease_until < :now OR lease_holder = :me"
                ),
                ExpressionAttributeValues={
                    ":me": {"S": self.holder},
                    ":until": {"N": str(until)},
                    ":now": {"N": str(stamp)},
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except Exception as e:
            item = _conditional_failure(e)
            if item is None:
                raise aws_error("UpdateItem", e) from e
            return Held(item.get("lease_holder", {}).get("S", "?"), _number(item, "lease_until"))
        item = resp.get("Attributes", {})
        return Lease(self._record(item), _number(item, "version"), until)

    def read(self) -> tuple[PauseRecord, int]:
        """The record and its version, without the lease (a dry run, a lost race)."""
        try:
            item = self.dynamodb.get_item(TableName=self.table, Key=self.key, ConsistentRead=True)
        except Exception as e:
            raise aws_error("GetItem", e) from e
        item = item.get("Item", {})
        return self._record(item), _number(item, "version")

    def write(
        self, lease: Lease, record: PauseRecord, now: datetime, release: bool = True
    ) -> Lease:
        """Write the record, if it changed, and give the lease back (unless not `release`): only
        if the item is still at the version read and the lease still this run's. Raises Conflict
        otherwise. The lease as it is after the write."""
        values: dict[str, Any] = {":me": {"S": self.holder}}
        give_back = " REMOVE lease_holder, lease_until" if release else ""
        if pause_to_json(record) == pause_to_json(lease.record) and not lease.record.fresh:
            if release:
                self._update(give_back.strip(), "lease_holder = :me", values)
            return lease
        update = self._set_record(record, lease.version, now, values)
        condition = "lease_holder = :me AND " + _at_version(lease.version, values)
        self._update(update + give_back, condition, values)
        return Lease(replace(record, fresh=False), lease.version + 1, lease.until)

    def write_over(self, version: int, record: PauseRecord, now: datetime) -> None:
        """Write the record conditionally on `version` alone, lease or no lease: after a lost
        race, when this run's changes must still be recorded. Raises Conflict."""
        values: dict[str, Any] = {":me": {"S": self.holder}}
        update = self._set_record(record, version, now, values)
        self._update(update, _at_version(version, values), values)

    def give_back(self) -> None:
        """Give the lease back without writing the record (a run that failed before acting)."""
        with contextlib.suppress(Conflict):  # it was no longer this run's
            values = {":me": {"S": self.holder}}
            self._update("REMOVE lease_holder, lease_until", "lease_holder = :me", values)

    @staticmethod
    def _set_record(
        record: PauseRecord, version: int, now: datetime, values: dict[str, Any]
    ) -> str:
        values[":record"] = {"S": json.dumps(pause_to_json(record), sort_keys=True)}
        values[":next"] = {"N": str(version + 1)}
        values[":at"] = {"S": iso(now)}
        return "SET #record = :record, version = :next, updated_at = :at, updated_by = :me"

    def _update(self, update: str, condition: str, values: dict[str, Any]) -> None:
        # `record` is a reserved word in DynamoDB's expressions.
        extra = {"ExpressionAttributeNames": {"#record": "record"}} if "#record" in update else {}
        try:
            self.dynamodb.update_item(
                TableName=self.table,
                Key=self.key,
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                **extra,
            )
        except Exception as e:
            if _conditional_failure(e) is not None:
                raise Conflict(f"the pause record {self.name!r} in {self.table} changed") from e
            raise aws_error("UpdateItem", e) from e

    def _record(self, item: dict[str, Any]) -> PauseRecord:
        text = item.get("record", {}).get("S")
        if text is None:
            return PauseRecord()
        try:
            return pause_from_json(json.loads(text))
        except ValueError as e:
            raise AwsError(
                f"the pause record {self.name!r} in {self.table} is not understood ({e}): "
                "fix or delete the item's `record`"
            ) from e


def _at_version(version: int, values: dict[str, Any]) -> str:
    if version == 0:
        return "attribute_not_exists(version)"
    values[":version"] = {"N": str(version)}
    return "version = :version"


def _number(item: dict[str, Any], name: str) -> int:
    return int(item.get(name, {}).get("N", "0"))


def _conditional_failure(e: Exception) -> dict[str, Any] | None:
    """The item as it was when a condition failed (empty if it was missing), else None."""
    if error_code(e) != "ConditionalCheckFailedException":
        return None
    return getattr(e, "response", {}).get("Item") or {}
