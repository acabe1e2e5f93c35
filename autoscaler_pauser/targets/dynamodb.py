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

    parallel = True

    def __init__(self, aas: Any, tables: Sequence[str]):
        self.aas, self.tables = aas, tuple(tables)
        self.order = {table: i for i, table in enumerate(self.tables)}  # the config's order
        self.targets: dict[str, Mapping[str, Any]] = {}

    def _table(self, resource_id: str) -> str | None:
        """The listed table a resource id (table/<t> or table/<t>/index/<i>) is of, or None."""
        parts = resource_id.split("/")
        if parts[0] != "table" or len(parts) not in (2, 4) or parts[1] not in self.order:
            return None
        return parts[1] if len(parts) == 2 or parts[2] == "index" else None

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
        found.sort(
            key=lambda t: (
                self.order[self._table(t["ResourceId"])],
                t["ResourceId"],
                t["ScalableDimension"],
            )
        )
        for t in found:
            key = f"aas:dynamodb:{t['ResourceId']}:{t['ScalableDimension']}"
            self.targets[key] = t
            side = "read" if "Read" in t["ScalableDimension"] else "write"
            views.append(scaling_view(key, f"{t['ResourceId']} {side}", t, None, on_aws=False))
        return views

    def apply(self, change: Change) -> None:
        if change.after is not None:
            register_suspension(self.aas, self.targets[change.key], change.after)
