"""The inputs a user gets wrong, refused by the config with one line naming the key: a blank key,
a pauser's name too long for DynamoDB's key, a prefix in quotes, written as a pattern or longer
than a cluster's name, a cluster tag's key EMR would not take, ECS names out of ECS's limits, and
the service given by its ARN."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoscaler_pauser import lease
from autoscaler_pauser.config import KEYS, KEYS_BY_NAME, ConfigError, load_config
from autoscaler_pauser.config_values import outside_tag_alphabet
from autoscaler_pauser.keys import NAME_BYTES, PART_MARK
from tests.support.contract import EMR_TAG_PATTERN, category_runs, compiled
from tests.unit.scene import ENV

FILE = "".join(f"{name.lower()}: {value}\n" for name, value in ENV.items())
ARN = "arn:aws:ecs:eu-west-1:123456789012:service/autoscaler/ddb-scaler"
SHORT_ARN = "arn:aws:ecs:eu-west-1:123456789012:service/ddb-scaler"


def problems(env: dict[str, str | None], text: str | None = None, tmp_path=None) -> list[str]:
    """The problems load_config finds in ENV changed by `env` (None: left out), and the file."""
    environ = {k: v for k, v in {**ENV, **env}.items() if v is not None}
    path = None
    if text is not None:
        path = tmp_path / "c.yaml"
        path.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_config(str(path) if path else None, environ)
    return e.value.problems


# --- a key left blank in the file ----------------------------------------------------------------


def test_a_blank_state_file_in_the_file_is_refused_not_the_default(tmp_path):
    assert problems({}, FILE + "state_file:\n", tmp_path) == [
        "state_file: must not be blank; leave the key out for its default"
    ]


@pytest.mark.parametrize("key", [k.name for k in KEYS if k.default is not None])
def test_a_key_with_a_default_given_as_null_is_refused(key, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(FILE + f"{key}: null\n")
    with pytest.raises(ConfigError) as e:
        load_config(str(path), {})
    assert e.value.problems == [f"{key}: must not be blank; leave the key out for its default"]


@pytest.mark.parametrize(
    "key",
    [k.name for k in KEYS if k.default is None and k.required.name == "NO" and k.env not in ENV],
)
def test_a_key_whose_default_is_null_may_be_null(key, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(FILE + f"{key}: null\n")
    assert getattr(load_config(str(path), {}), key) is None


# --- the pauser's name, a key in DynamoDB --------------------------------------------------------


def test_the_name_leaves_room_for_the_part_items_in_dynamodbs_key():
    """DynamoDB takes a partition key of 2048 bytes; a record's part items add PART and a number
    up to MOST_PARTS to the name (lease.py)."""
    assert PART_MARK == lease.PART
    assert NAME_BYTES + len(f"{lease.PART}{lease.MOST_PARTS}".encode()) == 2048


def test_a_name_as_long_as_dynamodb_takes_is_taken():
    assert load_config(None, {**ENV, "PAUSER_NAME": "n" * NAME_BYTES}).pauser_name == "n" * 2040


@pytest.mark.parametrize("name", ["n" * (NAME_BYTES + 1), "é" * (NAME_BYTES // 2 + 1)])
def test_a_name_longer_than_dynamodb_takes_is_refused(name):
    size = len(name.encode())
    assert problems({"PAUSER_NAME": name}) == [
        f"name: must be at most {NAME_BYTES} bytes in UTF-8 (DynamoDB's key, with room for "
        f"'#part-10'), got {size} (from PAUSER_NAME)"
    ]


def test_a_name_holding_the_part_mark_is_refused():
    assert problems({"PAUSER_NAME": "nightly#part-1"}) == [
        "name: must not hold '#part-', which marks the part items of a pause record, got "
        "'nightly#part-1' (from PAUSER_NAME)"
    ]


# --- a prefix is matched literally ---------------------------------------------------------------


@pytest.mark.parametrize("quoted", ['"nightly-backup-"', "'nightly-backup-'", '"nightly-backup-'])
def test_a_prefix_in_quotes_is_refused_with_the_prefix_without_them(quoted):
    assert problems({"EMR_PREFIX": quoted}) == [
        f"emr_prefix: {quoted!r} has quotes around it, which would be matched as part of the "
        "name (docker --env-file keeps them): write 'nightly-backup-'; a prefix is matched "
        "literally against the start of a cluster's name (from EMR_PREFIX)"
    ]


def test_a_quoted_prefix_in_a_list_in_the_file_is_refused(tmp_path):
    text = FILE.replace("emr_prefix: nightly-backup-", "emr_prefix: [a-, \"'b-'\"]")
    [problem] = problems({"EMR_PREFIX": None}, text, tmp_path)
    assert problem.startswith("emr_prefix: \"'b-'\" has quotes around it")


@pytest.mark.parametrize(
    "prefix, hint",
    [("nightly-backup-*", "'nightly-backup-'"), ("nightly-?", "'nightly-'"), ("*-backup", None)],
)
def test_a_prefix_written_as_a_pattern_is_refused(prefix, hint):
    [problem] = problems({"EMR_PREFIX": prefix})
    char = "*" if "*" in prefix else "?"
    write = f"write {hint}" if hint else "write the start of the names it is to match"
    assert problem == (
        f"emr_prefix: {prefix!r} holds {char!r}, but a prefix is matched literally against the "
        f"start of a cluster's name, not as a pattern: {write} (from EMR_PREFIX)"
    )


def test_a_prefix_longer_than_an_emr_cluster_s_name_is_refused():
    prefix = "nightly-backup-" + "x" * 285
    assert problems({"EMR_PREFIX": prefix}) == [
        "emr_prefix: 'nightly-backup-xxxxx'… is 300 characters, and an EMR cluster's name is at "
        "most 256: it would match no cluster (from EMR_PREFIX)"
    ]


def test_a_prefix_as_long_as_an_emr_cluster_s_name_is_taken():
    prefix = "n" * 256
    assert load_config(None, {**ENV, "EMR_PREFIX": prefix}).emr_prefix == (prefix,)


# --- the clusters' tag, an EMR tag key -----------------------------------------------------------


@pytest.mark.parametrize(
    "key, problem",
    [
        (
            "backup-tables*",
            "'backup-tables*' holds '*', which EMR does not allow in a tag key (letters, numbers, "
            "white space and _ . : / = + - @): the tag is read by its exact key (and <key>-2, "
            "<key>-3, …), not as a pattern",
        ),
        ("backup-tables?", "'backup-tables?' holds '?', which EMR does not allow"),
        ("backup-[tables]", "'backup-[tables]' holds '[', which EMR does not allow"),
        ("backup,tables", "'backup,tables' holds ',', which EMR does not allow"),
        ("backup-tables#1", "'backup-tables#1' holds '#', which EMR does not allow"),
        (
            "t" * 200,
            "'tttttttttttttttttttt'… is 200 characters, and an EMR tag key is at most 128",
        ),
        (
            "aws:backup-tables",
            "'aws:backup-tables' starts with aws:, which only AWS's own tags may",
        ),
        ("AWS:backup-tables", "'AWS:backup-tables' starts with aws:"),
    ],
)
def test_a_cluster_tables_tag_emr_would_not_take_is_refused(key, problem):
    [found] = problems({"CLUSTER_TABLES_TAG": key})
    assert found.startswith(f"cluster_tables_tag: {problem}"), found
    assert found.endswith("(from CLUSTER_TABLES_TAG)")


@pytest.mark.parametrize(
    "key", ["backup-tables", "t" * 128, "team/backup tables", "sauvegarde:tables_été", "a.b=c+d@e"]
)
def test_a_cluster_tables_tag_within_emr_s_limits_is_taken(key):
    assert load_config(None, {**ENV, "CLUSTER_TABLES_TAG": key}).cluster_tables_tag == key


def test_the_tag_alphabet_is_emr_s_pattern_as_the_contract_test_reads_it():
    """Every character of ASCII, and the first and last of each run of one Unicode category."""
    emr = compiled(EMR_TAG_PATTERN)
    points = set(range(128)) | {p for start, end, _ in category_runs() for p in (start, end)}
    differ = [
        hex(p)
        for p in sorted(points)
        if (outside_tag_alphabet(chr(p)) is None) != bool(emr.fullmatch(chr(p)))
    ]
    assert differ == []


# --- ECS's names ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["AUTOSCALER_CLUSTER", "AUTOSCALER_SERVICE"])
@pytest.mark.parametrize("name", ["ddb scaler", "x" * 256, "ddb.scaler", "ddb:scaler"])
def test_an_ecs_name_out_of_ecs_limits_is_refused(key, name):
    what = key.removeprefix("AUTOSCALER_").lower()
    [problem] = problems({key: name})
    assert problem.startswith(
        f"{key.lower()}: not an ECS {what} name (1 to 255 letters, digits, hyphens and underscores"
    ), problem
    assert problem.endswith(f"got {name!r} (from {key})")


def test_ecs_names_as_long_as_ecs_takes_are_taken():
    env = {"AUTOSCALER_CLUSTER": "c_" + "x" * 253, "AUTOSCALER_SERVICE": "S-" + "9" * 253}
    config = load_config(None, {**ENV, **env})
    assert (config.autoscaler_cluster, config.autoscaler_service) == (
        env["AUTOSCALER_CLUSTER"],
        env["AUTOSCALER_SERVICE"],
    )


def test_a_cluster_given_as_its_arn_is_refused_with_its_name():
    arn = "arn:aws:ecs:us-east-1:123456789012:cluster/autoscaler"
    assert problems({"AUTOSCALER_CLUSTER": arn}) == [
        f"autoscaler_cluster: {arn!r} is a cluster's ARN: write its name, 'autoscaler' (from "
        "AUTOSCALER_CLUSTER)"
    ]


# --- the service by its ARN -----------------------------------------------------------------------


def test_the_service_arn_alone_gives_cluster_service_and_region():
    env = {"AUTOSCALER_CLUSTER": None, "AUTOSCALER_REGION": None, "AUTOSCALER_SERVICE": ARN}
    config = load_config(None, {k: v for k, v in {**ENV, **env}.items() if v})
    plain = load_config(None, {**ENV, "AUTOSCALER_REGION": "eu-west-1"})
    assert config == plain
    assert (config.autoscaler_cluster, config.autoscaler_service) == ("autoscaler", "ddb-scaler")
    assert config.autoscaler_region == "eu-west-1"
    assert config.pauser_name == "ecs:eu-west-1/autoscaler/ddb-scaler"


def test_the_service_arn_in_the_file_with_the_same_cluster_and_region(tmp_path):
    text = f"emr_prefix: b-\nemr_region: us-east-1\nautoscaler_service: {ARN}\n"
    path = tmp_path / "c.yaml"
    path.write_text(text + "autoscaler_cluster: autoscaler\nautoscaler_region: eu-west-1\n")
    config = load_config(str(path), {})
    assert config.autoscaler_service == "ddb-scaler" and config.autoscaler_region == "eu-west-1"


def test_the_service_arn_of_another_partition_is_taken():
    arn = "arn:aws-cn:ecs:cn-north-1:123456789012:service/autoscaler/ddb-scaler"
    env = {**ENV, "AUTOSCALER_SERVICE": arn}
    del env["AUTOSCALER_REGION"]
    config = load_config(None, env)
    assert config.autoscaler_region == "cn-north-1"


def test_the_short_service_arn_gives_service_and_region_and_takes_the_cluster():
    env = {**ENV, "AUTOSCALER_SERVICE": SHORT_ARN}
    del env["AUTOSCALER_REGION"]
    config = load_config(None, env)
    assert (config.autoscaler_cluster, config.autoscaler_service) == ("autoscaler", "ddb-scaler")
    assert config.autoscaler_region == "eu-west-1"


def test_the_short_service_arn_without_a_cluster_asks_for_it():
    env = {"AUTOSCALER_CLUSTER": None, "AUTOSCALER_REGION": None, "AUTOSCALER_SERVICE": SHORT_ARN}
    assert problems(env) == [
        "autoscaler_cluster: required with autoscaler_service (set it in the config file or "
        "AUTOSCALER_CLUSTER): a service's short ARN does not name its cluster"
    ]


def test_a_cluster_or_region_the_arn_disagrees_with_is_refused_naming_both():
    env = {"AUTOSCALER_CLUSTER": "other", "AUTOSCALER_SERVICE": ARN}
    assert problems(env) == [
        "autoscaler_cluster: 'other', but autoscaler_service's ARN names the cluster "
        "'autoscaler': leave autoscaler_cluster out, or make the two agree",
        "autoscaler_region: 'us-east-1', but autoscaler_service's ARN names the region "
        "'eu-west-1': leave autoscaler_region out, or make the two agree",
    ]


def test_the_arns_region_is_checked_like_any_region():
    arn = ARN.replace("eu-west-1", "eu-west-9")
    env = {"AUTOSCALER_REGION": None, "AUTOSCALER_SERVICE": arn}
    environ = {k: v for k, v in {**ENV, **env}.items() if v}
    with pytest.raises(ConfigError) as e:
        load_config(None, environ, regions=lambda service: {"us-east-1", "eu-west-1"})
    assert e.value.problems == [
        "autoscaler_region: ecs has no region 'eu-west-9' (did you mean eu-west-1?)"
    ]


def test_a_cluster_and_service_in_one_key_name_the_fix():
    assert problems({"AUTOSCALER_SERVICE": "autoscaler/ddb-scaler"}) == [
        "autoscaler_service: 'autoscaler/ddb-scaler' names a cluster and a service: set "
        "autoscaler_cluster: autoscaler and autoscaler_service: ddb-scaler apart, or give the "
        "service's ARN (arn:aws:ecs:REGION:ACCOUNT:service/autoscaler/ddb-scaler) (from "
        "AUTOSCALER_SERVICE)"
    ]


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:ecs:eu-west-1:123456789012:task/autoscaler/abc",
        "arn:aws:ecs:eu-west-1:1234:service/autoscaler/ddb-scaler",
        "arn:aws:ecs:eu-west-1:123456789012:service/a/b/c",
        "arn:aws:ecs:eu-west-1:123456789012:service/auto scaler/ddb-scaler",
        "arn:aws:ecs:moon:123456789012:service/autoscaler/ddb-scaler",
    ],
)
def test_an_arn_that_is_not_an_ecs_services_is_refused(arn):
    assert problems({"AUTOSCALER_SERVICE": arn}) == [
        "autoscaler_service: not an ECS service ARN like "
        "arn:aws:ecs:us-east-1:123456789012:service/CLUSTER/SERVICE, got "
        f"{arn!r} (from AUTOSCALER_SERVICE)"
    ]


def test_every_problem_of_these_inputs_is_reported_at_once(tmp_path):
    text = FILE + "state_file:\n"
    env = {"EMR_PREFIX": '"nightly-"', "AUTOSCALER_SERVICE": "a/b", "PAUSER_NAME": "x#part-2"}
    got = problems(env, text, tmp_path)
    assert [p.split(":")[0] for p in got] == [
        "emr_prefix",
        "autoscaler_service",
        "name",
        "state_file",
    ]


# --- blank is never "none" ---------------------------------------------------------------------

NOT_FLAGS = [k for k in KEYS if k.kind.name != "FLAG"]


@pytest.mark.parametrize("key", [k.name for k in NOT_FLAGS])
def test_a_variable_set_blank_is_refused_naming_its_key(key):
    env = KEYS_BY_NAME[key].env
    assert problems({env: "  "}) == [
        f"{key}: must not be blank (from {env}): unset it for the config file's value or the "
        "default"
    ]


def test_a_blank_variable_never_empties_the_list_the_file_sets(tmp_path):
    text = FILE + "dynamodb_tables: [orders, users]\n"
    for value, said in (("", "not be blank"), (" , ,", "name at least one")):
        assert problems({"DYNAMODB_TABLES": value}, text, tmp_path) == [
            f"dynamodb_tables: must {said} (from DYNAMODB_TABLES): unset it for the config "
            "file's value or the default"
        ]


def test_an_empty_list_in_the_file_means_none_and_a_flag_set_blank_is_on(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(FILE + "dynamodb_tables: []\neventbridge_rules: []\n")
    config = load_config(str(path), {"DEBUG_OUTPUT": ""})
    assert config.dynamodb_tables == () and config.eventbridge_rules == ()
    assert config.debug_output is True


def test_a_path_under_the_home_folder_is_expanded_and_an_unknown_user_s_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(FILE + "state_file: ~/pauser/state.json\n")
    config = load_config(str(path), {})
    assert config.state_file == str(Path("~/pauser/state.json").expanduser())
    assert not config.state_file.startswith("~")
    assert problems({"STATE_FILE": "~no-such-user-here/state.json"}) == [
        "state_file: '~no-such-user-here/state.json': no such user's home folder: write the "
        "path whole (from STATE_FILE)"
    ]


def test_yaml_merge_keys_bring_their_keys_and_an_unknown_one_among_them_is_named(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "<<: {emr_prefix: nightly-, emr_region: us-east-1, autoscaler_region: us-east-1}\n"
        "dynamodb_tables: [orders]\nemr_prefix: weekly-\n"
    )
    config = load_config(str(path), {})
    assert config.emr_prefix == ("weekly-",), "the mapping's own key wins over the merged one"
    assert config.emr_region == "us-east-1" and config.dynamodb_tables == ("orders",)
    path.write_text("<<: {emr_prefix: nightly-, emr_regoin: us-east-1}\n")
    with pytest.raises(ConfigError) as e:
        load_config(str(path), {})
    assert "emr_regoin: unknown key" in e.value.problems
