"""The tables a cluster's tags name, as a launcher writes them (names separated by white space,
`prefix:NAME`, continuation tags, an empty value), by tables; and the warnings of reading them."""

from __future__ import annotations

import dataclasses
import types

import boto3
import pytest
from botocore.stub import Stubber

from autoscaler_pauser.clusters import tables_from_tags, with_tables
from autoscaler_pauser.decide import holds
from autoscaler_pauser.model import Cluster, PauseRecord
from tests.unit.scene import CONFIG

TAG = "backup-tables"
TABLES = ("orders", "users", "events-2026", "events-2027", "archive")
CONFIG_TAGS = dataclasses.replace(CONFIG, dynamodb_tables=TABLES, cluster_tables_tag=TAG)

# a cluster's tags -> the patterns of the tables they name (None: every table)
NAMED = [
    ("names separated by white space", {TAG: "orders users"}, ("orders", "users")),
    ("any run of white space", {TAG: " orders \u00a0 users  "}, ("orders", "users")),
    ("a prefix", {TAG: "prefix:events-"}, ("events-*",)),
    (
        "names and a prefix",
        {TAG: "orders users prefix:events-2026"},
        ("orders", "users", "events-2026*"),
    ),
    (
        "continuation tags, in their order",
        {f"{TAG}-10": "d", f"{TAG}-3": "c", TAG: "a", f"{TAG}-2": "b"},
        ("a", "b", "c", "d"),
    ),
    ("a continuation tag without the first", {f"{TAG}-2": "users"}, ("users",)),
    (
        "no other tag that starts like them",
        {
            TAG: "orders",
            f"{TAG}-owner": "team-a",
            f"{TAG}-1": "one",
            f"{TAG}-02": "two",
            f"{TAG}2": "three",
            f"{TAG}-2x": "four",
        },
        ("orders",),
    ),
    ("only a tag that starts like it: none of the tags", {f"{TAG}-owner": "team-a"}, None),
    ("no tag", {"team": "data"}, None),
    ("the key matched exactly", {TAG.upper(): "orders"}, None),
    ("an empty tag: every table", {TAG: ""}, None),
    ("only separators: every table", {TAG: "  ,  "}, None),
    ("a prefix with no name names nothing", {TAG: "prefix:"}, None),
    (
        "each once",
        {TAG: "orders orders prefix:ev prefix:ev", f"{TAG}-2": "orders"},
        ("orders", "ev*"),
    ),
    ("the earlier form: commas", {TAG: "orders,orders-archive"}, ("orders", "orders-archive")),
    ("the earlier form: a pattern", {TAG: "orders, events-*"}, ("orders", "events-*")),
    ("a prefix's name is literal", {TAG: "prefix:ev*"}, ("ev[*]*",)),
]


@pytest.mark.parametrize("tags, tables", [r[1:] for r in NAMED], ids=[r[0] for r in NAMED])
def test_the_tables_a_cluster_s_tags_name(tags, tables):
    assert tables_from_tags(tags, TAG) == tables


def cluster(cid: str = "j-1", tables=None) -> Cluster:
    return Cluster(cid, f"nightly-backup-{cid}", "RUNNING", "nightly-backup-", tables)


# a cluster's tag -> the tables it holds
HELD = [
    ("orders users", {"orders", "users"}),
    ("prefix:events-", {"events-2026", "events-2027"}),
    ("prefix:events-2026", {"events-2026"}),
    ("prefix:orders users", {"orders", "users"}),
    ("", set(TABLES)),
]


@pytest.mark.parametrize("value, held", HELD, ids=[repr(h[0]) for h in HELD])
def test_a_cluster_holds_the_tables_its_tag_names(value, held):
    tagged = cluster(tables=tables_from_tags({TAG: value}, TAG))
    assert {t for t in TABLES if holds(tagged, t)} == held


# --- reading the tags ----------------------------------------------------------------------------


class Emr:
    """A real EMR client whose DescribeCluster answers come from a script (botocore's Stubber):
    a cluster's tags, or an error (code, message, HTTP status). `asked`: how many were asked."""

    def __init__(self, *answers):
        client = boto3.client("emr", region_name="us-east-1")
        self.asked = 0
        client.meta.events.register("before-parameter-build.emr.DescribeCluster", self._count)
        stub = Stubber(client)
        for answer in answers:
            if isinstance(answer, dict):
                tags = [{"Key": k, "Value": v} for k, v in answer.items()]
                stub.add_response("describe_cluster", {"Cluster": {"Tags": tags}})
            else:
                code, message, status = answer
                stub.add_client_error("describe_cluster", code, message, http_status_code=status)
        stub.activate()
        self.aws = types.SimpleNamespace(emr=client)

    def _count(self, **_) -> None:
        self.asked += 1


def read(emr: Emr, *found: Cluster, record: PauseRecord | None = None):
    record = record or PauseRecord()
    return with_tables(found or (cluster(),), record, CONFIG_TAGS, emr.aws)


def test_tags_are_read_once_and_name_the_tables():
    emr = Emr({TAG: "orders prefix:events-"})
    (found,), warnings = read(emr)
    assert found.tables == ("orders", "events-*")
    assert warnings == [] and emr.asked == 1


def test_a_cluster_the_record_knows_is_not_asked_for():
    emr = Emr()
    record = PauseRecord(clusters={"j-1": ("users",)}, clusters_tag=TAG)
    (found,), warnings = read(emr, record=record)
    assert found.tables == ("users",) and emr.asked == 0 and warnings == []


@pytest.mark.parametrize("value", ["", "   ", "prefix:"])
def test_a_tag_naming_no_table_holds_every_table_with_a_warning_naming_the_cluster(value):
    (found,), warnings = read(Emr({TAG: value}))
    assert found.tables is None
    assert warnings == [
        "cluster j-1 (nightly-backup-j-1) has the tag backup-tables, naming no table: it holds "
        "every table"
    ]


def test_a_word_that_names_no_listed_table_is_a_warning():
    (found,), warnings = read(Emr({TAG: "orders ordres prefix:event-"}))
    assert found.tables == ("orders", "ordres", "event-*")
    assert warnings == [
        f"cluster j-1 (nightly-backup-j-1) names {word!r} in its tag backup-tables, which "
        "matches no table of dynamodb_tables"
        for word in ("ordres", "prefix:event-")
    ]


def test_without_the_key_no_cluster_is_asked_for():
    emr = Emr()
    found, warnings = with_tables((cluster(),), PauseRecord(), CONFIG, emr.aws)
    assert found == (cluster(),) and warnings == [] and emr.asked == 0
