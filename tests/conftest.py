"""Fixtures: moto in process (`mock_aws`), moto server on loopback, and the fault proxy that
sits between the tool and moto server. Their helpers are in tests/support."""

from __future__ import annotations

import functools
import socket

import pytest
from moto import mock_aws

from autoscaler_pauser import cli
from autoscaler_pauser.aws import new_session
from autoscaler_pauser.config import CONFIG_ENV, KEYS
from tests.support import motopatch
from tests.support.motoserver import MotoServer
from tests.support.proxy import FaultProxy
from tests.support.tool import FAKE_CREDENTIALS
from tests.support.world import World, follow_made_at

motopatch.apply()  # moto in process, as in the moto server the tests start


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch):
    """No test may reach a real AWS endpoint or read the developer's AWS files."""
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for key in KEYS:
        monkeypatch.delenv(key.env, raising=False)
    monkeypatch.delenv(CONFIG_ENV, raising=False)


# One boto3 session for the whole process (each pytest-xdist worker is one).
shared_session = functools.cache(new_session)


@pytest.fixture(autouse=True)
def _one_boto3_session(monkeypatch):
    """main() makes a boto3 session for each command, and each new session parses botocore's
    endpoint data and service models again: a tenth of a second of CPU and more a run, half the
    time of the in-process suites. Here the runs of a test process share one session, as the runs
    of --loop share theirs; a tool run in a process of its own (tests/e2e) makes its own."""
    monkeypatch.setattr(cli, "new_session", shared_session)


LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    """A test that would reach anything but loopback fails at once (subprocesses are pointed at
    moto server by AWS_ENDPOINT_URL; this holds the tests' own process, threads included)."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host not in LOOPBACK:
            raise OSError(f"a test tried to reach {host}: only 127.0.0.1 is allowed")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def world(monkeypatch):
    with mock_aws():
        world = World()
        follow_made_at(world, monkeypatch)
        yield world


@pytest.fixture(scope="session")
def moto_server():
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture
def server_world(moto_server):
    moto_server.reset()
    return World(endpoint=moto_server.url)


@pytest.fixture
def fault_proxy(moto_server):
    """A fault proxy in front of a fresh moto server, its RNG seeded with 0 (reseed at will)."""
    proxy = FaultProxy(moto_server.url)
    yield proxy
    proxy.stop()
    assert proxy.errors == [], "the fault proxy itself failed"
