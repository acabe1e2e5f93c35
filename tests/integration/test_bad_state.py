"""A state file a run cannot read, and paths it cannot use: what main() does with them, in process
against moto (`mock_aws`), its exit code and lines first. What state_from_json makes of each
kind of content: tests/unit/test_state_file.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoscaler_pauser.cli import main
from autoscaler_pauser.config import CONFIG_ENV
from tests.support.state import whole
from tests.support.tool import base_env

START = 3  # the autoscaler's desired count before any backup


@pytest.fixture
def env(tmp_path):
    return base_env(tmp_path)


def run(world, env, capsys) -> tuple[int, str]:
    """One run through main() as cron would make it: its exit code and stderr."""
    capsys.readouterr()
    code = main([], environ=env, aws_factory=world.clients)
    return code, capsys.readouterr().err


def state_path(env) -> Path:
    return Path(env["STATE_FILE"])


def whole_state(env) -> dict:
    return whole(state_path(env))


def backup_starts(world) -> str:
    """The autoscaler runs at START and a backup cluster starts; the cluster's id."""
    world.create_service(desired=START)
    return world.start_cluster("nightly-backup-users")


# --- bad state files ------------------------------------------------------------------------

# name -> (state file bytes, what the warning says is wrong): content with nothing in it to keep
BAD_STATE = {
    "garbage bytes": (b"\x00\x9f\x92\x96 not json at all", "not usable"),
    "cut short": (b'{"version": tru', "not usable"),
    "empty": (b"", "not usable"),
    "not an object": (b"[1, 2, 3]", "not a JSON object"),
    "no field of a state file": (b'{"paused": true}', "no field of a state file"),
}


@pytest.mark.parametrize("name", list(BAD_STATE))
def test_bad_state_file_is_moved_aside_with_one_warning_and_run_goes_on(world, env, capsys, name):
    content, reason = BAD_STATE[name]
    backup_starts(world)
    path = state_path(env)
    path.parent.mkdir(mode=0o700)
    path.write_bytes(content)
    code, err = run(world, env, capsys)
    assert code == 0, err
    warnings = [line for line in err.splitlines() if " WARNING " in line]
    assert len(warnings) == 1 and f"state file {path} is not usable" in warnings[0], err
    assert reason in warnings[0] and "Traceback" not in err
    assert world.desired() == 0  # a normal run
    assert whole_state(env)["last_result"] == "ok"
    [aside] = [p for p in path.parent.iterdir() if ".bad-" in p.name]
    assert aside.read_bytes() == content and f"moved it to {aside}" in warnings[0]


# --- unusable paths (the config table: tests/unit/test_bad_config.py) ------------------------

# name -> (environment change, the start of the one line expected); {tmp} stands for a folder
# with a-file, a-dir and loop (a symlink to itself) in it. /proc takes no new file, not even
# from root, and a path through a file or a loop cannot be read by anyone.
BAD_PATHS = {
    "state folder is a file": ({"STATE_FILE": "{tmp}/a-file/state.json"}, "state_file: "),
    "state file is a symlink loop": ({"STATE_FILE": "{tmp}/loop"}, "state_file: "),
    "state folder not writable": ({"STATE_FILE": "/proc/state.json"}, "state_file: "),
    "state folder not writable, lock elsewhere": (
        {"STATE_FILE": "/proc/state.json", "LOCK_FILE": "{tmp}/lock"},
        "state_file: ",
    ),
    "lock file is a directory": ({"LOCK_FILE": "{tmp}/a-dir"}, "lock_file: "),
    "lock folder not writable": ({"LOCK_FILE": "/proc/pauser.lock"}, "lock_file: "),
    "config file under a file": (
        {CONFIG_ENV: "{tmp}/a-file/config.yaml"},
        "config file {tmp}/a-file/config.yaml: cannot read: Not a directory",
    ),
    "config file is a symlink loop": (
        {CONFIG_ENV: "{tmp}/loop"},
        "config file {tmp}/loop: cannot read: Too many levels of symbolic links",
    ),
}


@pytest.mark.parametrize("name", list(BAD_PATHS))
def test_unusable_path_exits_2_with_one_line_before_any_aws_call(
    world, env, tmp_path, capsys, name
):
    backup_starts(world)
    (tmp_path / "a-file").write_text("")
    (tmp_path / "a-dir").mkdir()
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    change, message = BAD_PATHS[name]
    code, err = run(
        world, {**env, **{k: v.format(tmp=tmp_path) for k, v in change.items()}}, capsys
    )
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    expected = f"autoscaler-pauser: {message.format(tmp=tmp_path)}"
    assert len(lines) == 1 and lines[0].startswith(expected), lines
    assert world.calls == {}, "no AWS call"
    assert world.desired() == START
