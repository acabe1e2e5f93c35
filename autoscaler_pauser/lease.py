"""The pause record shared by every host and run of one pauser: items of a DynamoDB table (key
`name`), taken with a lease, written conditionally on the version read, all or nothing.

The head item (key: the pauser's name) holds `version` (one more at each write of the record),
`parts`, `record` (the record's JSON, compressed: the whole of it, or its first part), and while
a run holds it `lease_holder` and `lease_until` (Unix seconds, by AWS's clock). A record too big
for one item (DynamoDB takes 400 KB an item) goes on in part items, `NAME#part-1` and on, each
with the version it belongs to; a record over several items is written in one transaction with
the head, so that a reader finds every part of one version or none. Taking the lease returns
the head, and the write that ends a run also gives the lease back, so a run whose record fits
one item makes two calls to the table.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .aws import AwsError, aws_error, backoff, error_code
from .keys import PART_MARK
from .model import iso
from .timing import CLOCK_SLACK_SECONDS, TRIES

log = logging.getLogger("autoscaler-pauser")

PART_BYTES = 350_000  # of the compressed record an item holds: under 400 KB with the rest
MOST_PARTS = 10  # a transaction takes 4 MB: 10 parts and the head fit
PART = PART_MARK  # between the name and the number of a part item
# Where the head of a record that cannot be read is copied before a run writes a new one: an
# item no part has (parts count from 1), with a name no longer than a part's.
ASIDE = f"{PART}0"


@dataclass(frozen=True)
class Held:
    """Another run holds the lease."""

    holder: str
    until: int


@dataclass(frozen=True)
class Lease:
    """The record as the lease found it, and what a write must be conditional on."""

    data: dict[str, Any] | None  # the record's JSON data; None: no record yet, or unreadable
    version: int
    until: int  # Unix seconds
    parts: int = 1  # the items the record is in
    unreadable: str | None = None  # why the record there could not be read
    overridden: Held | None = None  # a lease taken although held: it could not be true


class Conflict(Exception):
    """The item changed since this run read it, or its lease is no longer this run's."""


class Unreadable(AwsError):
    """The item's record cannot be understood."""


def encode(data: dict[str, Any]) -> list[bytes]:
    """The record's JSON compressed, in parts an item each."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    blob = zlib.compress(text, 6)
    return [blob[i : i + PART_BYTES] for i in range(0, len(blob), PART_BYTES)] or [b""]


class LeasedItem:
    """The items of one pauser in the state table, for one holder (host name and pid).
    `sleep`: the wait before reading again the parts a batch read left unread."""

    def __init__(
        self,
        dynamodb: Any,
        table: str,
        name: str,
        holder: str,
        seconds: float,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.dynamodb, self.table, self.name, self.holder = dynamodb, table, name, holder
        self.seconds, self.sleep = int(seconds), sleep
        self.key = {"name": {"S": name}}

    def take(self, now: datetime) -> Lease | Held:
        """The lease and the record, unless another run holds the lease. `now` is AWS's
        time, which every host's run compares the lease with. A lease that runs out further
        ahead than one lease from now cannot have been taken by a run: it is taken over
        (`overridden`). A record that cannot be read is not (`unreadable`): see set_aside."""
        stamp, until = int(now.timestamp()), int(now.timestamp()) + self.seconds
        try:
            resp = self.dynamodb.update_item(
                TableName=self.table,
                Key=self.key,
                UpdateExpression="SET lease_holder = :me, lease_until = :until",
                ConditionExpression=(
                    "attribute_not_exists(lease_until) OR lease_until < :now OR "
                    "lease_until > :far OR lease_holder = :me"
                ),
                ExpressionAttributeValues={
                    ":me": {"S": self.holder},
                    ":until": {"N": str(until)},
                    ":now": {"N": str(stamp)},
                    ":far": {"N": str(until + CLOCK_SLACK_SECONDS)},
                },
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except Exception as e:
            item = _conditional_failure(e)
            if item is None:
                raise aws_error("UpdateItem", e) from e
            return Held(item.get("lease_holder", {}).get("S", "?"), _number(item, "lease_until"))
        old = resp.get("Attributes", {})  # the item as it was: its record is the same
        held = Held(old.get("lease_holder", {}).get("S", "?"), _number(old, "lease_until"))
        overridden = held if held.until > until + CLOCK_SLACK_SECONDS else None
        try:
            data, version, parts = self._record(old)
        except Conflict as e:  # no run writes while another holds the lease
            raise AwsError(f"{e}, though this run holds the lease") from e
        except Unreadable as e:
            version, parts = _number(old, "version"), max(1, _number(old, "parts"))
            return Lease(None, version, until, parts, str(e), overridden)
        return Lease(data, version, until, parts, overridden=overridden)

    def read(self) -> Lease:
        """The record and its version, without the lease (a dry run, a lost race)."""
        for _ in range(3):  # a write between reading the head and its parts: again
            try:
                item = self.dynamodb.get_item(
                    TableName=self.table, Key=self.key, ConsistentRead=True
                )
            except Exception as e:
                raise aws_error("GetItem", e) from e
            head = item.get("Item", {})
            try:
                data, version, parts = self._record(head)
            except Conflict:
                continue
            except Unreadable as e:
                version, parts = _number(head, "version"), max(1, _number(head, "parts"))
                return Lease(None, version, 0, parts, str(e))
            return Lease(data, version, 0, parts)
        raise AwsError(f"the pause record {self.name!r} in {self.table} kept changing while read")

    def write(
        self, lease: Lease, data: dict[str, Any], now: datetime, release: bool = True
    ) -> Lease:
        """Write the record, if it changed, and give the lease back (unless not `release`): only
        if the item is still at the version read and the lease still this run's. Raises Conflict
        otherwise. The lease as it is after the write."""
        if data == lease.data:
            if release:
                self._release()
            return lease
        parts = self._write(lease.version, lease.parts, data, now, release, holding=True)
        return Lease(data, lease.version + 1, lease.until, parts)

    def write_over(self, lease: Lease, data: dict[str, Any], now: datetime) -> None:
        """Write the record conditionally on the version of `lease` alone, held or not: after a
        lost race, when this run's changes must still be recorded. Raises Conflict."""
        self._write(lease.version, lease.parts, data, now, release=False, holding=False)

    def others(self) -> list[LeasedItem]:
        """The items of the other pausers that share the table, to read (a consistent Scan of
        the names of their head items)."""
        names: list[str] = []
        start: dict[str, Any] = {}
        while True:
            try:
                page = self.dynamodb.scan(
                    TableName=self.table,
                    ProjectionExpression="#n",
                    FilterExpression="NOT contains(#n, :part)",
                    ExpressionAttributeNames={"#n": "name"},
                    ExpressionAttributeValues={":part": {"S": PART}},
                    ConsistentRead=True,
                    **start,
                )
            except Exception as e:
                raise aws_error("Scan", e) from e
            names += [item["name"]["S"] for item in page.get("Items", [])]
            if not page.get("LastEvaluatedKey"):
                break
            start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
        return [
            LeasedItem(self.dynamodb, self.table, name, self.holder, self.seconds)
            for name in sorted(names)
            if name != self.name
        ]

    def give_back(self) -> None:
        """Give the lease back without writing the record (a run that failed before acting)."""
        with contextlib.suppress(Conflict):  # it was no longer this run's
            self._release()

    # --- the items -----------------------------------------------------------------------------

    def set_aside(self) -> str:
        """Copy the head item, whose record cannot be read, for a person to look at, before a
        run writes a new record over it (the run holds the lease). The copy's name."""
        aside = f"{self.name}{ASIDE}"
        try:
            head = self.dynamodb.get_item(TableName=self.table, Key=self.key, ConsistentRead=True)
        except Exception as e:
            raise aws_error("GetItem", e) from e
        item = {k: v for k, v in head.get("Item", {}).items() if not k.startswith("lease_")}
        try:
            self.dynamodb.put_item(TableName=self.table, Item={**item, "name": {"S": aside}})
        except Exception as e:
            raise aws_error("PutItem", e) from e
        return aside

    def _release(self) -> None:
        """The lease given back, if it is still this run's; Conflict if not."""
        values = {":me": {"S": self.holder}}
        self._update("REMOVE lease_holder, lease_until", "lease_holder = :me", values)

    def _write(
        self,
        version: int,
        old_parts: int,
        data: dict[str, Any],
        now: datetime,
        release: bool,
        holding: bool,
    ) -> int:
        blobs = encode(data)
        if len(blobs) > MOST_PARTS:
            raise AwsError(
                f"the pause record {self.name!r} is {sum(map(len, blobs)):,} bytes compressed, "
                f"more than {MOST_PARTS} items of {self.table} take"
            )
        values: dict[str, Any] = {
            ":me": {"S": self.holder},
            ":record": {"B": blobs[0]},
            ":parts": {"N": str(len(blobs))},
            ":next": {"N": str(version + 1)},
            ":at": {"S": iso(now)},
        }
        update = (
            "SET #record = :record, parts = :parts, version = :next, updated_at = :at, "
            "updated_by = :me" + (" REMOVE lease_holder, lease_until" if release else "")
        )
        condition = ("lease_holder = :me AND " if holding else "") + _at_version(version, values)
        if len(blobs) == 1 and old_parts <= 1:
            self._update(update, condition, values)
            return 1
        head = {
            "Update": {
                "TableName": self.table,
                "Key": self.key,
                "UpdateExpression": update,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#record": "record"},
                "ExpressionAttributeValues": values,
            }
        }
        puts = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        **self._part_key(i),
                        "version": {"N": str(version + 1)},
                        "record": {"B": blobs[i]},
                    },
                }
            }
            for i in range(1, len(blobs))
        ]
        deletes = [
            {"Delete": {"TableName": self.table, "Key": self._part_key(i)}}
            for i in range(len(blobs), old_parts)
        ]
        try:
            self.dynamodb.transact_write_items(TransactItems=[head, *puts, *deletes])
        except Exception as e:
            reasons = getattr(e, "response", {}).get("CancellationReasons") or [{}]
            if reasons[0].get("Code") == "ConditionalCheckFailed":
                raise self._changed() from e
            raise aws_error("TransactWriteItems", e) from e
        return len(blobs)

    def _part_key(self, i: int) -> dict[str, Any]:
        return {"name": {"S": f"{self.name}{PART}{i}"}}

    def _record(self, head: dict[str, Any]) -> tuple[dict[str, Any] | None, int, int]:
        """The record of a head item and its parts, its version and the items it is in."""
        version, parts = _number(head, "version"), max(1, _number(head, "parts"))
        value = head.get("record")
        if value is None:
            return None, version, parts
        if "B" not in value:
            raise self._unreadable("not a compressed record")
        blobs = [value["B"], *self._parts(version, parts)]
        try:
            text = zlib.decompress(b"".join(blobs))
        except zlib.error as e:
            raise self._unreadable(f"not a compressed record: {e}") from e
        return self._decoded(text), version, parts

    def _parts(self, version: int, parts: int) -> list[bytes]:
        if parts == 1:
            return []
        keys = [self._part_key(i) for i in range(1, parts)]
        found: dict[str, dict[str, Any]] = {}
        todo = {self.table: {"Keys": keys, "ConsistentRead": True}}
        for attempt in range(1, TRIES + 1):
            if attempt > 1:  # what the table left unread (its capacity spent), after a wait
                self.sleep(backoff(attempt - 1))
            try:
                resp = self.dynamodb.batch_get_item(RequestItems=todo)
            except Exception as e:
                raise aws_error("BatchGetItem", e) from e
            for item in resp.get("Responses", {}).get(self.table, []):
                found[item["name"]["S"]] = item
            todo = resp.get("UnprocessedKeys") or {}
            if not todo:
                break
        if todo:
            unread = sum(len(entry.get("Keys", [])) for entry in todo.values())
            raise AwsError(
                f"BatchGetItem left {unread} of the {len(keys)} part items of the pause record "
                f"{self.name!r} unread after {TRIES} tries (the read capacity of {self.table} was "
                "spent): the next run tries again; should every run fail so, give the table more "
                "read capacity, or on-demand capacity"
            )
        blobs = []
        for key in keys:
            item = found.get(key["name"]["S"])
            if item is None or _number(item, "version") != version:
                raise Conflict(f"a part of the pause record {self.name!r} is of another version")
            blobs.append(item["record"]["B"])
        return blobs

    def _decoded(self, text: bytes) -> dict[str, Any]:
        try:
            data = json.loads(text)
        except ValueError as e:
            raise self._unreadable(str(e)) from e
        if not isinstance(data, dict):
            raise self._unreadable("not a JSON object")
        return data

    def _changed(self) -> Conflict:
        return Conflict(f"the pause record {self.name!r} in {self.table} changed")

    def _unreadable(self, why: str) -> Unreadable:
        return Unreadable(
            f"the pause record {self.name!r} in {self.table} is not understood ({why})"
        )

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
                raise self._changed() from e
            raise aws_error("UpdateItem", e) from e


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
