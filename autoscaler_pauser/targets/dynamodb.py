"""DynamoDB's native auto scaling: the scalable targets of the tables and their indexes."""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..aws import aws_error, pages
from ..keys import Key, Kind
from ..model import (
    SUSPENDED,
    Change,
    Cluster,
    PauseRecord,
    RunRecord,
    Scan,
    Scope,
    Setting,
    TargetView,
    parse_iso,
)
from .kind import Context, Eager, RestoreCall

if TYPE_CHECKING:
    from ..aws import Aws
    from ..config import Config
from .scalable import (
    register_suspension,
    restore_suspension,
    scaling_view,
    suspension_from_json,
)

log = logging.getLogger("autoscaler-pauser")

PAGE, IDS_A_CALL = 50, 50  # targets a page; resource ids a call may name
DIMENSIONS = ("read", "write")  # a target's side: its scalable dimension, in a word
# A scan of the whole namespace is trusted for asking by name while it is younger than this: an
# index made during a pause is found by the first run this long after it was made, at the
# latest. A run that may begin a pause scans it all.
SCAN_SECONDS = 10 * 60


def by_name_pays(
    scan: Scan | None, scanned_at: datetime | None, now: datetime, readers: int = 1
) -> bool:
    """Whether asking for the known resource ids is quicker than scanning the whole namespace,
    and the scan they come from is recent. A scan is one call after another (each page names
    the next); the calls by name go `readers` at a time."""
    if scan is None or scanned_at is None or (now - scanned_at).total_seconds() >= SCAN_SECONDS:
        return False
    by_name = [
        math.ceil(2 * min(IDS_A_CALL, len(scan.ids) - i) / PAGE)
        for i in range(0, len(scan.ids), IDS_A_CALL)
    ]
    rounds = max(by_name, default=0) * math.ceil(len(by_name) / max(1, readers))
    return 0 < rounds < math.ceil(scan.namespace / PAGE)


TARGET = "DynamoDB tables"
KEYS: tuple[Key, ...] = (
    Key(
        "dynamodb_tables",
        Kind.TABLES,
        [],
        "DynamoDB tables whose native auto scaling (Application Auto Scaling, tables and their "
        "global secondary indexes) is suspended while paused; env: comma-separated",
        target=TARGET,
    ),
    Key(
        "dynamodb_dimensions",
        Kind.DIMENSIONS,
        ["read", "write"],
        "which scalable dimensions of those tables and their indexes are suspended while "
        "paused: read, write or both; a dimension left out keeps scaling through the backup; "
        "env: comma-separated",
        target=TARGET,
    ),
    Key(
        "dynamodb_region",
        Kind.REGION,
        None,
        "region of those tables; default: autoscaler_region",
        service="application-autoscaling",
        target=TARGET,
    ),
)


class DynamoDbScaling(Eager):
    """DynamoDB's native auto scaling: every scalable target of the tables and their global
    secondary indexes, paused by suspending all three kinds of scaling; only the scalable
    dimensions (read, write) the config names.

    The targets are found with DescribeScalableTargets over the whole dynamodb namespace (one
    call per 50 targets in the region), since a table's index targets cannot be named up front.
    Where the listed tables' targets are a small part of a big namespace, a run may ask for
    just those, by the resource ids the last scan of the whole found (`known`): fewer calls.
    Their pre-pause suspensions are kept in the pause record, and every target the record holds
    (`held`) is read by its key, whatever the last scan found: one AWS no longer has is `gone`.

    Keys: `dynamodb:REGION/RESOURCE_ID:read` or `:write`, where the resource id is
    `table/TABLE` or `table/TABLE/index/INDEX`; the scope is the table: the clusters that back
    it up hold its targets.
    """

    PREFIX = "dynamodb:"
    LABEL = "dynamodb"
    KEYS = KEYS
    NEEDS = ("dynamodb_tables",)
    parallel = True

    def __init__(
        self,
        aas: Any,
        region: str,
        tables: Sequence[str],
        dimensions: Sequence[str] = DIMENSIONS,
        known: Scan | None = None,
        only: Collection[str] | None = None,
        readers: int = 1,
        held: Collection[str] = (),
    ):
        """`only`: the keys of targets the config no longer names, read by name to be given
        back (the run reads nothing else with this instance). `readers`: calls by name made at
        once. `held`: the keys the pause record holds (those of other kinds are left out)."""
        self.aas, self.region_name, self.tables = aas, region, tuple(tables)
        self.readers = readers
        self.dimensions = tuple(dimensions)
        self.order = {table: i for i, table in enumerate(self.tables)}  # the config's order
        self.targets: dict[str, Mapping[str, Any]] = {}
        self.only = None if only is None else set(only)
        if self.only is not None:
            known, held = Scan((), 0), self.only
        self.held = tuple(key for key in held if key.startswith(self.PREFIX))
        self.known = known  # what to ask for by name, if that is cheaper; None: scan it all
        self.scan: Scan | None = None  # what this run's scan of the whole found
        self.gone: tuple[str, ...] = ()  # held, and not on AWS

    # --- the config --------------------------------------------------------------------------

    @staticmethod
    def given(values: Mapping[str, Any], given: Collection[str]) -> bool:
        """Tables are listed (or a list was given that is wrong, and reported)."""
        listed = "dynamodb_tables" in given and "dynamodb_tables" not in values
        return bool(values.get("dynamodb_tables")) or listed

    @staticmethod
    def check(values: dict[str, Any], given: set[str], complete: bool) -> list[str]:
        if not complete or not values.get("dynamodb_tables"):
            return []
        if given & {"dynamodb_region", "autoscaler_region"}:
            return []
        return [
            "dynamodb_region: required with dynamodb_tables when autoscaler_region is not set "
            "(set it in the config file or DYNAMODB_REGION)"
        ]

    @staticmethod
    def configured_in(config: Config) -> bool:
        return bool(config.dynamodb_tables)

    @staticmethod
    def scopes(config: Config) -> tuple[Scope, ...]:
        return tuple(config.dynamodb_tables)

    @staticmethod
    def home_region(config: Config) -> str | None:
        return config.dynamodb_region or config.autoscaler_region

    @staticmethod
    def default_name(config: Config) -> str | None:
        return None

    @classmethod
    def build(cls, config: Config, aws: Aws, context: Context) -> list[Any]:
        """The listed tables' targets: asked for by name when that is cheaper, from the last
        scan of the namespace, unless a pause of a table may begin (a new index must not be
        missed); and every one the pause record holds, by its key."""
        region = cls.home_region(config) or ""
        aas = aws.client("application-autoscaling", region)
        known = _known(config, context.record, context.now, context.clusters, context.run)
        mine = (key for key in context.record.held if key.startswith(cls.PREFIX))
        held = [key for key in mine if cls.configured(key, config)]
        tables, dimensions = config.dynamodb_tables, config.dynamodb_dimensions
        readers = config.write_workers
        return [cls(aas, region, tables, dimensions, known, readers=readers, held=held)]

    # --- the facts of its keys ---------------------------------------------------------------

    @classmethod
    def key_of(cls, region: str, resource_id: str, side: str) -> str:
        return f"{cls.PREFIX}{region}/{resource_id}:{side}"

    @classmethod
    def region(cls, key: str) -> str:
        return _split(key)[0]

    @staticmethod
    def scope(key: str) -> Scope:
        return _split(key)[1].split("/")[1]

    setting = staticmethod(suspension_from_json)

    @staticmethod
    def paused(key: str) -> Setting:
        return SUSPENDED

    @classmethod
    def configured(cls, key: str, config: Config) -> bool:
        region, resource, side = _split(key)
        table = resource.split("/")[1]
        return (
            region == cls.home_region(config)
            and table in config.dynamodb_tables
            and side in config.dynamodb_dimensions
        )

    @classmethod
    def named(cls, config: Config) -> tuple[str, ...]:
        region = cls.home_region(config) or ""
        tables, sides = config.dynamodb_tables, config.dynamodb_dimensions
        return tuple(cls.key_of(region, f"table/{t}", side) for t in tables for side in sides)

    @classmethod
    def restore_call(cls, key: str, setting: Setting) -> RestoreCall:
        _, resource, side = _split(key)
        return restore_suspension(key, "dynamodb", resource, _dimension(resource, side), setting)

    @classmethod
    def leftovers(cls, keys: Collection[str], aws: Aws, config: Config) -> list[Any]:
        """The targets of `keys`, which the config no longer names, by region: to be given
        back."""
        regions: dict[str, list[str]] = {}
        for key in keys:
            regions.setdefault(_split(key)[0], []).append(key)
        kinds: list[Any] = []
        for region, these in regions.items():
            tables = tuple(dict.fromkeys(cls.scope(k) for k in these))
            aas = aws.client("application-autoscaling", region)
            kinds.append(cls(aas, region, tables, only=these))
        return kinds

    # --- reading and writing the targets ---------------------------------------------------

    def _table(self, resource_id: str) -> str | None:
        """The listed table a resource id (table/<t> or table/<t>/index/<i>) is of, or None."""
        parts = resource_id.split("/")
        if parts[0] != "table" or len(parts) not in (2, 4) or parts[1] not in self.order:
            return None
        return parts[1] if len(parts) == 2 or parts[2] == "index" else None

    def _wanted(self, target: Mapping[str, Any]) -> bool:
        if not self._table(target["ResourceId"]):
            return False
        key = self.key_of(self.region_name, target["ResourceId"], _side(target))
        if self.only is not None:
            return key in self.only
        return _side(target) in self.dimensions

    def observe(self) -> list[TargetView]:
        """Every target of the listed tables, and each the record holds, found or gone."""
        if self.known is None:
            found = self._scan()
        else:
            held = {_split(key)[1] for key in self.held}
            found = self._by_name(sorted(held.union(self.known.ids)))
        if self.only is None:
            covered = {self._table(t["ResourceId"]) for t in found}
            for table in self.tables:
                if table not in covered:
                    log.warning(
                        "table %s has no Application Auto Scaling target in %s (on-demand, not "
                        "auto scaled, or in another region): nothing to suspend",
                        table,
                        self.region_name,
                    )
        found = [t for t in found if self._wanted(t)]
        found.sort(
            key=lambda t: (
                self.order[self._table(t["ResourceId"])],
                t["ResourceId"],
                t["ScalableDimension"],
            )
        )
        views = []
        managed = self.only is None
        for t in found:
            key = self.key_of(self.region_name, t["ResourceId"], _side(t))
            self.targets[key] = t
            label = f"{t['ResourceId']} {_side(t)}"
            view = scaling_view(key, label, t, None, on_aws=False)
            views.append(replace(view, scope=self.scope(key), managed=managed))
        self.gone = tuple(key for key in self.held if key not in self.targets)
        return views

    def _scan(self) -> list[Mapping[str, Any]]:
        """Every target of the namespace, the listed tables' kept; what was found noted."""
        found, everything = [], 0
        listing = self.aas.describe_scalable_targets
        try:
            for page in pages(listing, "NextToken", ServiceNamespace="dynamodb"):
                targets = page.get("ScalableTargets", [])
                everything += len(targets)
                found += [t for t in targets if self._table(t["ResourceId"])]
        except Exception as e:
            raise aws_error("DescribeScalableTargets", e) from e
        ids = tuple(sorted({t["ResourceId"] for t in found}))
        self.scan = Scan(ids, everything)
        return found

    def _by_name(self, ids: Sequence[str]) -> list[Mapping[str, Any]]:
        """The targets of the resource ids, 50 ids a call, `readers` calls at a time."""
        chunks = [list(ids[i : i + IDS_A_CALL]) for i in range(0, len(ids), IDS_A_CALL)]
        try:
            if self.readers <= 1 or len(chunks) <= 1:
                found = [t for chunk in chunks for t in self._chunk(chunk)]
            else:
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(min(self.readers, len(chunks))) as pool:
                    found = [t for part in pool.map(self._chunk, chunks) for t in part]
        except Exception as e:
            raise aws_error("DescribeScalableTargets", e) from e
        return found

    def _chunk(self, ids: list[str]) -> list[Mapping[str, Any]]:
        listing = self.aas.describe_scalable_targets
        return [
            t
            for page in pages(listing, "NextToken", ServiceNamespace="dynamodb", ResourceIds=ids)
            for t in page.get("ScalableTargets", [])
            if self._table(t["ResourceId"])
        ]

    def apply(self, change: Change) -> None:
        if change.after is not None:
            register_suspension(self.aas, self.targets[change.key], change.after)


def _known(
    config: Config,
    record: PauseRecord,
    now: datetime,
    clusters: Sequence[Cluster],
    run: RunRecord | None,
) -> Scan | None:
    """The tables' resource ids to ask for by name, from the last scan of the namespace, when
    that is cheaper and no pause of a table may begin; else None: scan it all."""
    if run is None or run.scan is None:
        return None
    idle = set(config.dynamodb_tables) - set(record.paused_scopes())
    if clusters and idle:
        return None
    readers = config.write_workers
    return run.scan if by_name_pays(run.scan, parse_iso(run.scanned_at), now, readers) else None


def _split(key: str) -> tuple[str, str, str]:
    """REGION, RESOURCE_ID and side (read or write) of a key."""
    region, rest = key.removeprefix(DynamoDbScaling.PREFIX).split("/", 1)
    resource, _, side = rest.rpartition(":")
    return region, resource, side


def _side(target: Mapping[str, Any]) -> str:
    return "read" if target["ScalableDimension"].endswith("ReadCapacityUnits") else "write"


def _dimension(resource_id: str, side: str) -> str:
    """The scalable dimension of a table's or an index's reads or writes."""
    what = "index" if "/index/" in resource_id else "table"
    units = "ReadCapacityUnits" if side == "read" else "WriteCapacityUnits"
    return f"dynamodb:{what}:{units}"
