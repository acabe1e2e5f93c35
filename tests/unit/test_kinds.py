"""The kinds of target are the unit of change: each brings its own facts, the registry is the one
list of them, and nothing outside targets/ names a kind, its key prefix or its config keys."""

from __future__ import annotations

import io
import json
import re
import tokenize
from pathlib import Path

import botocore.session
import pytest

from autoscaler_pauser.config import KEYS
from autoscaler_pauser.model import SCALING, Suspension
from autoscaler_pauser.targets import KINDS, restore_call
from autoscaler_pauser.targets.autoscaling import GroupSize
from tests.support.contract import check_request
from tests.support.tool import ROOT

PACKAGE = ROOT / "autoscaler_pauser"


def outside_targets() -> list[Path]:
    return [p for p in sorted(PACKAGE.glob("*.py"))]


def names_in(path: Path) -> list[tuple[int, str, str]]:
    """(line, token type, text) of each name and string of a module's code."""
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    kinds = {tokenize.NAME: "name", tokenize.STRING: "string"}
    return [(t.start[0], kinds[t.type], t.string) for t in tokens if t.type in kinds]


def test_no_module_outside_targets_names_a_kind_its_key_prefix_or_its_config_keys():
    classes = {kind.__name__ for kind in KINDS}
    prefixes = {kind.PREFIX for kind in KINDS}
    keys = {key.name for kind in KINDS for key in kind.KEYS}
    found = []
    for path in outside_targets():
        for line, kind, text in names_in(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            if kind == "name" and (text in classes or text in keys):
                found.append(f"{where}: {text}")
            if kind == "string" and any(re.search(rf"\b{re.escape(k)}\b", text) for k in keys):
                found.append(f"{where}: {text}")
            if kind == "string" and any(p in text for p in prefixes):
                found.append(f"{where}: {text}")
    assert found == []


def test_the_table_of_keys_holds_each_kind_s_keys_once_among_the_common_ones():
    names = [key.name for key in KEYS]
    assert len(names) == len(set(names))
    for kind in KINDS:
        assert set(kind.NEEDS) <= set(names), kind.__name__
        for key in kind.KEYS:
            assert key.name in names and key.target, key.name


def test_each_kind_has_a_prefix_no_other_starts_like_and_a_label_of_its_own():
    prefixes = [kind.PREFIX for kind in KINDS]
    assert not [(a, b) for a in prefixes for b in prefixes if a != b and b.startswith(a)]
    assert len({kind.LABEL for kind in KINDS}) == len(KINDS)


# The SDKs' names of services, as a Scheduler universal target has them, in botocore's.
BOTOCORE = {"applicationautoscaling": "application-autoscaling", "eventbridge": "events"}

RESTORES = [
    ("ecs:us-east-1/autoscaler/ddb-scaler", 3),
    ("ecs-scaling:us-east-1/autoscaler/ddb-scaler", SCALING),
    ("dynamodb:us-east-1/table/orders/index/by-date:read", Suspension(False, True, False)),
    ("eventbridge-rule:us-east-1/scaler-tick", "ENABLED"),
    ("autoscaling-group:us-east-1/dynamic-dynamodb", GroupSize(1, 2)),
]


@pytest.mark.parametrize("key, setting", RESTORES, ids=[k.split(":")[0] for k, _ in RESTORES])
def test_each_kind_s_restore_call_is_one_its_service_s_model_takes(key, setting):
    call = restore_call(key, setting)
    service = botocore.session.get_session().get_service_model(
        BOTOCORE.get(call.service, call.service)
    )
    operation = service.operation_model(call.action[0].upper() + call.action[1:])
    request = as_named(operation.input_shape, json.loads(json.dumps(call.input)))
    assert check_request(operation, request) == []
    assert set(request) >= set(operation.input_shape.required_members)


def as_named(shape, value):
    """A universal target's Input with its members named as the model names them: Scheduler
    takes them in the SDKs' PascalCase (Cluster for ECS's cluster); an unknown one stays."""
    if shape.type_name != "structure" or not isinstance(value, dict):
        return value
    by_lower = {name.lower(): name for name in shape.members}
    named = {by_lower.get(k.lower(), k): v for k, v in value.items()}
    return {k: as_named(shape.members[k], v) if k in shape.members else v for k, v in named.items()}


def test_every_kind_is_tested_here():
    assert {k.split(":")[0] + ":" for k, _ in RESTORES} == {kind.PREFIX for kind in KINDS}
