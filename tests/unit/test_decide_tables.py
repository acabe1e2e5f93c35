"""decide per table: which clusters hold which table (from their tags), each table's own verdict
and grace, the targets the config no longer names given back; by tables, then by properties over
random nights of several clusters and tables."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoscaler_pauser.decide import decide, give_back, holds
from autoscaler_pauser.model import (
    EVERY_TABLE,
    SCALING,
    SUSPENDED,
    Change,
    Cluster,
    Hold,
    Observed,
    PauseRecord,
    Suspension,
    TargetView,
    Why,
)
from autoscaler_pauser.records import next_pause_record
from tests.unit.scene import CONFIG, KEY, NOW

TABLES = ("orders", "users", "events-2026")
CONFIG3 = dataclasses.replace(CONFIG, dynamodb_tables=TABLES, cluster_tables_tag="backup-tables")
PART = Suspension(False, False, True)


def cluster(cid, tables=None):
    return Cluster(cid, f"nightly-backup-{cid}", "RUNNING", "nightly-backup-", tables)


def table_target(table, current, side="read"):
    return TargetView(
        f"dynamodb:us-east-1/table/{table}:{side}",
        f"table/{table} {side}",
        current,
        None,
        SUSPENDED,
        SCALING,
        keeps_earlier_pause=True,
        scope=table,
    )


def service(current, tag=None):
    return TargetView(KEY, "ddb-scaler", current, tag, 0, 1, saves_on_aws=True)


# cluster's tables, scope -> holds it
HOLDS = [
    ("no tag: every table", None, "orders", True),
    ("no tag: the ECS service", None, EVERY_TABLE, True),
    ("tagged: the table it names", ("orders",), "orders", True),
    ("tagged: not another table", ("orders",), "users", False),
    ("tagged: the ECS service all the same", ("orders",), EVERY_TABLE, True),
    ("a pattern", ("users", "events-*"), "events-2026", True),
    ("a pattern is matched whole", ("events",), "events-2026", False),
    ("an empty tag: no table", (), "orders", False),
    ("names are matched exactly", ("Orders",), "orders", False),
]


@pytest.mark.parametrize("tables, scope, held", [r[1:] for r in HOLDS], ids=[r[0] for r in HOLDS])
def test_which_clusters_hold_which_table(tables, scope, held):
    assert holds(cluster("j-1", tables), scope) is held


def test_each_table_pauses_for_the_clusters_that_back_it_up_and_the_service_for_any():
    targets = (service(3), *(table_target(t, SCALING) for t in TABLES))
    observed = Observed((cluster("j-1", ("orders",)),), targets)
    plan = decide(observed, PauseRecord(), CONFIG3, NOW)
    assert plan.verdict(EVERY_TABLE).pause and plan.verdict("orders").pause
    assert not plan.verdict("users").pause and not plan.verdict("events-2026").pause
    assert [c.label for c in plan.changes] == ["ddb-scaler", "table/orders read"]
    assert plan.verdict("users").reason == (
        "no active cluster backs up users (1 active cluster matches 'nightly-backup-' (j-1))"
    )
    assert dict(plan.clusters) == {"j-1": ("orders",)} and plan.clusters_tag == "backup-tables"


def test_a_cluster_whose_tags_were_not_read_holds_every_table_and_is_not_kept():
    """Its tags are read again next run; the tags read of another cluster are kept."""
    unread = dataclasses.replace(cluster("j-2"), unread=True)
    targets = tuple(table_target(t, SCALING) for t in TABLES)
    plan = decide(
        Observed((cluster("j-1", ("orders",)), unread), targets), PauseRecord(), CONFIG3, NOW
    )
    assert all(plan.verdict(t).pause for t in TABLES)
    assert plan.verdict("users").holding == ("j-2",)
    assert dict(plan.clusters) == {"j-1": ("orders",)}


def test_a_table_resumes_when_its_last_cluster_ends_while_the_others_stay_paused():
    before = PauseRecord(
        holds={s: Hold(paused_at="2026-11-26T01:00:00Z") for s in (EVERY_TABLE, *TABLES)},
        saved={t.key: SCALING for t in (table_target(x, SCALING) for x in TABLES)} | {KEY: 3},
        fresh=False,
    )
    targets = (service(0, 3), *(table_target(t, SUSPENDED) for t in TABLES))
    still = cluster("j-2", ("users", "events-*"))
    plan = decide(Observed((still,), targets), before, CONFIG3, NOW)
    assert [(c.label, c.after) for c in plan.changes] == [("table/orders read", SCALING)]
    after = next_pause_record(before, plan, {}, NOW)
    assert set(after.paused_scopes()) == {EVERY_TABLE, "users", "events-2026"}
    assert after.holds["users"].paused_at == "2026-11-26T01:00:00Z", "its pause goes on"


def test_each_table_keeps_its_own_grace():
    grace = dataclasses.replace(CONFIG3, resume_grace_seconds=600)
    seen = {"orders": NOW - timedelta(minutes=5), "users": NOW - timedelta(minutes=11)}
    before = PauseRecord(
        holds={
            t: Hold(paused_at="2026-11-26T01:00:00Z", last_seen=at.strftime("%Y-%m-%dT%H:%M:%SZ"))
            for t, at in seen.items()
        },
        fresh=False,
    )
    plan = decide(Observed((), ()), before, grace, NOW)
    assert plan.verdict("orders").pause and not plan.verdict("users").pause


# its pre-pause setting, the target now -> the change
GIVE_BACK = [
    (
        "paused by us: set back",
        SCALING,
        SUSPENDED,
        Change("k", "t", Why.GIVE_BACK, SUSPENDED, SCALING),
    ),
    ("partly: set back exactly", PART, SUSPENDED, Change("k", "t", Why.GIVE_BACK, SUSPENDED, PART)),
    ("already as it was: nothing", SCALING, SCALING, None),
    ("paused before us: stays", SUSPENDED, SUSPENDED, None),
    ("not known: left as it is", None, SUSPENDED, None),
]


@pytest.mark.parametrize(
    "saved, current, change", [r[1:] for r in GIVE_BACK], ids=[r[0] for r in GIVE_BACK]
)
def test_a_target_the_config_no_longer_names_is_given_back(saved, current, change):
    target = TargetView("k", "t", current, None, SUSPENDED, SCALING, managed=False)
    assert give_back(target, saved) == change


def test_given_back_whatever_the_clusters_do_and_dropped_from_the_record():
    gone = dataclasses.replace(table_target("retired", SUSPENDED), managed=False)
    before = PauseRecord(
        holds={"orders": Hold(paused_at="2026-11-26T01:00:00Z")},
        saved={gone.key: PART, "dynamodb:us-east-1/table/deleted:read": SCALING},
        fresh=False,
    )
    observed = Observed((cluster("j-1"),), (gone,), gone=("dynamodb:us-east-1/table/deleted:read",))
    plan = decide(observed, before, CONFIG3, NOW)
    assert plan.changes == (
        Change(gone.key, gone.label, Why.GIVE_BACK, SUSPENDED, PART, scope="retired"),
    )
    assert gone.key not in plan.saved and plan.forgotten == (
        "dynamodb:us-east-1/table/deleted:read",
    )
    after = next_pause_record(before, plan, {}, NOW)
    assert "retired" not in after.holds and gone.key not in after.saved


# --- properties: random nights of clusters backing up some tables -------------------------------

tagged = st.one_of(st.none(), st.lists(st.sampled_from([*TABLES, "events-*", "nope"]), max_size=3))
events = st.lists(
    st.one_of(
        st.tuples(st.just("start"), st.integers(0, 3), tagged),
        st.tuples(st.just("stop"), st.integers(0, 3), st.none()),
        st.tuples(st.just("wait"), st.integers(1, 12), st.none()),
    ),
    min_size=1,
    max_size=40,
)
starts = st.fixed_dictionaries(
    {t: st.builds(Suspension, st.booleans(), st.booleans(), st.just(False)) for t in TABLES}
)


@settings(max_examples=300, deadline=None)
@given(events=events, start=starts, grace_minutes=st.sampled_from([0, 5, 10]))
def test_every_table_a_cluster_holds_is_paused_and_none_beyond_its_grace(
    events, start, grace_minutes
):
    """After every run: each table some active cluster holds is suspended, with its pre-pause
    setting recorded and never a paused one; a table no active cluster has held for the grace
    is back to exactly its setting from before the night."""
    config = dataclasses.replace(CONFIG3, resume_grace_seconds=grace_minutes * 60)
    current = dict(start)
    record, now = PauseRecord(), NOW
    active: dict[int, tuple[str, ...] | None] = {}
    last_held: dict[str, object] = {}
    for kind, number, tables in events:
        if kind == "start":
            active[number] = None if tables is None else tuple(tables)
        elif kind == "stop":
            active.pop(number, None)
        else:
            now += timedelta(minutes=number)
        clusters = tuple(cluster(f"j-{n}", t) for n, t in sorted(active.items()))
        targets = tuple(table_target(t, current[t]) for t in TABLES)
        plan = decide(Observed(clusters, targets), record, config, now)
        for change in plan.changes:
            if change.after is not None:
                current[change.key.split("/")[-1].split(":")[0]] = change.after
        record = next_pause_record(record, plan, {}, now)
        for table in TABLES:
            held = any(holds(c, table) for c in clusters)
            if held:
                last_held[table] = now
            key = f"dynamodb:us-east-1/table/{table}:read"
            if held:
                assert current[table] == SUSPENDED, table
                assert record.saved[key] == start[table] != SUSPENDED
            quiet = last_held.get(table)
            if not held and (quiet is None or now - quiet >= timedelta(minutes=grace_minutes)):
                assert current[table] == start[table], table
                assert key not in record.saved
