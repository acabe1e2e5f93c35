"""The files a run writes, checked before any AWS call by check-config and by every run: the state,
the lock and the metrics are three files, and each can be made where it is to be."""

from __future__ import annotations

import os
import stat

import pytest

from autoscaler_pauser.cli import main
from autoscaler_pauser.config import load_config
from autoscaler_pauser.state_file import StateFileError, check_files
from tests.support.tool import base_env


def config(tmp_path, **env):
    return load_config(None, base_env(tmp_path, **env))


def refused(config, create: bool = True) -> str:
    with pytest.raises(StateFileError) as e:
        check_files(config, create=create)
    return str(e.value)


def no_aws(config, session):
    """Clients that fail at their first use: a run that gets as far as an AWS call exits 1; the
    checks must come first, with exit 2."""
    return object()


# --- three files --------------------------------------------------------------------------------


@pytest.mark.parametrize("create", [True, False])
def test_a_lock_file_that_is_the_state_file_is_refused(tmp_path, create):
    state = str(tmp_path / "state.json")
    assert refused(config(tmp_path, STATE_FILE=state, LOCK_FILE=state), create) == (
        f"lock_file: {state} is the state file: give the lock a file of its own, or leave "
        f"lock_file out ({state}.lock)"
    )


def test_the_same_file_by_another_path_is_the_same_file(tmp_path, monkeypatch):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    monkeypatch.chdir(tmp_path)
    c = config(
        tmp_path, STATE_FILE=str(tmp_path / "link" / "state.json"), LOCK_FILE="real/state.json"
    )
    assert refused(c).startswith("lock_file: real/state.json is the state file:")


def test_a_metrics_file_that_is_the_state_or_the_lock_file_is_refused(tmp_path):
    state = str(tmp_path / "state.json")
    assert refused(config(tmp_path, STATE_FILE=state, METRICS_FILE=state)) == (
        f"metrics_file: {state} is the state file: give the metrics a file of their own"
    )
    assert refused(config(tmp_path, STATE_FILE=state, METRICS_FILE=state + ".lock")) == (
        f"metrics_file: {state}.lock is the lock file: give the metrics a file of their own"
    )


def test_a_state_lock_and_metrics_file_of_their_own_are_taken(tmp_path):
    c = config(
        tmp_path,
        LOCK_FILE=str(tmp_path / "run.lock"),
        METRICS_FILE=str(tmp_path / "textfile" / "autoscaler-pauser.prom"),
    )
    check_files(c)
    assert (tmp_path / "run.lock").exists()


# --- the metrics file, checked like the state file ----------------------------------------------


def test_a_metrics_file_that_is_a_directory_is_refused(tmp_path):
    assert refused(config(tmp_path, METRICS_FILE=str(tmp_path)), create=False) == (
        f"metrics_file: {tmp_path} is a directory"
    )


def test_a_metrics_file_under_a_file_is_refused(tmp_path):
    (tmp_path / "a-file").write_text("")
    c = config(tmp_path, METRICS_FILE=str(tmp_path / "a-file" / "m.prom"))
    assert refused(c, create=False) == (
        f"metrics_file: cannot create a folder under {tmp_path / 'a-file'}: Not a directory"
    )


def test_a_run_makes_the_metrics_folder_readable_by_the_collector(tmp_path):
    folder = tmp_path / "textfile"
    check_files(config(tmp_path, METRICS_FILE=str(folder / "autoscaler-pauser.prom")))
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o755 & ~umask
    assert stat.S_IMODE(os.stat(tmp_path / "state").st_mode) == 0o700 & ~umask


def test_check_config_refuses_a_metrics_file_it_cannot_write_and_makes_nothing(tmp_path, capsys):
    env = base_env(tmp_path, METRICS_FILE=str(tmp_path))
    assert main(["check-config"], environ=env) == 2
    assert capsys.readouterr().err == (
        f"autoscaler-pauser: metrics_file: {tmp_path} is a directory\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "env, key",
    [
        ({"METRICS_FILE": "<tmp>"}, "metrics_file"),
        ({"LOCK_FILE": "<state>"}, "lock_file"),
        ({"METRICS_FILE": "<state>"}, "metrics_file"),
    ],
)
def test_a_run_refuses_these_paths_before_any_aws_call(tmp_path, capsys, env, key):
    environ = base_env(tmp_path)
    values = {"<tmp>": str(tmp_path), "<state>": environ["STATE_FILE"]}
    environ.update({k: values[v] for k, v in env.items()})
    assert main([], environ=environ, aws_factory=no_aws) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"autoscaler-pauser: {key}: "), line


@pytest.mark.parametrize("durable, synced", [(True, ["file", "folder"]), (False, ["file"])])
def test_a_durable_write_syncs_the_folder_and_any_write_the_file(
    tmp_path, monkeypatch, durable, synced
):
    """Whole or not at all either way (the file is synced before the rename); a record of what
    a resume needs is on disk when the write returns (the rename synced too)."""
    import os
    import stat as stat_module

    from autoscaler_pauser import state_file

    seen = []
    real = os.fsync

    def fsync(fd):
        seen.append("folder" if stat_module.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(state_file.os, "fsync", fsync)
    state_file.write_text_atomic(str(tmp_path / "state.json"), "{}\n", durable=durable)
    assert seen == synced
    assert (tmp_path / "state.json").read_text() == "{}\n"
