"""Reading the tables' scalable targets: the whole dynamodb namespace, or, when the listed tables'
targets are a small part of a big one, just their resource ids as the last scan found them
(fewer calls); a pause that may begin always reads it all, so that a new index is not missed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from autoscaler_pauser.cli import main
from autoscaler_pauser.model import Scan
from autoscaler_pauser.targets.dynamodb import by_name_pays
from tests.support.tool import base_env
from tests.support.world import add_table, targets

T0 = datetime(2026, 11, 26, 1, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "ids,namespace,age,readers,pays",
    [
        (3, 1000, 60, 1, True),  # 6 targets of 1,000: 1 call against 20
        (3, 1000, 11 * 60, 1, False),  # the scan is too old to trust
        (600, 1200, 60, 1, False),  # 24 calls by name, 24 for the whole: no gain
        (600, 1200, 60, 10, True),  # the same 24, 10 at a time: 4 rounds against 24 pages
        (2500, 5000, 60, 10, True),  # a fleet: 10 rounds against 100 pages
        (25, 60, 60, 1, True),  # 25 ids, up to 50 targets: one page against two
        (0, 500, 60, 10, False),  # nothing to ask for
    ],
)
def test_asking_by_name_pays_when_it_is_quicker_and_the_scan_is_recent(
    ids, namespace, age, readers, pays
):
    scan = Scan(tuple(f"table/t{i}" for i in range(ids)), namespace)
    assert by_name_pays(scan, T0, T0 + timedelta(seconds=age), readers) is pays


def test_a_steady_run_asks_for_the_tables_by_name_and_a_pause_reads_everything(world, tmp_path):
    world.create_service(desired=3)
    for i in range(25):  # 150 targets of other teams' tables
        add_table(world, f"other-{i:02d}", indexes=["a", "b"])
    add_table(world, "orders", indexes=["by-date", "by-user"])
    clock = [T0]
    env = base_env(tmp_path, DYNAMODB_TABLES="orders")

    def reads(minutes: float) -> int:
        clock[0] = T0 + timedelta(minutes=minutes)
        world.calls.clear()
        assert main([], environ=env, aws_factory=world.clients, now=lambda: clock[0]) == 0
        return world.calls["DescribeScalableTargets"]

    assert reads(0) == 4, "no scan yet: the whole namespace, 156 targets"
    assert reads(1) == 1, "the 6 targets of orders by their 3 resource ids"
    world.start_cluster("nightly-backup-a")
    # A pause may begin: everything, in case of a new index (and the service's own target).
    assert reads(2) == 4 + 1
    orders = [s for key, (s, _, _) in targets(world).items() if "orders" in key]
    assert len(orders) == 6 and all(set(s.values()) == {True} for s in orders)
    assert reads(3) == 1
    assert reads(4) == 1, "a run that asked by name keeps the scan it asked from"
    assert reads(14) == 4, "the last scan is over ten minutes old"
