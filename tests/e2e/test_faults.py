"""Faults, throttling, hangs, races, crashes and secrets. (Bad state files and unusable paths,
which need no process of their own: tests/integration/test_bad_state.py.)

reconcile.py runs as cron runs it, a subprocess, over real HTTP through the fault proxy
(tests/support/proxy.py) to moto server on loopback. The promise under test: it never writes a
wrong desired count, never loses the pre-pause count, and every failure is loud, clear and safe.
"""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from autoscaler_pauser.model import SCALING
from autoscaler_pauser.targets.ecs import SAVED_COUNT_TAG, SAVED_SCALING_TAG
from autoscaler_pauser.targets.scalable import format_flags
from tests.support.proxy import (
    AAS,
    DESCRIBE_SERVICES,
    ECS,
    LIST_CLUSTERS,
    TAG_RESOURCE,
    UNTAG_RESOURCE,
    UPDATE_SERVICE,
)
from tests.support.state import whole
from tests.support.tool import FAKE_CREDENTIALS, TOOL, base_env, run_tool, tool_env
from tests.support.world import add_table, register, targets

START = 3  # the autoscaler's desired count before any backup
TAGGED = {SAVED_COUNT_TAG: str(START)}
DEADLINE = 45  # seconds a run may take against a hung endpoint (the requirement)
# What the tool reports for each fault kind once botocore gives up.
ERROR_CODES = {
    "throttle": "ThrottlingException",
    "5xx": "ServiceUnavailableException",
    "denied": "AccessDeniedException",
    "drop": "ConnectionClosedError",
    "hang": "ReadTimeoutError",
}
QUICK_KINDS = ["throttle", "5xx", "denied", "drop"]

pytestmark = pytest.mark.slow


@pytest.fixture
def env(server_world, fault_proxy, tmp_path):
    return base_env(tmp_path, AWS_ENDPOINT_URL=fault_proxy.url)


def state_path(env) -> Path:
    return Path(env["STATE_FILE"])


def whole_state(env) -> dict:
    return whole(state_path(env))


def healthy(env) -> subprocess.CompletedProcess:
    r = run_tool([], env)
    assert r.returncode == 0, r.stderr
    return r


def backup_starts(world) -> str:
    """The autoscaler runs at START and a backup cluster starts; the cluster's id."""
    world.create_service(desired=START)
    return world.start_cluster("nightly-backup-users")


def paused(world, env) -> str:
    """A backup runs and the autoscaler is paused at 0 with its count saved; the cluster's id."""
    cluster = backup_starts(world)
    healthy(env)
    assert world.desired() == 0 and world.tags() == TAGGED
    return cluster


def heal_and_pause(proxy, world, env) -> None:
    """The faults end: the next run pauses the autoscaler, saving its count on the service."""
    proxy.heal()
    healthy(env)
    assert world.desired() == 0 and world.tags() == TAGGED


def errors(r) -> list[str]:
    return [line for line in r.stderr.splitlines() if " ERROR " in line]


def failed_run_line(proxy, env, action, kind) -> str:
    """A run with `action` failing: it exits 1, and its one line about the service is an ERROR
    line (so no INFO line claims what failed); that line, without its time stamp."""
    proxy.fail(action, kind)
    r = run_tool([], env)
    assert r.returncode == 1, r.stderr
    [line] = errors(r)
    assert [x for x in r.stderr.splitlines() if "ddb-scaler" in x] == [line], r.stderr
    return line.split(" ", 1)[1]


def timed_run(env) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    r = run_tool([], env, timeout=120)
    return r, time.monotonic() - started


def start_tool(env, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        TOOL,
        env=tool_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


# --- 1. transient faults -------------------------------------------------------------------------

SCALING_TAG = {SAVED_SCALING_TAG: format_flags(SCALING)}


def add_native_scaling(world) -> None:
    """Two auto scaled tables, and the autoscaler service as a scalable target of its own."""
    add_table(world, "orders", indexes=["by-date"])
    add_table(world, "users")
    register(world, "service/autoscaler/ddb-scaler", "ecs:service:DesiredCount", namespace="ecs")


def suspensions(world) -> set[bool]:
    """Every flag of every scalable target: {True} when all are suspended, {False} when none."""
    found = {**targets(world), **targets(world, "ecs")}
    return {flag for state, _, _ in found.values() for flag in state.values()}


@pytest.mark.parametrize(
    "seed,native,nights", [(1, False, 2), (2, True, 1)], ids=["ecs", "ecs+native"]
)
def test_transient_faults_converge_and_no_write_carries_a_wrong_setting(
    server_world, fault_proxy, env, seed, native, nights
):
    w, proxy = server_world, fault_proxy
    proxy.rng.seed(seed)
    # Half of all calls fail on the way in (throttled, 503, or the line dropped), and a fifth of
    # the writes that get through lose their answer on the way back, after moto made the change.
    for service in (ECS, AAS):
        proxy.fail(service, ("5xx", "drop"), probability=0.2, after=True)
    proxy.fail("", ("throttle", "5xx", "drop"), probability=0.5)
    w.create_service(desired=START)
    if native:
        add_native_scaling(w)
        env["DYNAMODB_TABLES"] = "orders,users"
    cluster = None

    def start():
        nonlocal cluster
        cluster = w.start_cluster("nightly-backup-users")

    # phase, what changes in the world, desired count, tags and suspension it must converge to
    paused_tags = {**TAGGED, **SCALING_TAG} if native else TAGGED
    phases = [("no backup", lambda: None, START, {}, False)] + [
        ("backup", start, 0, paused_tags, True),
        ("backup over", lambda: w.stop_cluster(cluster), START, {}, False),
    ] * nights
    exits, injected = [], 0
    for phase, change, count, tags, suspended in phases:
        change()
        proxy.forget()
        for _ in range(15):
            r = run_tool([], env)
            exits.append(r.returncode)
            assert r.returncode in (0, 1), r.stderr
            assert "Traceback" not in r.stderr
            if r.returncode == 1:
                assert errors(r), r.stderr
            converged = w.desired() == count and w.tags() == tags
            if native:
                converged = converged and suspensions(w) == {suspended}
            if r.returncode == 0 and converged:
                break
        else:
            pytest.fail(f"{phase}: no convergence in 15 runs")
        s = whole_state(env)
        assert s["last_result"] == "ok" and s["paused"] is suspended, (phase, s)
        assert s["saved_desired_count"] == (START if suspended else None), (phase, s)
        # Every write sent, answered or not, carried the right setting.
        updates = [b["desiredCount"] for b in proxy.bodies(UPDATE_SERVICE)]
        assert set(updates) <= {count}, (phase, updates)
        assert (updates != []) is (phase != "no backup"), (phase, updates)
        for body in proxy.bodies(TAG_RESOURCE):
            [tag] = body["tags"]
            assert tag in [{"key": k, "value": v} for k, v in paused_tags.items()], body
        for body in proxy.bodies(AAS + "RegisterScalableTarget"):
            assert set(body["SuspendedState"].values()) == {suspended}, (phase, body)
            assert "MinCapacity" not in body and "MaxCapacity" not in body, body
        injected += sum(proxy.injected.values())
    # The faults had teeth: runs failed along the way and still converged.
    assert 1 in exits and injected >= 10, (exits, injected)
    print(f"transient ({seed}): {len(exits)} runs, {exits.count(1)} failed, {injected} faults")
    proxy.heal()
    proxy.forget()
    healthy(env)
    assert proxy.count(UPDATE_SERVICE) == proxy.count(AAS + "RegisterScalableTarget") == 0


# --- 2. lasting EMR faults -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", [*QUICK_KINDS, "hang"])
def test_lasting_emr_fault_does_not_resume_and_next_healthy_run_does(
    server_world, fault_proxy, env, kind
):
    w, proxy = server_world, fault_proxy
    w.stop_cluster(paused(w, env))  # the backup is over, but the tool cannot see that
    proxy.forget()
    proxy.fail(LIST_CLUSTERS, kind)
    r, took = timed_run(env)
    print(f"EMR {kind}: the run took {took:.1f} s, {proxy.count(LIST_CLUSTERS)} ListClusters calls")
    assert took < DEADLINE, f"a run against a failing EMR took {took:.1f} s"
    assert r.returncode == 1, r.stderr
    assert errors(r) == [
        line
        for line in r.stderr.splitlines()
        if f"ListClusters failed: {ERROR_CODES[kind]}" in line
    ]
    assert len(errors(r)) == 1 and "the autoscaler was left as it is" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and "resumed" not in r.stderr
    # Changed in neither direction: ECS was not even asked.
    assert w.desired() == 0 and w.tags() == TAGGED
    assert proxy.count(ECS) == 0
    # Three tries, as docs/failure-modes.md says; access denied is not worth a retry.
    assert proxy.count(LIST_CLUSTERS) == (1 if kind == "denied" else 3)
    s = whole_state(env)
    assert s["last_result"] == "error" and s["last_error"].startswith("ListClusters failed: ")
    assert s["paused"] is True and s["saved_desired_count"] == START

    proxy.heal()
    r = healthy(env)
    assert f"resumed ddb-scaler 0 → {START}" in r.stderr
    assert w.desired() == START and w.tags() == {}
    assert whole_state(env)["last_result"] == "ok"


@pytest.mark.parametrize("kind", QUICK_KINDS)
def test_lasting_emr_fault_does_not_pause_and_next_healthy_run_does(
    server_world, fault_proxy, env, kind
):
    w, proxy = server_world, fault_proxy
    w.create_service(desired=START)
    healthy(env)
    w.start_cluster("nightly-backup-users")  # a backup starts, but the tool cannot see it
    proxy.forget()
    proxy.fail(LIST_CLUSTERS, kind)
    r = run_tool([], env)
    assert r.returncode == 1 and f"ListClusters failed: {ERROR_CODES[kind]}" in r.stderr
    assert "paused" not in r.stderr
    assert w.desired() == START and w.tags() == {} and proxy.count(ECS) == 0
    s = whole_state(env)
    assert s["last_result"] == "error" and s["paused"] is False

    heal_and_pause(proxy, w, env)


# --- 3. ECS faults -------------------------------------------------------------------------------


def test_failing_describe_services_changes_nothing_and_next_run_pauses(
    server_world, fault_proxy, env
):
    w, proxy = server_world, fault_proxy
    backup_starts(w)
    proxy.fail(DESCRIBE_SERVICES, "5xx")
    r = run_tool([], env)
    assert r.returncode == 1
    assert errors(r) and "DescribeServices failed: ServiceUnavailableException" in errors(r)[0]
    assert "the autoscaler was left as it is" in r.stderr and "paused" not in r.stderr
    assert proxy.count(UPDATE_SERVICE) == proxy.count(TAG_RESOURCE) == 0
    assert w.desired() == START
    s = whole_state(env)
    assert s["last_result"] == "error" and "DescribeServices" in s["last_error"]

    heal_and_pause(proxy, w, env)


def test_failing_update_service_on_pause_is_reported_as_not_paused(server_world, fault_proxy, env):
    w, proxy = server_world, fault_proxy
    backup_starts(w)
    line = failed_run_line(proxy, env, UPDATE_SERVICE, "throttle")
    assert w.desired() == START
    # The log must not claim a pause that did not happen.
    assert line.startswith("ERROR could not pause ddb-scaler 3 → 0: 1 active cluster matches")
    assert line.endswith("; UpdateService failed: ThrottlingException: Rate exceeded")
    s = whole_state(env)
    assert s["last_result"] == "error" and "UpdateService failed" in s["last_error"]
    assert s["last_action"] == "none" and s["failed_targets"] == ["ddb-scaler"], s
    assert s["saved_desired_count"] == START  # the tag went through; keep what it says

    heal_and_pause(proxy, w, env)
    assert {b["desiredCount"] for b in proxy.bodies(UPDATE_SERVICE)} == {0}


def test_failing_update_service_on_resume_keeps_saved_count(server_world, fault_proxy, env):
    w, proxy = server_world, fault_proxy
    w.stop_cluster(paused(w, env))
    line = failed_run_line(proxy, env, UPDATE_SERVICE, "denied")
    assert line.startswith("ERROR could not resume ddb-scaler 0 → 3: no active cluster matches")
    assert "; UpdateService failed: AccessDeniedException: " in line
    assert w.desired() == 0 and w.tags() == TAGGED
    s = whole_state(env)
    assert s["last_result"] == "error" and s["paused"] is True
    assert s["saved_desired_count"] == START

    proxy.heal()
    healthy(env)
    assert w.desired() == START and w.tags() == {}
    assert {b["desiredCount"] for b in proxy.bodies(UPDATE_SERVICE)} == {0, START}


def test_failing_tag_still_pauses_and_state_file_keeps_the_count(server_world, fault_proxy, env):
    w, proxy = server_world, fault_proxy
    cluster = backup_starts(w)
    line = failed_run_line(proxy, env, TAG_RESOURCE, "denied")
    assert line.startswith("ERROR paused ddb-scaler 3 → 0: 1 active cluster matches")
    assert "; TagResource failed: AccessDeniedException: " in line
    assert line.endswith("(the pre-pause count 3 is kept in the pause record only)")
    assert w.desired() == 0 and w.tags() == {}
    s = whole_state(env)
    assert s["paused"] is True and s["last_action"] == "pause" and s["last_result"] == "error"
    assert s["saved_desired_count"] == START

    proxy.heal()
    healthy(env)  # still paused; the state file knows the count
    assert w.desired() == 0
    w.stop_cluster(cluster)
    healthy(env)
    assert w.desired() == START


def test_failing_untag_after_resume_is_cleared_by_next_run(server_world, fault_proxy, env):
    w, proxy = server_world, fault_proxy
    w.stop_cluster(paused(w, env))
    line = failed_run_line(proxy, env, UNTAG_RESOURCE, "5xx")
    assert line.startswith("ERROR resumed ddb-scaler 0 → 3: no active cluster matches")
    assert "; UntagResource failed: ServiceUnavailableException: " in line
    assert w.desired() == START and w.tags() == TAGGED
    s = whole_state(env)
    assert s["paused"] is False and s["last_action"] == "resume" and s["last_result"] == "error"

    proxy.heal()
    r = healthy(env)
    assert "cleared the leftover saved setting of ddb-scaler" in r.stderr
    assert w.desired() == START and w.tags() == {}


def test_lost_answers_to_writes_never_lead_to_a_wrong_count(server_world, fault_proxy, env):
    """moto makes every change, but the answers never come back: the tool tries again with the
    same counts, reports the failure, and the next runs find the work done."""
    w, proxy = server_world, fault_proxy
    cluster = backup_starts(w)
    for action in (TAG_RESOURCE, UPDATE_SERVICE, UNTAG_RESOURCE):
        proxy.fail(action, "5xx", after=True)
    assert run_tool([], env).returncode == 1
    assert w.desired() == 0 and w.tags() == TAGGED
    w.stop_cluster(cluster)
    assert run_tool([], env).returncode == 1
    assert w.desired() == START
    proxy.heal()
    healthy(env)
    assert w.desired() == START and w.tags() == {}
    assert [b["desiredCount"] for b in proxy.bodies(UPDATE_SERVICE)] == [0] * 3 + [START] * 3


def test_hung_ecs_writes_end_the_run_within_the_deadline(server_world, fault_proxy, env):
    """The slowest failing run: the reads answer, then the tag and the update both hang."""
    w, proxy = server_world, fault_proxy
    backup_starts(w)
    proxy.fail(TAG_RESOURCE, "hang")
    proxy.fail(UPDATE_SERVICE, "hang")
    r, took = timed_run(env)
    print(f"ECS writes hung: the run took {took:.1f} s")
    assert took < DEADLINE, f"a run against hung ECS writes took {took:.1f} s"
    assert r.returncode == 1 and "UpdateService failed: ReadTimeoutError" in r.stderr
    assert w.desired() == START
    assert whole_state(env)["last_result"] == "error"
    heal_and_pause(proxy, w, env)


# --- 4. races ------------------------------------------------------------------------------------


def test_runs_started_together_write_once_per_transition(server_world, fault_proxy, env):
    w, proxy = server_world, fault_proxy
    w.create_service(desired=START)
    healthy(env)
    cluster = None

    def start():
        nonlocal cluster
        cluster = w.start_cluster("nightly-backup-users")

    for change, verb, expected, tag_calls in [
        (start, "paused", 0, {TAG_RESOURCE: 1, UNTAG_RESOURCE: 0}),
        (lambda: w.stop_cluster(cluster), "resumed", START, {TAG_RESOURCE: 0, UNTAG_RESOURCE: 1}),
    ]:
        change()
        proxy.forget()
        runs = [start_tool(env) for _ in range(8)]
        results = [(p.communicate(timeout=120)[1], p.returncode) for p in runs]
        assert [code for _, code in results] == [0] * 8, results
        assert [b["desiredCount"] for b in proxy.bodies(UPDATE_SERVICE)] == [expected]
        assert {a: proxy.count(a) for a in tag_calls} == tag_calls
        assert sum(f"INFO {verb} ddb-scaler" in err for err, _ in results) == 1
        for err, _ in results:
            assert "INFO no change" in err or f"INFO {verb}" in err or "is skipped" in err, err
        assert w.desired() == expected
        s = whole_state(env)
        assert s["paused"] is (expected == 0) and s["last_result"] == "ok"


# --- 5. crashes ----------------------------------------------------------------------------------


def test_runs_killed_at_random_moments_never_leave_a_partial_state_file(
    server_world, fault_proxy, env
):
    w, proxy = server_world, fault_proxy
    rng = random.Random(5)
    w.create_service(desired=START)

    def start_run() -> tuple[subprocess.Popen, float]:
        """A run, and the moment its reads were answered (its writes and the state file come
        after)."""
        reads = proxy.answered[DESCRIBE_SERVICES]
        run = start_tool(env)
        if not proxy.wait_answered(DESCRIBE_SERVICES, reads + 1):
            run.kill()
            _, err = run.communicate(timeout=30)
            pytest.fail(f"the run's reads were not answered: exit {run.returncode}, {err}")
        return run, time.monotonic()

    # How long a run takes on this host, and how long after its reads it ends.
    began = time.monotonic()
    run, read = start_run()
    run.communicate(timeout=60)
    assert run.returncode == 0
    one_run, tail = time.monotonic() - began, time.monotonic() - read
    state_path(env).unlink()  # the crashes start with no state file
    cluster, kills, finished, mid_write, rewrites = None, 0, 0, 0, 0
    for i in range(40):
        if i % 2 == 0:  # the backup starts or ends every other run: writes in both directions
            if cluster is None:
                cluster = w.start_cluster(f"nightly-backup-{i}")
            else:
                w.stop_cluster(cluster)
                cluster = None
        writes = proxy.count(UPDATE_SERVICE) + proxy.count(TAG_RESOURCE)
        before = state_path(env).read_bytes() if state_path(env).exists() else None
        if i % 4 == 0:  # anywhere in the run
            run = start_tool(env)
            time.sleep(rng.uniform(0, 1.2) * one_run)
        else:  # after its reads, while it writes to AWS and records the state (that takes
            # 5 to 10 ms of a steady run's tail here; the rest is the interpreter's exit)
            run, _ = start_run()
            time.sleep(rng.uniform(0, 0.4) * tail)
        run.send_signal(signal.SIGKILL)
        _, err = run.communicate(timeout=60)
        if run.returncode == -signal.SIGKILL:
            kills += 1
            mid_write += proxy.count(UPDATE_SERVICE) + proxy.count(TAG_RESOURCE) > writes
        else:
            finished += 1
            assert run.returncode == 0, err
        if state_path(env).exists():  # absent only before the first write
            whole_state(env)
            rewrites += state_path(env).read_bytes() != before
        assert w.desired() in (0, START) and w.tags() in ({}, TAGGED)
    print(
        f"crashes: {kills} runs killed ({mid_write} after a write of theirs), {finished} "
        f"finished, {rewrites} rewrote the state file; a run takes {one_run:.2f} s, "
        f"{tail * 1000:.0f} ms of it after its reads"
    )
    assert kills > 0 and rewrites > 0  # the kills and the state writes did meet
    assert {b["desiredCount"] for b in proxy.bodies(UPDATE_SERVICE)} <= {0, START}

    if cluster is not None:
        healthy(env)
        assert w.desired() == 0 and w.tags() == TAGGED
        w.stop_cluster(cluster)
    healthy(env)
    assert w.desired() == START and w.tags() == {}
    s = whole_state(env)
    assert s["paused"] is False and s["last_result"] == "ok" and s["saved_desired_count"] is None
    # A run killed between writing its temp file and renaming it leaves no litter for good.
    assert sorted(os.listdir(state_path(env).parent)) == ["state.json", "state.json.lock"]


# --- 6. secrets ----------------------------------------------------------------------------------


def test_debug_output_never_shows_a_credential(server_world, fault_proxy, env):
    w, proxy = server_world, fault_proxy
    env["DEBUG_OUTPUT"] = "1"
    cluster = backup_starts(w)
    outputs = []

    def run(expected_code):
        r = run_tool([], env)
        assert r.returncode == expected_code, r.stderr
        outputs.append(r.stdout + r.stderr)

    run(0)  # a pause
    proxy.fail(LIST_CLUSTERS, "denied")
    run(1)
    proxy.heal()
    w.stop_cluster(cluster)
    proxy.fail(UPDATE_SERVICE, ("throttle", "drop"))
    run(1)
    proxy.heal()
    run(0)  # a resume
    text = "\n".join(outputs)
    assert " DEBUG " in text  # debug output was on
    for secret in FAKE_CREDENTIALS.values():
        assert secret not in text
        assert secret[:12] not in text  # not even a prefix of it


def test_state_and_lock_files_are_private_even_with_an_open_umask(server_world, fault_proxy, env):
    backup_starts(server_world)
    run = start_tool(env, umask=0)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 0, err
    folder = state_path(env).parent
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("state.json", "state.json.lock"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
    assert sorted(os.listdir(folder)) == ["state.json", "state.json.lock"]
