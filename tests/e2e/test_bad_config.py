"""A bad config and bad arguments through a real process, as cron meets them: the exit code and
what the process prints. The messages themselves: tests/unit/test_bad_config.py."""

from __future__ import annotations

from tests.support.tool import base_env, run_tool

# An endpoint nothing listens on: any AWS call would show up as a connection error.
NO_AWS = "http://127.0.0.1:9"


def test_a_bad_config_exits_2_with_one_line_per_problem_on_stderr_and_no_aws_call(tmp_path):
    env = base_env(tmp_path, AWS_ENDPOINT_URL=NO_AWS, EMR_PREFIX=" ", RESUME_COUNT="three")
    r = run_tool([], env)
    assert r.returncode == 2, r.stderr
    assert r.stderr == (
        "autoscaler-pauser: emr_prefix: must not be blank (from EMR_PREFIX): unset it for the "
        "config file's value or the default\n"
        "autoscaler-pauser: resume_count: must be a whole number, got 'three' (from RESUME_COUNT)\n"
    )
    assert r.stdout == ""
    assert not (tmp_path / "state").exists()


def test_bad_arguments_exit_2_with_one_line_on_stderr_and_no_aws_call(tmp_path):
    env = base_env(tmp_path, AWS_ENDPOINT_URL=NO_AWS)
    r = run_tool(["--loop", "--interval", "nan"], env, timeout=30)
    assert r.returncode == 2, r.stderr
    assert r.stderr == (
        "autoscaler-pauser: interval: must be a finite number, got nan (from --interval)\n"
    )
    assert r.stdout == ""
    assert not (tmp_path / "state").exists()
