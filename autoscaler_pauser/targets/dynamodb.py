"""DynamoDB's native auto scaling: the scalable targets of the tables and their indexes."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from ..aws import aws_error
from ..model import Change, TargetView
from .scalable import register_suspension, scaling_view

log = logging.getLogger("autoscaler-pauser")


class DynamoDbScaling:
    """DynamoDB's native auto scaling: every scalable target of the tables and their global
    secondary indexes, paused by suspending all three kinds of scaling.

    The targets are found with DescribeScalableTargets over the whole dynamodb namespace (one
    call per 50 targets in the region), since a table's index targets cannot be named up front.
    Their pre-pause suspensions are kept in the state file.
    """

    def __init__(self, aas: Any, tables: Sequence[str]):
        self.aas, self.tables = aas, tuple(tables)
        self.targets: dict[str, Mapping[str, Any]] = {}

    def _table(self, resource_id: str) -> str | None:
        for table in self.tables:
            if resource_id == f"table/{table}" or resource_id.startswith(f"table/{table}/index/"):
                return table
        return None

    def observe(self) -> list[TargetView]:
        found = []
        try:
            pages = self.aas.get_paginator("describe_scalable_targets")
            for page in pages.paginate(ServiceNamespace="dynamodb"):
                found += [
                    t for t in page.get("ScalableTargets", []) if self._table(t["ResourceId"])
                ]
        except Exception as e:
            raise aws_error("DescribeScalableTargets", e) from e
        covered = {self._table(t["ResourceId"]) for t in found}
        for table in self.tables:
            if table not in covered:
                log.warning(
                    "table %s has no Application Auto Scaling target (on-demand, or not auto "
                    "scaled): nothing to suspend",
                    table,
                )
        views = []
        for t in sorted(found, key=lambda t: (t["ResourceId"], t["ScalableDimension"])):
            key = f"aas:dynamodb:{t['ResourceId']}:{t['ScalableDimension']}"
            self.targets[key] = t
            side = "read" if "Read" in t["ScalableDimension"] else "write"
            views.append(scaling_view(key, f"{t['ResourceId']} {side}", t, None, on_aws=False))
        return views

    def apply(self, change: Change) -> None:
        if change.after is not None:
            register_suspension(self.aas, self.targets[change.key], change.after)
