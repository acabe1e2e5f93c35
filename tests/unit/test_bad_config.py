"""A bad config, as a person or cron meets it: exit 2, one clear line per problem, no AWS call.

In process: main() with the arguments and environment cron would give the command, its exit code
returned and its lines on stderr (capsys), with AWS clients that fail the test if one is made.
The same through a real process, once: tests/e2e/test_bad_config.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoscaler_pauser.aws import Aws
from autoscaler_pauser.cli import main
from autoscaler_pauser.config import CONFIG_ENV, KEYS_BY_NAME
from tests.support.tool import ROOT, base_env


def no_aws(config, session):
    """The run's AWS clients, none of which may be made: no client, no AWS call."""

    def make(service, region):
        pytest.fail(f"main() made a {service} client in {region}")

    return Aws(config, make)


def run_main(args, env, capsys):
    """main() as cron would run the command: exit code, stdout, stderr."""
    capsys.readouterr()
    code = main(list(args), environ=env, aws_factory=no_aws)
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, name: str, text: str | bytes) -> str:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text)
    return str(p)


VALID_YAML = (ROOT / "config.example.yaml").read_text()


def valid_yaml_with(line: str) -> str:
    """The example config with one key's line given instead of the example's own."""
    key = line.split(":", 1)[0]
    kept = [x for x in VALID_YAML.splitlines(keepends=True) if not x.startswith(f"{key}:")]
    return "".join(kept) + line


# name -> (config file text or None, extra/removed env, expected message fragment)
BAD = {
    "missing prefix": (None, {"EMR_PREFIX": None}, "emr_prefix: required"),
    "blank prefix": (None, {"EMR_PREFIX": "  "}, "emr_prefix: must not be blank (from EMR_PREFIX)"),
    "empty item in prefix list": (None, {"EMR_PREFIX": "a-,,b-"}, "emr_prefix: must not be blank"),
    "missing emr region": (None, {"EMR_REGION": None}, "emr_region: required"),
    "ill-formed region": (None, {"EMR_REGION": "us_east_1"}, "emr_region: is not a region name"),
    "region with space": (None, {"AUTOSCALER_REGION": "us east 1"}, "autoscaler_region: is not"),
    "missing cluster": (None, {"AUTOSCALER_CLUSTER": None}, "autoscaler_cluster: required"),
    "blank service": (None, {"AUTOSCALER_SERVICE": ""}, "autoscaler_service: must not be blank"),
    "resume count not a number": (None, {"RESUME_COUNT": "three"}, "resume_count: must be a whole"),
    "resume count zero": (None, {"RESUME_COUNT": "0"}, "resume_count: must be at least 1"),
    "negative resume count": (None, {"RESUME_COUNT": "-2"}, "resume_count: must be at least 1"),
    "negative lock timeout": (None, {"LOCK_TIMEOUT": "-1"}, "lock_timeout: must be at least 0"),
    "lock timeout text": (None, {"LOCK_TIMEOUT": "soon"}, "lock_timeout: must be a number"),
    "lock timeout nan": (None, {"LOCK_TIMEOUT": "nan"}, "lock_timeout: must be a finite number"),
    "grace infinite": (None, {"RESUME_GRACE_SECONDS": "inf"}, "resume_grace_seconds: must be a"),
    "force resume not a boolean": (
        None,
        {"FORCE_RESUME_AFTER_MAX_PAUSE": "maybe"},
        "force_resume_after_max_pause: must be true or false",
    ),
    "interval below 1": (None, {"INTERVAL": "0.5"}, "interval: must be at least 1"),
    "blank state file": (None, {"STATE_FILE": " "}, "state_file: must not be blank"),
    "unknown key in file": (VALID_YAML + "emr_prefx: a\n", {}, "emr_prefx: unknown key"),
    "misspelt key with hint": (VALID_YAML + "resume-count: 2\n", {}, "did you mean resume_count"),
    "broken yaml": ("emr_prefix: [a, b\n", {}, "not valid YAML at line 2"),
    "yaml list": ("- a\n- b\n", {}, "must be a mapping of keys to values, not a list"),
    "yaml scalar": ("just text\n", {}, "must be a mapping of keys to values, not a string"),
    "not utf-8": (b"emr_prefix: \xff\xfe\n", {}, "not UTF-8 text"),
    "prefix is a mapping": (
        valid_yaml_with("emr_prefix: {a: 1}\n"),
        {},
        "emr_prefix: must be a string",
    ),
    "prefix list of numbers": (
        valid_yaml_with("emr_prefix: [1, 2]\n"),
        {},
        "emr_prefix: must be a",
    ),
    "resume count as string in yaml": (
        VALID_YAML + "resume_count: '3'\n",
        {},
        "resume_count: must be a whole number, got '3'",
    ),
    "resume count bool in yaml": (VALID_YAML + "resume_count: true\n", {}, "resume_count: must"),
    "resume count float in yaml": (VALID_YAML + "resume_count: 1.5\n", {}, "resume_count: must"),
    "debug_output not bool in yaml": (
        VALID_YAML + "debug_output: yes please\n",
        {},
        "debug_output: must be true or false",
    ),
    "cluster is a number in yaml": (
        valid_yaml_with("autoscaler_cluster: 12\n"),
        {},
        "autoscaler_cluster: must be a string, got a number",
    ),
    "config file missing": ("<missing>", {}, "cannot read: No such file or directory"),
    "config is a directory": ("<dir>", {}, "is a directory"),
    "state file is a directory": (None, {"STATE_FILE": "<dir>"}, "state_file:"),
    "bad table name": (None, {"DYNAMODB_TABLES": "orders,a b"}, "not a DynamoDB table name: 'a b'"),
    "tables without any region": (
        "emr_prefix: a\nemr_region: us-east-1\ndynamodb_tables: [orders]\n",
        {},
        "dynamodb_region: required with dynamodb_tables",
    ),
    "tables is a string in yaml": (
        VALID_YAML + "dynamodb_tables: orders\n",
        {},
        "dynamodb_tables: must be a list of strings",
    ),
    "half an ecs target": (
        None,
        {"AUTOSCALER_SERVICE": None, "DYNAMODB_TABLES": "orders"},
        "autoscaler_service: required with autoscaler_cluster",
    ),
    "interval not a number at all": (None, {"INTERVAL": "nan"}, "interval: must be a finite"),
    "interval too long for a timer": (
        None,
        {"INTERVAL": "1e308"},
        "interval: must be at most 86400, got 1e+308 (from INTERVAL)",
    ),
    "interval infinite in yaml": (
        VALID_YAML + "interval: .inf\n",
        {},
        "interval: must be a finite",
    ),
    "region no partition has": (
        None,
        {"EMR_REGION": "us-east-9"},
        "emr_region: emr has no region 'us-east-9' (did you mean us-east-",
    ),
    "region on the moon": (
        None,
        {"AUTOSCALER_REGION": "eu-moon-1"},
        "autoscaler_region: ecs has no ",
    ),
    "tables region unknown": (
        None,
        {"DYNAMODB_TABLES": "orders", "DYNAMODB_REGION": "us-west-7"},
        "dynamodb_region: application-autoscaling has no region 'us-west-7'",
    ),
    "resume count beyond what ECS takes": (
        None,
        {"RESUME_COUNT": str(10**30)},
        "resume_count: must be at most 2147483647",
    ),
    "key given twice": (
        VALID_YAML + "emr_region: eu-west-1\n",
        {},
        "emr_region: given twice in config file ",
    ),
    "prefix with a space before it": (
        None,
        {"EMR_PREFIX": " nightly-backup-"},
        "emr_prefix: ' nightly-backup-' has whitespace around it, and a prefix matches the start "
        "of a cluster's name exactly: write 'nightly-backup-' (from EMR_PREFIX)",
    ),
    "prefix list with spaces after the commas": (
        None,
        {"EMR_PREFIX": "a-, b-"},
        "write 'b-' (no spaces around the commas)",
    ),
    "blank events bus": (None, {"EVENTS_BUS": " "}, "events_bus: must not be blank"),
    "events bus of a partner": (
        None,
        {"EVENTS_BUS": "aws.partner/saas/orders"},
        "events_bus: not an EventBridge bus's name (1 to 256 letters, digits, '.', '-' and '_') "
        "or ARN like arn:aws:events:us-east-1:123456789012:event-bus/NAME, got "
        "'aws.partner/saas/orders' (from EVENTS_BUS)",
    ),
    "events bus ARN without an account": (
        None,
        {"EVENTS_BUS": "arn:aws:events:us-east-1::event-bus/on-call"},
        "events_bus: not an EventBridge bus's name",
    ),
    "events bus name too long": (None, {"EVENTS_BUS": "b" * 257}, "events_bus: not an Event"),
    "events bus blank in yaml": (VALID_YAML + "events_bus: ''\n", {}, "events_bus: must not be"),
    "prefix with a space after it in yaml": (
        valid_yaml_with("emr_prefix: 'nightly-backup- '\n"),
        {},
        "emr_prefix: 'nightly-backup- ' has whitespace around it",
    ),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_config_exits_2_with_one_clear_line_and_no_aws_call(name, tmp_path, capsys):
    text, env_change, message = BAD[name]
    env = base_env(tmp_path)
    for k, v in env_change.items():
        if v is None:
            env.pop(k, None)
        elif v == "<dir>":
            env[k] = str(tmp_path)
        else:
            env[k] = v
    args = []
    if text == "<missing>":
        args = ["--config", str(tmp_path / "nope.yaml")]
    elif text == "<dir>":
        args = ["--config", str(tmp_path)]
    elif text is not None:
        args = ["--config", write(tmp_path, "c.yaml", text)]
        env = {
            k: v
            for k, v in env.items()
            if (k not in KEYS_BY_NAME and k.lower() not in KEYS_BY_NAME) or k == "STATE_FILE"
        }
    code, _, err = run_main(args, env, capsys)
    assert code == 2, err
    assert message in err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("autoscaler-pauser: ") and err.endswith("\n"), err


def test_check_config_accepts_the_example(tmp_path, capsys):
    code, out, _ = run_main(
        ["check-config", "--config", str(ROOT / "config.example.yaml")], {}, capsys
    )
    assert code == 0 and "config OK" in out


def test_config_file_from_environment_variable(tmp_path, capsys):
    code, _, err = run_main(["check-config"], {CONFIG_ENV: str(tmp_path / "none.yaml")}, capsys)
    assert code == 2 and "none.yaml: cannot read" in err


# arguments -> the one line expected
BAD_ARGUMENTS = {
    "--interval nan": (
        ["--loop", "--interval", "nan"],
        "interval: must be a finite number, got nan",
    ),
    "--interval inf": (["--loop", "--interval", "inf"], "interval: must be a finite number"),
    "--interval 1e308": (
        ["--loop", "--interval", "1e308"],
        "interval: must be at most 86400, got 1e+308 (from --interval)",
    ),
    "--interval 0.5": (["--loop", "--interval", "0.5"], "interval: must be at least 1"),
    "--interval without --loop": (["--interval", "5"], "--interval goes with --loop"),
    "history --since a year": (
        ["history", "--since", "1y"],
        "--since takes a time like 90m, 12h, 7d or 2w, got '1y'",
    ),
}


@pytest.mark.parametrize("name", list(BAD_ARGUMENTS))
def test_bad_arguments_exit_2_with_one_line_and_no_aws_call(name, tmp_path, capsys):
    args, message = BAD_ARGUMENTS[name]
    env = base_env(tmp_path)
    code, _, err = run_main(args, env, capsys)
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], lines
    assert not (tmp_path / "state").exists()


def test_check_config_refuses_a_state_path_the_run_would_refuse(tmp_path, capsys):
    (tmp_path / "a-file").write_text("")
    env = base_env(tmp_path, STATE_FILE=str(tmp_path / "a-file" / "state.json"))
    code, out, err = run_main(["check-config"], env, capsys)
    assert code == 2, out + err
    under = tmp_path / "a-file"
    assert err == (
        f"autoscaler-pauser: state_file: cannot create a folder under {under}: Not a directory\n"
    )
    assert out == ""
    env["STATE_FILE"], env["LOCK_FILE"] = str(tmp_path / "state.json"), str(tmp_path)
    code, _, err = run_main(["check-config"], env, capsys)
    assert code == 2 and "lock_file: cannot open" in err


def test_check_config_creates_nothing(tmp_path, capsys):
    folder = tmp_path / "new" / "state"
    env = base_env(tmp_path, STATE_FILE=str(folder / "state.json"))
    code, out, _ = run_main(["check-config"], env, capsys)
    assert code == 0 and out == "config OK: environment only\n"
    assert list(tmp_path.iterdir()) == [], "check-config made a file or folder"


def tables_only(tmp_path, tables="orders,users,archive"):
    env = base_env(tmp_path, DYNAMODB_TABLES=tables)
    for name in ("AUTOSCALER_CLUSTER", "AUTOSCALER_SERVICE"):
        env.pop(name)
    return env


def test_no_target_configured_is_a_config_error(tmp_path, capsys):
    env = tables_only(tmp_path, "")
    code, _, err = run_main(["check-config"], env, capsys)
    assert (
        code == 2
        and "unless dynamodb_tables, eventbridge_rules or autoscaling_groups is set" in err
    )
