"""The tables a cluster's tags name, as a launcher writes them (names separated by white space,
`prefix:NAME`, continuation tags, an empty value), by tables; and the reading of the tags: a
DescribeCluster that fails in a way that passes is asked again with backoff until the run's time
for it is spent, and a cluster whose tags are not read holds every table, with a warning."""

from __future__ import annotations

import dataclasses
import types

import boto3
import pytest
from botocore.stub import Stubber

from autoscaler_pauser import clusters
from autoscaler_pauser.clusters import tables_from_tags, with_tables
from autoscaler_pauser.decide import holds
from autoscaler_pauser.model import Cluster, PauseRecord
from autoscaler_pauser.timing import BACKOFF_FIRST, BACKOFF_MOST
from tests.support.clock import Waits
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


THROTTLED = ("ThrottlingException", "Rate exceeded", 400)
DENIED = (
    "AccessDeniedException",
    "not authorized to perform elasticmapreduce:DescribeCluster",
    400,
)


class Emr:
    """A real EMR client whose DescribeCluster answers come from a script (botocore's Stubber):
    a cluster's tags, or an error (code, message, HTTP status). `asked`: how many were asked."""

    def __init__(self, *answers, takes: float = 0.0, waits: Waits | None = None):
        client = boto3.client("emr", region_name="us-east-1")
        self.asked, self.takes, self.waits = 0, takes, waits
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
        if self.waits is not None:
            self.waits.advance(self.takes)


@pytest.fixture
def waits(monkeypatch) -> Waits:
    return Waits(start=0.0).install(monkeypatch, clusters)


def read(emr: Emr, *found: Cluster, until: float = 14.0, record: PauseRecord | None = None):
    record = record or PauseRecord()
    return with_tables(found or (cluster(),), record, CONFIG_TAGS, emr.aws, until)


def test_tags_are_read_once_and_name_the_tables(waits):
    emr = Emr({TAG: "orders prefix:events-"})
    (found,), warnings = read(emr)
    assert found.tables == ("orders", "events-*") and not found.unread
    assert warnings == [] and emr.asked == 1 and waits.slept == []


def test_a_cluster_the_record_knows_is_not_asked_for(waits):
    emr = Emr()
    record = PauseRecord(clusters={"j-1": ("users",)}, clusters_tag=TAG)
    (found,), warnings = read(emr, record=record)
    assert found.tables == ("users",) and emr.asked == 0 and warnings == []


@pytest.mark.parametrize("value", ["", "   ", "prefix:"])
def test_a_tag_naming_no_table_holds_every_table_with_a_warning_naming_the_cluster(value, waits):
    (found,), warnings = read(Emr({TAG: value}))
    assert found.tables is None and not found.unread, "kept: the tags were read"
    assert warnings == [
        "cluster j-1 (nightly-backup-j-1) has the tag backup-tables, naming no table: it holds "
        "every table"
    ]


def test_a_word_that_names_no_listed_table_is_a_warning(waits):
    (found,), warnings = read(Emr({TAG: "orders ordres prefix:event-"}))
    assert found.tables == ("orders", "ordres", "event-*")
    assert warnings == [
        f"cluster j-1 (nightly-backup-j-1) names {word!r} in its tag backup-tables, which "
        "matches no listed table"
        for word in ("ordres", "prefix:event-")
    ]


def test_a_throttled_describe_cluster_is_asked_again_with_backoff(waits):
    emr = Emr(THROTTLED, THROTTLED, {TAG: "orders"})
    (found,), warnings = read(emr)
    assert found.tables == ("orders",) and warnings == []
    assert emr.asked == 3 and waits.slept == [BACKOFF_FIRST, BACKOFF_FIRST * 2]


def test_a_cluster_still_throttled_when_the_time_is_spent_holds_every_table_for_this_run(waits):
    """Asked at 0, 0.5, 1.5, 3.5 and 7.5 s: the next wait, 8 s, would end after 14 s."""
    emr = Emr(*[THROTTLED] * 10)
    (found,), [warning] = read(emr, until=14.0)
    assert found.tables is None and found.unread
    assert waits.slept == [0.5, 1.0, 2.0, 4.0] and emr.asked == 5
    assert warning == (
        "cluster j-1 (nightly-backup-j-1): its tags were not read: DescribeCluster failed: "
        "ThrottlingException: Rate exceeded (asked 5 times); it holds every table for this run, "
        "and the next run reads them again"
    )


def test_the_wait_doubles_up_to_the_most(waits):
    emr = Emr(*[THROTTLED] * 11)
    read(emr, until=60.0)
    assert waits.slept == [0.5, 1.0, 2.0, 4.0, *[8.0] * 6] and BACKOFF_MOST == 8.0
    assert emr.asked == 11


@pytest.mark.parametrize(
    "error",
    [("InternalServerError", "oops", 500), ("ServiceUnavailable", "later", 503)],
    ids=lambda e: e[0],
)
def test_an_error_of_aws_s_side_is_asked_again(error, waits):
    emr = Emr(error, {TAG: "users"})
    (found,), warnings = read(emr)
    assert (
        found.tables == ("users",)
        and warnings == []
        and emr.asked == 2
        and waits.slept == [BACKOFF_FIRST]
    )


def test_a_denied_describe_cluster_is_not_asked_again_and_says_what_to_allow(waits):
    emr = Emr(DENIED)
    (found,), [warning] = read(emr)
    assert found.unread and emr.asked == 1 and waits.slept == []
    assert "AccessDeniedException" in warning
    assert "allow elasticmapreduce:DescribeCluster (docs/iam.md)" in warning


def test_an_error_asking_again_cannot_mend_is_not_asked_again(waits):
    emr = Emr(("InvalidRequestException", "Cluster id 'j-1' is not valid.", 400))
    (found,), [warning] = read(emr)
    assert found.unread and emr.asked == 1
    assert (
        "DescribeCluster failed: InvalidRequestException: Cluster id 'j-1' is not valid." in warning
    )


def test_the_next_cluster_is_asked_for_in_the_time_left(waits):
    """The first cluster is asked at 0, 0.5, 1.5, 3.5 and 7.5 s; the second at 7.5, 8, 9 and
    11 s; the third is known."""
    emr = Emr(*[THROTTLED] * 9)
    record = PauseRecord(clusters={"j-3": ("archive",)}, clusters_tag=TAG)
    found, warnings = read(emr, cluster("j-1"), cluster("j-2"), cluster("j-3"), record=record)
    assert [c.unread for c in found] == [True, True, False] and found[2].tables == ("archive",)
    assert emr.asked == 9 and waits.slept == [0.5, 1.0, 2.0, 4.0, 0.5, 1.0, 2.0]
    assert "(asked 4 times)" in warnings[1]


def test_no_describe_cluster_starts_after_the_time_is_spent(monkeypatch):
    """The first cluster's call hangs for 16 s: the second is not asked."""
    waits = Waits(start=0.0).install(monkeypatch, clusters)
    emr = Emr(THROTTLED, takes=16.0, waits=waits)
    found, warnings = read(emr, cluster("j-1"), cluster("j-2"))
    assert [c.unread for c in found] == [True, True] and emr.asked == 1 and waits.slept == []
    assert warnings[1] == (
        "cluster j-2 (nightly-backup-j-2): its tags were not read: not asked: the run's time for "
        "the clusters' tags was spent; it holds every table for this run, and the next run reads "
        "them again"
    )


def test_what_was_read_before_a_cluster_that_fails_is_kept(waits):
    emr = Emr({TAG: "orders"}, *[THROTTLED] * 5)
    found, warnings = read(emr, cluster("j-1"), cluster("j-2"))
    assert [(c.tables, c.unread) for c in found] == [(("orders",), False), (None, True)]
    assert len(warnings) == 1 and warnings[0].startswith("cluster j-2 ")


def test_without_the_key_no_cluster_is_asked_for(waits):
    emr = Emr()
    found, warnings = with_tables((cluster(),), PauseRecord(), CONFIG, emr.aws, 14.0)
    assert found == (cluster(),) and warnings == [] and emr.asked == 0
