"""DynamoDB's native auto scaling: the scalable targets of the tables and their indexes."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ..aws import aws_error
from ..config import Config
from ..model import Change, Scan, Setting, TargetView
from .kind import RestoreCall
from .scalable import register_suspension, restore_suspension, scaling_view

log = logging.getLogger("autoscaler-pauser")

PAGE, IDS_A_CALL = 50, 50  # targets a page; resource ids a call may name
# A scan of the whole namespace is trusted this long for asking by name: a table's new index
# is found at the latest by the next scan, and a pause always scans it all.
SCAN_SECONDS = 10 * 60


def by_name_pays(scan: Scan | None, scanned_at: datetime | None, now: datetime) -> bool:
    """Whether asking for the known resource ids takes fewer calls than scanning the whole
    namespace, and the scan they come from is recent."""
    if scan is None or scanned_at is None or (now - scanned_at).total_seconds() > SCAN_SECONDS:
        return False
    by_name = sum(
        math.ceil(2 * min(IDS_A_CALL, len(scan.ids) - i) / PAGE)
        for i in range(0, len(scan.ids), IDS_A_CALL)
    )
    return 0 < by_name < math.ceil(scan.namespace / PAGE)


class DynamoDbScaling:
    """DynamoDB's native auto scaling: every scalable target of the tables and their global
    secondary indexes, paused by suspending all three kinds of scaling.

    The targets are found with DescribeScalableTargets over the whole dynamodb namespace (one
    call per 50 targets in the region), since a table's index targets cannot be named up front.
    Where the listed tables' targets are a small part of a big namespace, a run may ask for
    just those, by the resource ids the last scan of the whole found (`known`): fewer calls.
    Their pre-pause suspensions are kept in the pause record.
    """

    PREFIX = "aas:dynamodb:"  # then the target's resource id, ":" and its scalable dimension
    parallel = True

    def __init__(self, aas: Any, tables: Sequence[str], known: Scan | None = None):
        self.aas, self.tables = aas, tuple(tables)
        self.order = {table: i for i, table in enumerate(self.tables)}  # the config's order
        self.targets: dict[str, Mapping[str, Any]] = {}
        self.known = known  # what to ask for by name, if that is cheaper; None: scan it all
        self.scan: Scan | None = None  # what this run's scan of the whole found

    @classmethod
    def key_of(cls, resource_id: str, dimension: str) -> str:
        return f"{cls.PREFIX}{resource_id}:{dimension}"

    @staticmethod
    def region(config: Config) -> str:
        return config.tables_region or ""

    @classmethod
    def restore_call(cls, key: str, setting: Setting) -> RestoreCall:
        resource, _, rest = key.removeprefix(cls.PREFIX).partition(":dynamodb:")
        return restore_suspension(key, "dynamodb", resource, "dynamodb:" + rest, setting)

    def _table(self, resource_id: str) -> str | None:
        """The listed table a resource id (table/<t> or table/<t>/index/<i>) is of, or None."""
        parts = resource_id.split("/")
        if parts[0] != "table" or len(parts) not in (2, 4) or parts[1] not in self.order:
            return None
        return parts[1] if len(parts) == 2 or parts[2] == "index" else None

    def observe(self) -> list[TargetView]:
        found = self._by_name(self.known.ids) if self.known else self._scan()
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
            key = self.key_of(t["ResourceId"], t["ScalableDimension"])
            self.targets[key] = t
            side = "read" if "Read" in t["ScalableDimension"] else "write"
            views.append(scaling_view(key, f"{t['ResourceId']} {side}", t, None, on_aws=False))
        return views

    def _scan(self) -> list[Mapping[str, Any]]:
        """Every target of the namespace, the listed tables' kept; what was found noted."""
        found, everything = [], 0
        try:
            pages = self.aas.get_paginator("describe_scalable_targets")
            for page in pages.paginate(ServiceNamespace="dynamodb"):
                targets = page.get("ScalableTargets", [])
                everything += len(targets)
                found += [t for t in targets if self._table(t["ResourceId"])]
        except Exception as e:
            raise aws_error("DescribeScalableTargets", e) from e
        ids = tuple(sorted({t["ResourceId"] for t in found}))
        self.scan = Scan(ids, everything)
        return found

    def _by_name(self, ids: Sequence[str]) -> list[Mapping[str, Any]]:
        """The targets of the resource ids, 50 ids a call."""
        found = []
        try:
            pages = self.aas.get_paginator("describe_scalable_targets")
            for start in range(0, len(ids), IDS_A_CALL):
                chunk = list(ids[start : start + IDS_A_CALL])
                for page in pages.paginate(ServiceNamespace="dynamodb", ResourceIds=chunk):
                    found += [
                        t for t in page.get("ScalableTargets", []) if self._table(t["ResourceId"])
                    ]
        except Exception as e:
            raise aws_error("DescribeScalableTargets", e) from e
        return found

    def apply(self, change: Change) -> None:
        if change.after is not None:
            register_suspension(self.aas, self.targets[change.key], change.after)
