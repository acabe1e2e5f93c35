"""The tables each matching cluster backs up, from its tags (cluster_tables_tag): read once, when
a run first sees the cluster (DescribeCluster, asked again with backoff while it fails in a way
that passes), and kept in the pause record.

A tag's value is words separated by white space, within EMR's alphabet: a table's name, or
`prefix:NAME` for every table whose name starts with NAME (`orders users prefix:events-2026`).
When one tag is not enough, `<tag>-2`, `<tag>-3`, … add to it. The earlier form, names and
shell-style patterns separated by commas (`orders,events-*`), is still read. A cluster holds
every table when it has none of these tags, when they name no table (a launcher whose list was
empty), or when its tags cannot be read (for that run only: the next run reads them again).
"""

from __future__ import annotations

import glob
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from fnmatch import fnmatchcase
from time import monotonic, sleep
from typing import TYPE_CHECKING, Any

from .aws import Aws, AwsError, cluster_tags
from .model import EVERY_TABLE, Cluster, PauseRecord
from .timing import BACKOFF_FIRST, BACKOFF_MOST

if TYPE_CHECKING:
    from .config import Config

log = logging.getLogger("autoscaler-pauser")

PREFIX = "prefix:"
# Between the words of a value: white space; a comma, as the earlier form wrote it.
SEPARATORS = re.compile(r"[\s,]+")


def tag_keys(tags: Mapping[str, str], tag: str) -> list[str]:
    """The keys of a cluster's tags that name its tables, in order: `tag`, then `tag-2`,
    `tag-3`, …; no other key that starts like them (`backup-tables-owner`)."""
    more = re.compile(re.escape(tag) + r"-([2-9]|[1-9][0-9]+)")
    numbered = sorted((int(m.group(1)), key) for key in tags if (m := more.fullmatch(key)))
    return ([tag] if tag in tags else []) + [key for _, key in numbered]


def tag_words(tags: Mapping[str, str], tag: str) -> tuple[str, ...] | None:
    """The words the tag `tag` and its continuation tags name, each once, in order; None if the
    cluster has none of those tags. A `prefix:` with no name after it names nothing."""
    keys = tag_keys(tags, tag)
    if not keys:
        return None
    words = (word for key in keys for word in SEPARATORS.split(tags[key]))
    return tuple(dict.fromkeys(word for word in words if word and word != PREFIX))


def pattern(word: str) -> str:
    """The tables a word names, as a shell-style pattern: `prefix:NAME`, every name that starts
    with NAME; a table's name, itself (a name holds none of `*?[`; in the earlier form, a
    pattern is itself)."""
    if word.startswith(PREFIX):
        return glob.escape(word[len(PREFIX) :]) + "*"
    return word


def tables_from_tags(tags: Mapping[str, str], tag: str) -> tuple[str, ...] | None:
    """The patterns of the tables a cluster's tags name; None if they name none, or it has none
    of those tags (it holds every table)."""
    words = tag_words(tags, tag)
    return tuple(dict.fromkeys(pattern(w) for w in words)) if words else None


def unmatched(words: Sequence[str], listed: Sequence[str]) -> list[str]:
    """The words that name no listed table."""
    return [w for w in words if not any(fnmatchcase(t, pattern(w)) for t in listed)]


class Unread(Exception):
    """A cluster's tags could not be read: why, in one line."""


def passes(error: AwsError) -> bool:
    """A failure that asking again may get past: throttled, an error of AWS's side (5xx), or no
    answer at all."""
    return error.throttled or error.code is None or (error.status or 0) >= 500


def read_tags(emr: Any, cluster_id: str, until: float) -> dict[str, str]:
    """A cluster's tags (DescribeCluster). A failure that passes is asked again after a wait
    that doubles each time, while the wait ends before `until` (monotonic); no call starts
    after it. Unread: the tags were not read, and why."""
    wait, calls = BACKOFF_FIRST, 0
    while True:
        if monotonic() >= until:
            raise Unread("not asked: the run's time for the clusters' tags was spent")
        calls += 1
        try:
            return cluster_tags(emr, cluster_id)
        except AwsError as e:
            if e.denied:
                raise Unread(f"{e}: allow elasticmapreduce:DescribeCluster (docs/iam.md)") from e
            if not passes(e) or monotonic() + wait >= until:
                asked = f" (asked {calls} times)" if calls > 1 else ""
                raise Unread(f"{e}{asked}") from e
            log.debug("cluster %s: %s; asked again in %.1fs", cluster_id, e, wait)
        sleep(wait)
        wait = min(wait * 2, BACKOFF_MOST)


def with_tables(
    clusters: Sequence[Cluster],
    record: PauseRecord,
    config: Config,
    aws: Aws,
    until: float = math.inf,
) -> tuple[tuple[Cluster, ...], list[str]]:
    """The clusters with the tables each backs up: from the pause record for a cluster seen
    before, else from its tags (DescribeCluster, asked again with backoff until `until`); and a
    warning for each cluster whose tags name no table or could not be read, and for each word
    that names no listed table."""
    tag = config.cluster_tables_tag
    if not tag:
        return tuple(clusters), []
    known = record.clusters if record.clusters_tag == tag else {}
    found, warnings = [], []
    for cluster in clusters:
        if cluster.id in known:
            found.append(replace(cluster, tables=known[cluster.id]))
            continue
        which = f"cluster {cluster.id} ({cluster.name})"
        try:
            tags = read_tags(aws.emr, cluster.id, until)
        except Unread as e:
            warnings.append(
                f"{which}: its tags were not read: {e}; it holds every table for this run, and "
                "the next run reads them again"
            )
            found.append(replace(cluster, tables=None, unread=True))
            continue
        words = tag_words(tags, tag)
        if words == ():
            warnings.append(f"{which} has the tag {tag}, naming no table: it holds every table")
        listed = [scope for scope in config.scopes if scope != EVERY_TABLE]
        for word in unmatched(words or (), listed):
            warnings.append(
                f"{which} names {word!r} in its tag {tag}, which matches no listed table"
            )
        found.append(replace(cluster, tables=tables_from_tags(tags, tag)))
    return tuple(found), warnings
