"""Backup clusters that name their tables in their tags as a launcher writes them
(cluster_tables_tag), one run through main() against moto in process: names separated by white
space, a prefix, an empty tag; and a DescribeCluster that EMR throttles (moto never does: a
botocore event hook answers for it), which costs a cluster its tags for the run, not the run."""

from __future__ import annotations

import json

import pytest
from botocore.awsrequest import AWSResponse

from autoscaler_pauser import clusters
from autoscaler_pauser.cli import main
from tests.support.clock import Waits
from tests.support.tool import base_env
from tests.support.world import SUSPENDED, add_table, attaching, targets

TAG = "backup-tables"
TABLES = ("orders", "users", "events-2026", "events-2027", "archive")


@pytest.fixture
def night(world):
    world.create_service(desired=3)
    for table in TABLES:
        add_table(world, table)
    return world


def env(tmp_path) -> dict[str, str]:
    return base_env(tmp_path, DYNAMODB_TABLES=",".join(TABLES), CLUSTER_TABLES_TAG=TAG)


def run(world, tmp_path, aws_factory=None) -> int:
    return main([], environ=env(tmp_path), aws_factory=aws_factory or world.clients)


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


def kept(tmp_path) -> dict:
    """The tables of each cluster the pause record keeps, as read from its tags."""
    return json.loads((tmp_path / "state" / "state.json").read_text())["pause"].get("clusters", {})


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


def throttled(world, cluster_id: str):
    """The tool's clients, with every DescribeCluster of the cluster answered with EMR's
    throttling error before botocore's tries (one try each: the count is the run's own asks)."""

    def throttle(params, **_):
        body = params["body"]
        if cluster_id not in (body.decode() if isinstance(body, bytes) else str(body)):
            return None
        error = {"Code": "ThrottlingException", "Message": "Rate exceeded"}
        answer = {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}
        return AWSResponse("https://elasticmapreduce", 400, {}, None), answer

    def attach(client):
        client.meta.events.register("before-call.emr.DescribeCluster", throttle)
        return client

    return attaching(world.clients, attach)


def test_a_throttled_describe_cluster_pauses_the_service_and_every_table(
    night, tmp_path, capsys, monkeypatch
):
    waits = Waits().install(monkeypatch, clusters)
    cid = night.start_cluster("nightly-backup-a", tags={TAG: "orders"})
    assert run(night, tmp_path, throttled(night, cid)) == 0
    assert night.desired() == 0 and paused(night) == set(TABLES)
    assert night.calls["DescribeCluster"] == 5 and waits.slept == [0.5, 1.0, 2.0, 4.0]
    [warning] = warnings(capsys)
    assert (
        f"cluster {cid} (nightly-backup-a): its tags were not read: DescribeCluster failed: "
        "ThrottlingException: Rate exceeded (asked 5 times); it holds every table"
    ) in warning
    assert cid not in kept(tmp_path), "its tags are read again next run"
    [active] = json.loads((tmp_path / "state" / "state.json").read_text())["run"]["active_clusters"]
    assert active["unread"] is True and active["tables"] is None
    assert main(["status"], environ=env(tmp_path)) == 0
    out = capsys.readouterr().out
    assert (
        f"{cid} nightly-backup-a (WAITING, prefix 'nightly-backup-'): every table (its tags " in out
    )
    assert "every table (its tags were not read)" in out


def test_the_tags_read_are_kept_when_another_cluster_s_cannot_be_read(night, tmp_path, monkeypatch):
    Waits().install(monkeypatch, clusters)
    first = night.start_cluster("nightly-backup-a", tags={TAG: "orders"})
    second = night.start_cluster("nightly-backup-b", tags={TAG: "users"})
    assert run(night, tmp_path, throttled(night, second)) == 0
    assert paused(night) == set(TABLES), "the second holds every table for this run"
    assert kept(tmp_path) == {first: ["orders"]}
    night.calls.clear()
    assert run(night, tmp_path) == 0  # EMR answers again
    assert night.calls["DescribeCluster"] == 1, "only the second's tags are asked for"
    assert paused(night) == {"orders", "users"}
