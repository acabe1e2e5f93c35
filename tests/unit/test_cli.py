"""The command line in process: options that do not go with a command are usage errors before the
config is read, --help says where the config comes from and what the exit codes mean, and the
packages the tool needs are named when they are missing."""

from __future__ import annotations

import re

import pytest

from autoscaler_pauser import Exit, cli
from autoscaler_pauser.cli import main
from autoscaler_pauser.config import CONFIG_ENV, KEYS
from tests.support.tool import ROOT, base_env

# arguments -> the one line expected; the config is fine, so only the arguments are wrong
NOT_FOR_THE_COMMAND = {
    "--loop status": (["--loop", "status"], "--loop goes with run, not status"),
    "--dry-run status": (["--dry-run", "status"], "--dry-run goes with run, not status"),
    "--loop check-config": (["--loop", "check-config"], "--loop goes with run, not check-config"),
    "--dry-run check-config": (
        ["--dry-run", "check-config"],
        "--dry-run goes with run, not check-config",
    ),
    "--loop --interval status": (
        ["--loop", "--interval", "5", "status"],
        "--loop goes with run, not status",
    ),
    "--loop --dry-run": (["--loop", "--dry-run"], "--loop and --dry-run do not go together"),
    "--loop run --dry-run": (
        ["--loop", "run", "--dry-run"],
        "--loop and --dry-run do not go together",
    ),
    "--interval without --loop": (["--interval", "5"], "--interval goes with --loop"),
}


@pytest.mark.parametrize("name", list(NOT_FOR_THE_COMMAND))
def test_an_option_that_does_not_go_with_the_command_is_a_usage_error(name, tmp_path, capsys):
    args, message = NOT_FOR_THE_COMMAND[name]
    code = main(args, environ=base_env(tmp_path), aws_factory=no_aws)
    err = capsys.readouterr().err
    assert code == Exit.USAGE, err
    assert err == f"autoscaler-pauser: {message}\n"
    assert not (tmp_path / "state").exists()


def test_a_usage_error_comes_before_the_config(tmp_path, capsys):
    """The arguments are wrong whatever the config: one line for them, not the config's."""
    assert main(["--loop", "status"], environ={}) == Exit.USAGE
    assert capsys.readouterr().err == "autoscaler-pauser: --loop goes with run, not status\n"


@pytest.mark.parametrize("args", [["check-config", "--json"], ["run", "--check"]])
def test_options_of_status_are_usage_errors_elsewhere(args, tmp_path, capsys):
    assert main(args, environ=base_env(tmp_path)) == Exit.USAGE
    assert "unrecognized arguments" in capsys.readouterr().err


def no_aws(config, session):
    raise AssertionError("no AWS client is made on a usage error")


# --- --help --------------------------------------------------------------------------------------


@pytest.fixture
def help_text(capsys) -> str:
    assert main(["--help"], environ={}) == 0
    return capsys.readouterr().out


def test_help_names_every_keys_environment_variable(help_text):
    words = set(re.findall(r"[A-Z][A-Z0-9_]+", help_text))
    missing = [key.env for key in KEYS if key.env not in words]
    assert not missing, missing
    assert CONFIG_ENV in words


def test_help_names_every_exit_code_with_its_meaning(help_text):
    lines = [" ".join(line.split()) for line in help_text.splitlines()]
    for code in Exit:
        assert f"{int(code)} {code.meaning}" in lines, code


def test_help_points_to_the_docs(help_text):
    assert "docs/configuration.md" in help_text


def test_help_says_which_key_a_variable_of_another_name_sets(help_text):
    [key] = [k for k in KEYS if k.env != k.name.upper()]
    assert f"{key.env} ({key.name})" in " ".join(help_text.split())


# --- the packages the tool needs -----------------------------------------------------------------


def test_the_packages_checked_for_are_the_projects_dependencies():
    text = (ROOT / "pyproject.toml").read_text()  # (tomllib is not in Python 3.10)
    [listed] = re.findall(r"^dependencies = \[(.*?)^\]", text, re.M | re.S)
    names = set(re.findall(r'^\s*"([A-Za-z0-9_.-]+)', listed, re.M))
    assert names == {"boto3", "PyYAML", "filelock"}
    assert set(cli.PACKAGES.values()) == names


def test_a_missing_package_is_one_line_naming_what_to_install(monkeypatch, tmp_path, capsys):
    def find_spec(name):
        return None if name in ("boto3", "yaml") else object()

    monkeypatch.setattr(cli, "find_spec", find_spec)
    assert main(["check-config"], environ=base_env(tmp_path)) == Exit.USAGE
    assert capsys.readouterr().err == (
        "autoscaler-pauser: missing Python packages boto3, PyYAML: pip install boto3 PyYAML "
        "(or install the tool: pip install . in its source folder)\n"
    )


@pytest.mark.parametrize(
    "argv",
    [["--loop"], ["run", "--loop"], ["--loop", "run"], ["run", "--loop", "--interval", "5"]],
)
def test_loop_is_taken_before_or_after_run(argv):
    args = cli.build_parser().parse_args(argv)
    assert args.loop is True and cli.usage_problem(args) is None
    assert getattr(args, "interval", None) == ("5" if "--interval" in argv else None)


def test_loop_after_another_command_is_refused():
    with pytest.raises(SystemExit) as e:
        cli.build_parser().parse_args(["status", "--loop"])
    assert e.value.code == 2


@pytest.mark.parametrize("variable", ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"])
@pytest.mark.parametrize("command", [[], ["check-config"]])
def test_a_mistyped_aws_profile_is_one_line_naming_it_exit_2(
    variable, command, tmp_path, capsys, monkeypatch
):
    from autoscaler_pauser import aws

    monkeypatch.setattr(cli, "new_session", aws.new_session)  # not the tests' shared one
    monkeypatch.setenv(variable, "prodd")
    code = main(command, environ=base_env(tmp_path), aws_factory=no_aws)
    err = capsys.readouterr().err
    assert code == Exit.USAGE, err
    assert err == (
        f"autoscaler-pauser: {variable}: no AWS profile 'prodd' in /nonexistent/aws-config or "
        "/nonexistent/aws-credentials\n"
    )


def test_ctrl_c_ends_a_command_as_sigterm_does_and_the_handler_is_put_back(tmp_path):
    import signal

    seen = []

    def command(*_):
        seen.append(signal.getsignal(signal.SIGINT))
        return Exit.OK

    before = signal.getsignal(signal.SIGINT)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(cli, "command", command)
        assert main(["check-config"], environ=base_env(tmp_path)) == Exit.OK
    assert seen == [signal.SIG_DFL] and signal.getsignal(signal.SIGINT) is before
