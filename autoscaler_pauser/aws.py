"""The AWS edge: clients with their timeouts and retries, one error type, the EMR read."""

from __future__ import annotations

import email.utils
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from .model import Cluster
from .timing import (
    CLOCK_SKEW_SECONDS,
    CONNECT_SECONDS,
    READ_SECONDS,
    TRANSIENT_WAIT_SECONDS,
    TRIES,
)

if TYPE_CHECKING:
    from .config import Config

log = logging.getLogger("autoscaler-pauser")

# EMR states that `aws emr list-clusters --active` asks for.
ACTIVE_STATES = ("STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING", "TERMINATING")


THROTTLED = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "LimitExceededException",
}


class AwsError(Exception):
    """An AWS call failed: one line with the operation and the AWS error code. `changed`: the
    target's setting was changed all the same, only the record of it on AWS failed."""

    def __init__(
        self,
        message: str,
        changed: bool = False,
        code: str | None = None,
        status: int | None = None,
    ):
        super().__init__(message)
        self.changed, self.code, self.status = changed, code, status

    @property
    def throttled(self) -> bool:
        """AWS asked for fewer calls."""
        return self.code in THROTTLED

    @property
    def denied(self) -> bool:
        """IAM did not allow the call."""
        return (self.code or "").startswith("AccessDenied") or self.status == 403


def aws_error(operation: str, e: Exception) -> AwsError:
    from botocore.exceptions import ClientError

    if not isinstance(e, ClientError):
        return AwsError(f"{operation} failed: {type(e).__name__}: {one_line(str(e))}")
    code, message = _code_and_message(e.response.get("Error", {}))
    status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    text = f"{operation} failed: {code}: {message}".rstrip(": ")
    passing = transient(code, e.response)
    if passing:
        why, remedy = passing
        text += (
            f" ({why}; tried {TRIES} times): the next run tries again; should every run fail so, "
            f"{remedy}"
        )
    return AwsError(text, code=code, status=status)


# Transient failures that botocore's standard retries leave alone, by code: why they happen, and
# what to do should they outlast their tries (retry_transient tries them again).
ITEMS = "find what else writes the pause record's items"
TRANSIENT = {
    # A transaction cancelled for a conflict with another request on one of its items, and for
    # nothing else (CancellationReasons).
    "TransactionCanceledException": (
        "another request wrote one of the items at that moment",
        ITEMS,
    ),
    "TransactionConflictException": ("another request wrote the same item at that moment", ITEMS),
    "ConcurrentUpdateException": (
        "another change of the same scalable target was under way",
        "find what else changes the target's scaling (a deploy, a second pauser)",
    ),
}


def transient(code: str | None, answer: Mapping[str, Any]) -> tuple[str, str] | None:
    """Why a failure with this code and answer (its parsed response) is transient and what to do
    should it last, if it is one that botocore does not try again."""
    if code == "TransactionCanceledException":
        reasons = {str(r.get("Code")) for r in answer.get("CancellationReasons") or []}
        if reasons - {"None"} != {"TransactionConflict"}:  # "None": an item that was not why
            return None
    return TRANSIENT.get(code or "")


def retry_transient(attempts: int, response: Any = None, **_: Any) -> float | None:
    """botocore's needs-retry event: the seconds to wait before trying again a call that failed
    transiently where botocore would not try again, up to TRIES tries in all; None leaves the
    call to botocore's retries."""
    if response is None or attempts >= TRIES:
        return None
    answer = response[1]  # (the HTTP response, the parsed one)
    if not transient((answer.get("Error") or {}).get("Code"), answer):
        return None
    return backoff(attempts)


def backoff(attempt: int, rng: Callable[[], float] = random.random) -> float:
    """The wait after try `attempt` (1 for the first): TRANSIENT_WAIT_SECONDS, doubled at each
    try, of which half is drawn at random, so that writers that failed together do not all try
    again together."""
    wait = TRANSIENT_WAIT_SECONDS * 2 ** (attempt - 1)
    return wait / 2 + rng() * wait / 2


def error_code(e: Exception) -> str | None:
    """The AWS error code of a failed call, as aws_error reads it; None if AWS did not answer."""
    from botocore.exceptions import ClientError

    return _code_and_message(e.response.get("Error", {}))[0] if isinstance(e, ClientError) else None


XML_CODE = re.compile(r"<Code>\s*([^<]*?)\s*</Code>")
XML_MESSAGE = re.compile(r"<Message>\s*([^<]*?)\s*</Message>")
MARKUP = re.compile(r"<[!?/]?[A-Za-z][^>]*>")


def _code_and_message(error: dict[str, Any]) -> tuple[str, str]:
    """The AWS error code and message. Where an error page came instead of an AWS error (an HTTP
    status for a code, an XML or HTML page for the message), the code and message inside it."""
    code, message = str(error.get("Code") or "Unknown"), str(error.get("Message") or "")
    inner = XML_CODE.search(message)
    if code.isdigit() and inner:
        code = inner.group(1)
        found = XML_MESSAGE.search(message)
        message = found.group(1) if found else ""
    return code, one_line(message)


def one_line(text: str, limit: int = 300) -> str:
    """Text for a log line: markup and line breaks gone, at most `limit` characters."""
    text = " ".join(MARKUP.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pages(call: Callable[..., Mapping[str, Any]], token: str, **params: Any) -> Iterator[Any]:
    """Each page of a listing call, following its `token` (Marker, NextToken) as botocore's
    paginators do. Not those: the first a process makes lists every service's folder of
    botocore's data, 8 ms of a 300 ms run. The same token twice is an error, not an end."""
    while True:
        page = call(**params)
        yield page
        following = page.get(token)
        if not following:
            return
        if following == params.get(token):
            raise RuntimeError(f"the same {token} twice: {one_line(str(following))}")
        params[token] = following


def list_matching_clusters(emr: Any, prefixes: Sequence[str]) -> tuple[Cluster, ...]:
    """Active EMR clusters whose name starts with any prefix, all pages, filtered by state."""
    found = []
    try:
        for page in pages(emr.list_clusters, "Marker", ClusterStates=list(ACTIVE_STATES)):
            for c in page.get("Clusters", []):
                name = c.get("Name", "")
                prefix = next((p for p in prefixes if name.startswith(p)), None)
                if prefix is not None:
                    found.append(Cluster(c["Id"], name, c["Status"]["State"], prefix))
    except Exception as e:
        raise aws_error("ListClusters", e) from e
    return tuple(sorted(found, key=lambda c: c.id))


def cluster_tags(emr: Any, cluster_id: str) -> dict[str, str]:
    """A cluster's tags (DescribeCluster)."""
    try:
        cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
    except Exception as e:
        raise aws_error("DescribeCluster", e) from e
    return {t.get("Key", ""): t.get("Value", "") for t in cluster.get("Tags") or []}


class Aws:
    """The AWS clients of a run, each made on first use and then reused; tests hand in their
    own `make`. It notes the time AWS gave with the answers (`heard`), from which a run takes
    AWS's clock; `dates`: False to leave it out (tests that set the clock themselves)."""

    def __init__(self, config: Config, make: Callable[[str, str], Any], dates: bool = True):
        self.config, self.make, self.dates = config, make, dates
        self._clients: dict[tuple[str, str], Any] = {}
        self.calls = 0  # API calls made, for the metrics
        self.heard: tuple[datetime, float] | None = None  # AWS's time, and monotonic() then
        # The writers share the clients; a session must not make two at once.
        self._lock = threading.Lock()

    def client(self, service: str, region: str) -> Any:
        with self._lock:
            if (service, region) not in self._clients:
                client = self.make(service, region)
                client.meta.events.register("before-call", self._count)
                client.meta.events.register("after-call", self._date)
                client.meta.events.register("needs-retry", retry_transient)
                self._clients[service, region] = client
            return self._clients[service, region]

    def _count(self, **_: Any) -> None:
        with self._lock:
            self.calls += 1

    def _date(self, http_response: Any = None, **_: Any) -> None:
        """The Date of an answer: whole seconds of AWS's clock, half a second on average
        behind it."""
        if not self.dates or http_response is None:
            return
        date = _http_date(http_response.headers.get("Date"))
        if date is not None:
            with self._lock:
                self.heard = (date + timedelta(seconds=0.5), time.monotonic())

    @property
    def emr(self) -> Any:
        return self.client("emr", self.config.emr_region)


class AwsClock:
    """A run's clock: AWS's, as the first answer told it (its Date), wherever this host's is
    further than CLOCK_SKEW_SECONDS from it; until then, and otherwise, this host's. Every time
    that hosts compare (the lease, the grace, when a pause began) comes from it."""

    def __init__(self, host: Callable[[], datetime], aws: Aws):
        self.host, self.aws = host, aws
        self.offset: float | None = None  # seconds to add to this host's clock
        self.warnings: list[str] = []

    def now(self) -> datetime:
        if self.offset is None and self.aws.heard is not None:
            told, at = self.aws.heard
            host_then = self.host() - timedelta(seconds=time.monotonic() - at)
            skew = (host_then - told).total_seconds()
            self.offset = -skew if abs(skew) > CLOCK_SKEW_SECONDS else 0.0
            if self.offset:
                way = "ahead of" if skew > 0 else "behind"
                self.warnings.append(
                    f"this host's clock is {abs(skew):.0f} s {way} AWS's; this run goes by "
                    "AWS's clock (the Date of its answers): check the host's time service (NTP)"
                )
        return self.host() + timedelta(seconds=self.offset or 0.0)

    @property
    def ahead(self) -> float:
        """How many seconds this host's clock is ahead of the one the run goes by (0 within
        CLOCK_SKEW_SECONDS of AWS's): for `status`, which reads the times the run records."""
        return -(self.offset or 0.0)


class SessionError(Exception):
    """The AWS profile asked for, or the AWS config files, cannot be used: a problem the user
    fixes, as a config's (`problems`, exit 2)."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problems = [problem]


def new_session() -> Any:
    """A boto3 session: its botocore session holds the endpoint data every client loads. A
    profile that is not there, or AWS config files that cannot be read, are SessionError."""
    import boto3
    from botocore.exceptions import BotoCoreError, ProfileNotFound

    try:
        return boto3.session.Session()
    except ProfileNotFound as e:
        raise SessionError(profile_problem(e.kwargs.get("profile"), os.environ)) from None
    except BotoCoreError as e:
        raise SessionError(f"AWS config: {e}") from None


def profile_problem(profile: str | None, environ: Mapping[str, str]) -> str:
    """What is wrong with the AWS profile asked for, naming it, the variable and the files."""
    variable = "AWS_PROFILE" if environ.get("AWS_PROFILE") else "AWS_DEFAULT_PROFILE"
    files = (
        environ.get("AWS_CONFIG_FILE") or "~/.aws/config",
        environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials",
    )
    return f"{variable}: no AWS profile {profile!r} in {files[0]} or {files[1]}"


# The endpoint prefix of a service whose regions a key is checked against, where it is not the
# service's name: its model's metadata.endpointPrefix (a test holds them to the models).
ENDPOINT_PREFIXES = {"emr": "elasticmapreduce"}


def regions_of(session: Any) -> Callable[[str], frozenset[str]]:
    """The regions a service has in any partition, as botocore knows them; no AWS call. Read
    from botocore's endpoints data, which the session's clients load too, without the service
    models that session.get_available_regions would load for each service."""
    from botocore.regions import EndpointResolver

    # The botocore session of a boto3 session: the endpoints data is cached by its loader.
    resolver = EndpointResolver(session._session.get_data("endpoints"))

    def regions(service: str) -> frozenset[str]:
        prefix = ENDPOINT_PREFIXES.get(service, service)
        return frozenset(
            region
            for partition in resolver.get_available_partitions()
            for region in resolver.get_available_endpoints(prefix, partition)
        )

    return regions


def make_clients(config: Config, session: Any = None) -> Aws:
    from botocore.config import Config as BotoConfig

    # The tries and timeouts that bound one call (timing.py). botocore's retries "max_attempts"
    # counts retries only, not tries: total_max_attempts counts tries. Each writer of the pool has
    # a connection of its own.
    boto = BotoConfig(
        connect_timeout=CONNECT_SECONDS,
        read_timeout=READ_SECONDS,
        retries={"mode": "standard", "total_max_attempts": TRIES},
        max_pool_connections=max(10, config.write_workers + 2),
    )
    session = session or new_session()
    return Aws(config, lambda name, region: session.client(name, region_name=region, config=boto))


def _http_date(text: str | None) -> datetime | None:
    try:
        date = email.utils.parsedate_to_datetime(text or "")
    except (TypeError, ValueError):
        return None
    return date if date.tzinfo else date.replace(tzinfo=timezone.utc)
