"""The AWS edge: clients with their timeouts and retries, one error type, the EMR read."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from .config import Config
from .model import Cluster

log = logging.getLogger("autoscaler-pauser")

# EMR states that `aws emr list-clusters --active` asks for.
ACTIVE_STATES = ("STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING", "TERMINATING")


class AwsError(Exception):
    """An AWS call failed: one line with the operation and the AWS error code. `changed`: the
    target's setting was changed all the same, only the record of it on AWS failed."""

    def __init__(self, message: str, changed: bool = False):
        super().__init__(message)
        self.changed = changed


def aws_error(operation: str, e: Exception) -> AwsError:
    from botocore.exceptions import ClientError

    if isinstance(e, ClientError):
        err = e.response.get("Error", {})
        code = err.get("Code", "Unknown")
        message = err.get("Message", "")
        return AwsError(f"{operation} failed: {code}: {message}".rstrip(": "))
    return AwsError(f"{operation} failed: {type(e).__name__}: {e}")


def list_matching_clusters(emr: Any, prefixes: Sequence[str]) -> tuple[Cluster, ...]:
    """Active EMR clusters whose name starts with any prefix, all pages, filtered by state."""
    found = []
    try:
        for page in emr.get_paginator("list_clusters").paginate(ClusterStates=list(ACTIVE_STATES)):
            for c in page.get("Clusters", []):
                name = c.get("Name", "")
                prefix = next((p for p in prefixes if name.startswith(p)), None)
                if prefix is not None:
                    found.append(Cluster(c["Id"], name, c["Status"]["State"], prefix))
    except Exception as e:
        raise aws_error("ListClusters", e) from e
    return tuple(sorted(found, key=lambda c: c.id))


class Aws:
    """The AWS clients of a run, each made on first use and then reused; tests hand in their
    own `make`."""

    def __init__(self, config: Config, make: Callable[[str, str], Any]):
        self.config, self.make = config, make
        self._clients: dict[tuple[str, str], Any] = {}
        self.calls = 0  # API calls made, for the metrics

    def client(self, service: str, region: str) -> Any:
        if (service, region) not in self._clients:
            client = self.make(service, region)
            client.meta.events.register("before-call", self._count)
            self._clients[service, region] = client
        return self._clients[service, region]

    def _count(self, **_: Any) -> None:
        self.calls += 1

    @property
    def emr(self) -> Any:
        return self.client("emr", self.config.emr_region)


def make_clients(config: Config) -> Aws:
    import boto3
    from botocore.config import Config as BotoConfig

    # Three tries at 3 s to connect and 5 s to read bound one call to about 16 s against a hung
    # endpoint, so even a run whose tag and update both hang ends well within 45 s. (botocore's
    # retries "max_attempts" counts retries only, not tries: 3 there made four tries.)
    boto = BotoConfig(
        connect_timeout=3, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 3}
    )
    session = boto3.session.Session()
    return Aws(config, lambda name, region: session.client(name, region_name=region, config=boto))
