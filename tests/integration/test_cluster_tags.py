"""Backup clusters that name their tables in their tags as a launcher writes them
(cluster_tables_tag), one run through main() against moto in process: names separated by white
space, a prefix, continuation tags, an empty tag."""

from __future__ import annotations

import pytest

from autoscaler_pauser.cli import main
from tests.support.tool import base_env
from tests.support.world import SUSPENDED, add_table, targets

TAG = "backup-tables"
TABLES = ("orders", "users", "events-2026", "events-2027", "archive")


@pytest.fixture
def night(world):
    world.create_service(desired=3)
    for table in TABLES:
        add_table(world, table)
    return world


def run(world, tmp_path, aws_factory=None) -> int:
    env = base_env(tmp_path, DYNAMODB_TABLES=",".join(TABLES), CLUSTER_TABLES_TAG=TAG)
    return main([], environ=env, aws_factory=aws_factory or world.clients)


def paused(world) -> set[str]:
    """The tables whose every target is suspended."""
    found = targets(world)
    return {
        t
        for t in TABLES
        if all(
            found[f"table/{t} {d}"][0] == SUSPENDED
            for d in ("ReadCapacityUnits", "WriteCapacityUnits")
        )
    }


def warnings(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if " WARNING " in line]


def test_a_cluster_tagged_with_names_pauses_only_those_tables(night, tmp_path, capsys):
    night.start_cluster("nightly-backup-a", tags={TAG: "orders users"})
    assert run(night, tmp_path) == 0
    assert paused(night) == {"orders", "users"} and night.desired() == 0
    assert warnings(capsys) == []


def test_a_prefix_holds_every_table_whose_name_starts_with_it(night, tmp_path):
    night.start_cluster("nightly-backup-a", tags={TAG: "prefix:events-"})
    assert run(night, tmp_path) == 0
    assert paused(night) == {"events-2026", "events-2027"}


def test_continuation_tags_add_to_it_and_another_tag_like_them_does_not(night, tmp_path):
    tags = {TAG: "orders", f"{TAG}-2": "prefix:events-2026", f"{TAG}-owner": "archive"}
    night.start_cluster("nightly-backup-a", tags=tags)
    assert run(night, tmp_path) == 0
    assert paused(night) == {"orders", "events-2026"}


@pytest.mark.parametrize("value", ["", "   "], ids=["empty", "separators"])
def test_a_tag_naming_no_table_holds_every_table_with_a_warning(night, tmp_path, capsys, value):
    cid = night.start_cluster("nightly-backup-a", tags={TAG: value})
    assert run(night, tmp_path) == 0
    assert paused(night) == set(TABLES)
    [warning] = warnings(capsys)
    assert f"cluster {cid} (nightly-backup-a) has the tag backup-tables, naming no table" in warning
