"""The AWS operations the package's source calls, read from its code: what a night of tests must
make (tests/deploy/test_iam.py, tests/integration/test_contract.py)."""

from __future__ import annotations

import ast
import functools

from autoscaler_pauser.aws import make_clients
from autoscaler_pauser.config import Config

from .tool import ROOT
from .world import REGION


@functools.cache
def called_in_source() -> frozenset[tuple[str, str]]:
    """Every client method the package calls or hands on, on a client by the names it gives them
    (self.ecs.x(...), pages(emr.x, ...), aas.get_paginator("x")), also those no scenario
    reaches: as (botocore service name, operation name)."""
    aws = make_clients(Config(("p-",), REGION, "c", REGION, "s"))
    clients = {
        "emr": aws.emr,
        "ecs": aws.client("ecs", REGION),
        "aas": aws.client("application-autoscaling", REGION),
        "dynamodb": aws.client("dynamodb", REGION),
        "scheduler": aws.client("scheduler", REGION),
        "events": aws.client("events", REGION),
    }
    found = set()
    trees = [ast.parse(f.read_text()) for f in sorted((ROOT / "autoscaler_pauser").rglob("*.py"))]
    for node in (node for tree in trees for node in ast.walk(tree)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "get_paginator":
            receiver, method = node.func.value, getattr(node.args[0], "value", None)
        elif isinstance(node, ast.Attribute):  # a method called, or handed on to be called
            receiver, method = node.value, node.attr
        else:
            continue
        name = getattr(receiver, "attr", None) or getattr(receiver, "id", None)
        if name not in clients:
            continue
        mapping = clients[name].meta.method_to_api_mapping
        if method in mapping:
            found.add((clients[name].meta.service_model.service_name, mapping[method]))
    return frozenset(found)
