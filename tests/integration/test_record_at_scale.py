"""The pause record at a fleet's size in state_table, against moto (which takes no item over
400 KB): 5,000 targets of 180-character tables and 48-character indexes in one item, 5,000 of
the longest names AWS allows over two items in one transaction, each with as full a history of
pauses as the record keeps, read back whole; a record that shrinks leaves no part behind; a
part of another version is never read as this one's."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from autoscaler_pauser.history import KEEP_PAUSES
from autoscaler_pauser.lease import MOST_PARTS, PART_BYTES, Lease, LeasedItem, encode
from autoscaler_pauser.record_format import pause_from_json, pause_to_json
from tests.support.fleet import fleet_record, item_bytes

NOW = datetime(2026, 11, 26, 1, 0, tzinfo=timezone.utc)
TABLE = "autoscaler-pauser"
ITEM_MOST = 400 * 1024  # DynamoDB's most for one item


def items(world) -> dict[str, dict]:
    return {i["name"]["S"]: i for i in world.dynamodb.scan(TableName=TABLE)["Items"]}


@pytest.mark.parametrize(
    "table_length, index_length, parts", [(180, 48, 1), (255, 255, 2)], ids=["180-48", "255"]
)
def test_a_fleet_s_record_is_written_within_dynamodb_s_item_size_and_read_back_whole(
    world, table_length, index_length, parts
):
    world.create_state_table(TABLE)
    record = fleet_record(5000, table_length, index_length)
    assert len([p for p in record.history if p.ended]) == KEEP_PAUSES, "as many as it keeps"
    assert len([p for p in record.history if p.ended is None]) == len(record.holds)
    data = pause_to_json(record)
    assert len(encode(data)) == parts
    item = LeasedItem(world.dynamodb, TABLE, "autoscaler-pauser", "host:1", 50)
    lease = item.take(NOW)
    assert isinstance(lease, Lease)
    item.write(lease, data, NOW)
    stored = items(world)
    assert len(stored) == parts
    assert max(item_bytes(i) for i in stored.values()) < ITEM_MOST
    read = item.read()
    assert read.data == data and read.parts == parts
    back, warnings = pause_from_json(read.data, "the test")
    assert warnings == [] and back == record


def test_a_record_that_shrinks_leaves_no_part_behind(world):
    world.create_state_table(TABLE)
    big = pause_to_json(fleet_record(5000, 255, 255))
    small = pause_to_json(fleet_record(40, 255, 255))
    item = LeasedItem(world.dynamodb, TABLE, "autoscaler-pauser", "host:1", 50)
    lease = item.write(item.take(NOW), big, NOW, release=False)
    assert len(items(world)) == 2
    item.write(lease, small, NOW)
    assert list(items(world)) == ["autoscaler-pauser"]
    assert item.read().data == small


def test_a_part_of_another_version_is_never_read_as_this_one_s(world):
    """A writer that lost the race wrote nothing: the head and its parts go in one transaction;
    and a part whose version is not the head's is refused, not joined."""
    world.create_state_table(TABLE)
    big = pause_to_json(fleet_record(5000, 255, 255))
    item = LeasedItem(world.dynamodb, TABLE, "autoscaler-pauser", "host:1", 50)
    item.write(item.take(NOW), big, NOW)
    world.dynamodb.update_item(
        TableName=TABLE,
        Key={"name": {"S": "autoscaler-pauser#part-1"}},
        UpdateExpression="SET version = :v",
        ExpressionAttributeValues={":v": {"N": "99"}},
    )
    with pytest.raises(Exception, match="kept changing while read"):
        item.read()


def test_the_most_a_record_can_be_is_stated_once():
    assert MOST_PARTS * PART_BYTES < 4 * 1024 * 1024, "one transaction takes 4 MB"
    assert PART_BYTES + 4096 < ITEM_MOST, "room in an item for the name and the other fields"
