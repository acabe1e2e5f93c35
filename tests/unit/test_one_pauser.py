"""One table, one pauser, by its case table: which tables a run begins to pause, and whether
another pauser's record holds a table of this pauser's."""

from __future__ import annotations

import pytest

from autoscaler_pauser.model import EVERY_TABLE, SCALING, Hold, PauseRecord
from autoscaler_pauser.table_record import beginning_tables, holds_table

ON = Hold(paused_at="2026-11-26T01:00:00Z")
ORDERS = "dynamodb:{}/table/orders:read"


def theirs(region: str | None, paused: bool = True, unknown: bool = False) -> PauseRecord:
    """Another pauser's record: its pause of orders (or none), with a target of orders in
    `region` (None: no target of it)."""
    held = {} if region is None else {ORDERS.format(region): SCALING}
    return PauseRecord(
        holds={"orders": ON} if paused else {},
        saved={} if unknown else held,
        unknown=frozenset(held) if unknown else frozenset(),
        fresh=False,
    )


@pytest.mark.parametrize(
    "record, held",
    [
        (theirs("us-east-1"), True),
        (theirs("us-east-1", unknown=True), True),  # held without its setting: held all the same
        (theirs(None), True),  # a pause of orders, no target found yet: in any region
        (theirs("eu-west-1"), False),  # another table of that name
        (theirs("us-east-1", paused=False), False),  # its pause is over
    ],
)
def test_another_record_holds_a_table_of_that_name_in_this_region(record, held):
    assert holds_table(record, "orders", "us-east-1") is held


def test_the_tables_a_run_begins_to_pause_are_those_paused_in_the_record_it_leaves_only():
    taken = PauseRecord(holds={"users": ON}, fresh=False)
    left = PauseRecord(holds={EVERY_TABLE: ON, "orders": ON, "users": ON}, fresh=False)
    assert beginning_tables(taken, left) == ["orders"]
