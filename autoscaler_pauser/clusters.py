"""The tables each matching cluster backs up, from its tags (cluster_tables_tag): read once, when
a run first sees the cluster (DescribeCluster), and kept in the pause record."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from fnmatch import fnmatchcase

from .aws import Aws, cluster_tags
from .config import Config
from .model import Cluster, PauseRecord


def tables_from_tags(tags: Mapping[str, str], tag: str) -> tuple[str, ...] | None:
    """The table names and patterns a cluster's tags name: the values of the tag `tag` and of
    the tags whose keys start with it, comma-separated; None if it has none of them (it holds
    every table)."""
    keys = sorted((k for k in tags if k.startswith(tag)), key=lambda k: (k != tag, len(k), k))
    if not keys:
        return None
    names = (name.strip() for key in keys for name in tags[key].split(","))
    return tuple(dict.fromkeys(name for name in names if name))


def unmatched(tables: Sequence[str], listed: Sequence[str]) -> list[str]:
    """The names and patterns that match no listed table."""
    return [p for p in tables if not any(fnmatchcase(t, p) for t in listed)]


def with_tables(
    clusters: Sequence[Cluster], record: PauseRecord, config: Config, aws: Aws
) -> tuple[tuple[Cluster, ...], list[str]]:
    """The clusters with the tables each backs up: from the pause record for a cluster seen
    before, else from its tags (DescribeCluster, once); and a warning for each name or pattern
    that matches no listed table."""
    tag = config.cluster_tables_tag
    if not tag:
        return tuple(clusters), []
    known = record.clusters if record.clusters_tag == tag else {}
    found, warnings = [], []
    for cluster in clusters:
        if cluster.id in known:
            found.append(replace(cluster, tables=known[cluster.id]))
            continue
        tables = tables_from_tags(cluster_tags(aws.emr, cluster.id), tag)
        for name in unmatched(tables or (), config.dynamodb_tables):
            warnings.append(
                f"cluster {cluster.id} ({cluster.name}) names {name!r} in its tag {tag}, which "
                "matches no table of dynamodb_tables"
            )
        found.append(replace(cluster, tables=tables))
    return tuple(found), warnings
