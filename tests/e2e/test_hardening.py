"""What an operator trying it by hand ran into, each case through the real command against moto
server (through the fault proxy where AWS must misbehave): exit code first, then the line
printed, then the service's count and tags and what the state file says."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from autoscaler_pauser.targets.ecs import SAVED_COUNT_TAG
from tests.support.proxy import AAS, DESCRIBE_SERVICES, LIST_CLUSTERS
from tests.support.state import read as read_state
from tests.support.tool import ROOT, Lines, base_env, run_tool, tool_env, wait_for

START = 3
TAGGED = {SAVED_COUNT_TAG: str(START)}
SCALABLE_TARGETS = AAS + "DescribeScalableTargets"


@pytest.fixture
def env(server_world, fault_proxy, tmp_path):
    return base_env(tmp_path, AWS_ENDPOINT_URL=fault_proxy.url)


def state(env) -> dict:
    return read_state(env["STATE_FILE"])


def lines(r, level: str) -> list[str]:
    return [line for line in r.stderr.splitlines() if f" {level} " in line]


def ok(env, *args) -> subprocess.CompletedProcess:
    r = run_tool(list(args), env)
    assert r.returncode == 0, r.stderr
    return r


def paused(world, env) -> str:
    """The service at START, a backup cluster running, one run: paused, count saved."""
    world.create_service(desired=START)
    cluster = world.start_cluster("nightly-backup-users")
    ok(env)
    assert world.desired() == 0 and world.tags() == TAGGED
    return cluster


# --- 1. a denied read of the service's own scaling target ----------------------------------------


@pytest.mark.parametrize("kind", ["denied", "iam403"])
def test_denied_scaling_target_read_still_pauses_and_resumes_with_a_warning(
    server_world, fault_proxy, env, kind
):
    """The ECS-only policy (docs/iam.md) has no Application Auto Scaling statement: the guard that
    looks for the service's own scaling target is refused, and must not stop the pause."""
    w = server_world
    fault_proxy.fail(SCALABLE_TARGETS, kind)
    w.create_service(desired=START)
    cluster = w.start_cluster("nightly-backup-users")
    r = ok(env)
    assert w.desired() == 0 and w.tags() == TAGGED
    [warning] = lines(r, "WARNING")
    assert "ddb-scaler's own scaling target was not checked: DescribeScalableTargets failed: " in (
        warning
    )
    assert "application-autoscaling:DescribeScalableTargets" in warning
    assert "could lift the count during the pause" in warning
    assert lines(r, "ERROR") == [] and "paused ddb-scaler 3 → 0" in r.stderr
    s = state(env)
    assert s["last_result"] == "ok" and len(s["warnings"]) == 1

    w.stop_cluster(cluster)
    r = ok(env)
    assert w.desired() == START and w.tags() == {}
    assert len(lines(r, "WARNING")) == 1 and "resumed ddb-scaler 0 → 3" in r.stderr


def test_a_scaling_target_read_that_fails_otherwise_still_stops_the_run(
    server_world, fault_proxy, env
):
    """Not a refusal (a 503 after three tries): the service may have a scaling target that a
    pause would leave unsuspended, so nothing is changed and the next run tries again."""
    w = server_world
    fault_proxy.fail(SCALABLE_TARGETS, "5xx")
    w.create_service(desired=START)
    w.start_cluster("nightly-backup-users")
    r = run_tool([], env)
    assert r.returncode == 1, r.stderr
    [error] = lines(r, "ERROR")
    assert "DescribeScalableTargets failed: ServiceUnavailableException" in error
    assert w.desired() == START


# --- 6. one error, one line ----------------------------------------------------------------------

# fault kind -> the start of the ERROR line, after its time stamp
PAGES = {
    "html502": "ERROR ListClusters failed: 502: Bad Gateway; the autoscaler was left as it is",
    "iam403": "ERROR ListClusters failed: AccessDenied: User: arn:aws:iam::123456789012:user/"
    "pauser is not authorized to perform: ecs:DescribeServices; the autoscaler was left as it is",
}


@pytest.mark.parametrize("kind", list(PAGES))
def test_an_error_page_for_an_answer_is_one_line_with_its_code(
    server_world, fault_proxy, env, kind
):
    server_world.create_service(desired=START)
    fault_proxy.fail(LIST_CLUSTERS, kind)
    r = run_tool([], env)
    assert r.returncode == 1, r.stderr
    assert [line.split(" ", 1)[1] for line in r.stderr.splitlines()] == [PAGES[kind]]
    assert "\n" not in state(env)["last_error"] and "<" not in state(env)["last_error"]


# --- 3. a saved-count tag that is no count; a run that fails in an unexpected way ---------------


def test_a_tag_that_is_no_count_is_ignored_and_the_state_file_count_is_used(
    server_world, fault_proxy, env
):
    """One value that is no count; which values are: tests/unit/test_targets.py."""
    tag = "³"
    w = server_world
    cluster = paused(w, env)
    w.ecs.tag_resource(
        resourceArn=w.describe()["serviceArn"], tags=[{"key": SAVED_COUNT_TAG, "value": tag}]
    )
    w.stop_cluster(cluster)
    r = ok(env)
    [warning] = lines(r, "WARNING")
    assert (
        f"ignored tag {SAVED_COUNT_TAG}={tag!r} on ddb-scaler: not a desired count from 1 to "
        in (warning)
    )
    assert w.desired() == START and w.tags() == {}
    assert "resumed ddb-scaler 0 → 3" in r.stderr


def test_an_unexpected_failure_is_recorded_in_the_state_file_and_the_metrics(
    server_world, fault_proxy, env, tmp_path
):
    """An answer without the desired count: no AWS error, a fault of this run all the same."""
    w = server_world
    w.create_service(desired=START)
    prom = tmp_path / "pauser.prom"
    env["METRICS_FILE"] = str(prom)
    ok(env)

    def no_count(answer):
        for service in answer["services"]:
            del service["desiredCount"]
        return answer

    fault_proxy.rewrite(DESCRIBE_SERVICES, no_count)
    r = run_tool([], env)
    assert r.returncode == 1, r.stderr
    [error] = lines(r, "ERROR")
    assert error.endswith(
        "ERROR run failed: KeyError: 'desiredCount'; the autoscaler was left as it is"
    )
    assert "Traceback" not in r.stderr
    s = state(env)
    assert s["last_result"] == "error" and s["last_error"] == "run failed: KeyError: 'desiredCount'"
    assert "autoscaler_pauser_last_run_success 0" in prom.read_text()
    fault_proxy.heal()
    ok(env)
    assert state(env)["last_result"] == "ok"


# --- 5, 9. status tells the truth, and --check says whether the runs are healthy ----------------


def status(env, *args) -> subprocess.CompletedProcess:
    return run_tool(["status", *args], {"STATE_FILE": env["STATE_FILE"]})


def test_status_needs_only_the_state_file_and_checks_health(server_world, fault_proxy, env):
    r = status(env)
    assert r.returncode == 0 and r.stdout.startswith("never ran"), r.stderr
    assert status(env, "--check").returncode == 1, "never ran: not healthy"

    cluster = paused(server_world, env)
    first = state(env)["last_action_at"]
    ok(env)  # steady
    r = status(env)
    assert r.returncode == 0, r.stderr
    assert f"last action:  pause at {first}" in r.stdout
    assert ": ok" in r.stdout.splitlines()[1] and r.stdout.splitlines()[1].startswith("last run:")
    assert status(env, "--check").returncode == 0

    fault_proxy.fail(LIST_CLUSTERS, "denied")
    assert run_tool([], env).returncode == 1
    r = status(env, "--check")
    assert r.returncode == 1 and ": error" in r.stdout, "the last run failed"
    assert status(env).returncode == 0, "plain status always exits 0"
    fault_proxy.heal()
    server_world.stop_cluster(cluster)
    ok(env)
    assert "last action:  resume at " in status(env).stdout


def test_the_dockerfile_health_check_runs_status_check(server_world, fault_proxy, env):
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    [line] = [x for x in text.splitlines() if x.startswith("HEALTHCHECK ")]
    assert "--start-period=" in line and "--interval=" in line
    command = json.loads(line.split(" CMD ", 1)[1])
    assert command == ["autoscaler-pauser", "status", "--check"]
    exe = Path(sys.executable).with_name(command[0])
    check = [str(exe), *command[1:]]
    only = {"STATE_FILE": env["STATE_FILE"]}
    r = subprocess.run(check, env=tool_env(only), capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, "no run yet: unhealthy"
    server_world.create_service(desired=START)
    ok(env)
    r = subprocess.run(check, env=tool_env(only), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


# --- 7. the loop goes on when its state folder goes away ----------------------------------------


def test_the_loop_goes_on_when_the_state_folder_becomes_unusable(
    server_world, moto_server, tmp_path
):
    server_world.create_service(desired=START)
    env = base_env(tmp_path, AWS_ENDPOINT_URL=moto_server.url)
    folder = Path(env["STATE_FILE"]).parent
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "reconcile.py"), "--loop", "--interval", "1"],
        env=tool_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = Lines(proc.stdout)
    skipped = f"state_file: cannot create folder {folder}: File exists; this run was skipped"
    try:
        assert wait_for(lambda: (folder / "state.json").exists())
        shutil.rmtree(folder)
        folder.write_text("")  # a file where the folder was: no run can record anything
        # A second run skipped: the loop went on after the first.
        assert wait_for(lambda: output.count(skipped) >= 2), output.lines
        assert proc.poll() is None, "the loop must go on"
        folder.unlink()
        assert wait_for(lambda: (folder / "state.json").exists())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    out = output.text()
    assert proc.returncode == 0, out
    assert skipped in out
    assert "the loop goes on" in out and "Traceback" not in out


def test_the_loop_does_not_start_with_an_unusable_state_folder(tmp_path):
    (tmp_path / "a-file").write_text("")
    env = base_env(tmp_path, STATE_FILE=str(tmp_path / "a-file" / "state.json"))
    r = subprocess.run(
        [sys.executable, str(ROOT / "reconcile.py"), "--loop"],
        env=tool_env({**env, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("autoscaler-pauser: state_file: cannot create folder")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_mid_run_stops_it_as_sigterm_does_without_a_traceback(
    server_world, fault_proxy, env, sig
):
    server_world.create_service(desired=START)
    fault_proxy.fail(LIST_CLUSTERS, "hang")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "reconcile.py")],
        env=tool_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(lambda: fault_proxy.count(LIST_CLUSTERS) >= 1), "the run started"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == -sig, err
    assert err == "", "stopped at once, saying nothing: no traceback"
    assert server_world.desired() == START
