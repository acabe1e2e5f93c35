"""The timing budget is defined once (timing.py): the clients, the lease, the keys' defaults and
the Lambda's reserve are made from it, and its parts fit together."""

from __future__ import annotations

import dataclasses

from autoscaler_pauser import timing
from autoscaler_pauser.aws import make_clients
from autoscaler_pauser.config import KEYS, KEYS_BY_NAME, Config
from autoscaler_pauser.keys import Required


def test_a_run_ends_within_its_lease_and_the_lease_within_the_minute_between_runs():
    assert timing.WRITE_BUDGET_SECONDS + timing.HUNG_CALL_SECONDS < timing.RUN_SECONDS
    assert timing.RUN_SECONDS < timing.LEASE_SECONDS < KEYS_BY_NAME["interval"].default
    assert KEYS_BY_NAME["lease_seconds"].default == timing.LEASE_SECONDS
    assert f"({timing.RUN_SECONDS} s at most)" in KEYS_BY_NAME["lease_seconds"].help


def test_the_lambda_keeps_time_for_one_hung_call_after_its_last_write():
    assert timing.LAMBDA_RESERVE_SECONDS > timing.HUNG_CALL_SECONDS


def test_every_client_tries_and_waits_as_the_budget_says():
    aws = make_clients(Config(emr_prefix=("b-",), emr_region="us-east-1"))
    boto = aws.client("emr", "us-east-1").meta.config
    assert boto.connect_timeout == timing.CONNECT_SECONDS
    assert boto.read_timeout == timing.READ_SECONDS
    assert boto.retries == {"mode": "standard", "total_max_attempts": timing.TRIES}


def test_the_config_s_defaults_are_the_key_table_s():
    fields = {f.name: f.default for f in dataclasses.fields(Config)}
    for key in KEYS:
        default = tuple(key.default) if isinstance(key.default, list) else key.default
        if key.required is Required.NO:
            assert fields[key.name] == default, key.name


def test_the_regions_a_key_is_checked_against_are_botocore_s():
    """regions_of reads botocore's endpoints data by each service's endpoint prefix: the same
    regions as boto3's get_available_regions, which loads the service's model to find it."""
    import boto3
    import botocore.session

    from autoscaler_pauser.aws import ENDPOINT_PREFIXES, regions_of
    from autoscaler_pauser.config import KEYS

    session = boto3.session.Session()
    regions = regions_of(session)
    core = botocore.session.get_session()
    for service in {key.service for key in KEYS if key.service}:
        prefix = core.get_service_model(service).metadata["endpointPrefix"]
        assert ENDPOINT_PREFIXES.get(service, service) == prefix, service
        expected = {
            region
            for partition in session.get_available_partitions()
            for region in session.get_available_regions(service, partition)
        }
        assert regions(service) == expected and "us-east-1" in expected, service


def test_the_clusters_tags_take_the_share_of_the_time_for_writes_the_docs_say():
    """Half of it (14 s), asked again after 0.5 s, then twice as long each time up to 8 s."""
    from tests.support.docs import DOCS

    assert timing.TAGS_SHARE == 0.5, "the docs say half"
    seconds = timing.WRITE_BUDGET_SECONDS * timing.TAGS_SHARE
    [row] = [
        line
        for line in (DOCS / "failure-modes.md").read_text().splitlines()
        if line.startswith("| DescribeCluster fails")
    ]
    assert f"half of the run's time for writes ({seconds:g} s;" in row
    assert f"after {timing.BACKOFF_FIRST:g} s" in row and f"up to {timing.BACKOFF_MOST:g} s" in row
    assert "half of the run's time for writes" in (DOCS / "configuration.md").read_text()
