"""Shared fixtures: moto in process (`mock_aws`) and moto server on loopback."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

import reconcile

REGION = "us-east-1"
ROOT = Path(__file__).resolve().parent.parent
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKE0001",
    "AWS_SECRET_ACCESS_KEY": "fakeSecretKeyThatMustNeverBeLogged/0001",
}


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
    for key in reconcile.KEYS:
        monkeypatch.delenv(key.env, raising=False)
    monkeypatch.delenv(reconcile.CONFIG_ENV, raising=False)


class World:
    """An AWS account with an ECS autoscaler service and EMR clusters to start and stop."""

    def __init__(self, endpoint: str | None = None):
        kw = {"region_name": REGION}
        if endpoint:
            kw["endpoint_url"] = endpoint
        self.emr = boto3.client("emr", **kw)
        self.ecs = boto3.client("ecs", **kw)
        self.aas = boto3.client("application-autoscaling", **kw)
        self.calls: Counter[str] = Counter()
        self.cluster, self.service = "autoscaler", "ddb-scaler"

    def create_service(self, desired: int = 3, name: str | None = None) -> str:
        name = name or self.service
        self.ecs.create_cluster(clusterName=self.cluster)
        self.ecs.register_task_definition(
            family="scaler", containerDefinitions=[{"name": "s", "image": "x", "memory": 128}]
        )
        svc = self.ecs.create_service(
            cluster=self.cluster, serviceName=name, taskDefinition="scaler", desiredCount=desired
        )
        return svc["service"]["serviceArn"]

    def start_cluster(self, name: str) -> str:
        return self.emr.run_job_flow(
            Name=name,
            ReleaseLabel="emr-6.15.0",
            Instances={
                "InstanceCount": 1,
                "MasterInstanceType": "m5.xlarge",
                "KeepJobFlowAliveWhenNoSteps": True,
            },
            JobFlowRole="EMR_EC2_DefaultRole",
            ServiceRole="EMR_DefaultRole",
        )["JobFlowId"]

    def stop_cluster(self, cluster_id: str) -> None:
        self.emr.terminate_job_flows(JobFlowIds=[cluster_id])

    def describe(self) -> dict:
        return self.ecs.describe_services(
            cluster=self.cluster, services=[self.service], include=["TAGS"]
        )["services"][0]

    def desired(self) -> int:
        return self.describe()["desiredCount"]

    def tags(self) -> dict[str, str]:
        return {t["key"]: t["value"] for t in self.describe().get("tags") or []}

    def set_desired(self, count: int) -> None:
        self.ecs.update_service(cluster=self.cluster, service=self.service, desiredCount=count)

    def clients(self, config: reconcile.Config) -> reconcile.Aws:
        """The tool's clients, counting every call they make by operation name."""
        aws = reconcile.make_clients(config)
        make = aws.make

        def counted(service, region):
            client = make(service, region)
            client.meta.events.register("before-call.*.*", self._count)
            return client

        aws.make = counted
        return aws

    def _count(self, model, **_):
        self.calls[model.name] += 1


@pytest.fixture
def world():
    with mock_aws():
        yield World()


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The original tool's environment variables, with the state kept under tmp_path."""
    env = {
        "EMR_PREFIX": "nightly-backup-",
        "EMR_REGION": REGION,
        "AUTOSCALER_CLUSTER": "autoscaler",
        "AUTOSCALER_REGION": REGION,
        "AUTOSCALER_SERVICE": "ddb-scaler",
        "STATE_FILE": str(tmp_path / "state" / "state.json"),
    }
    env.update(extra)
    return env


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoServer:
    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = Path(sys.executable).with_name("moto_server")
        self.proc = subprocess.Popen(
            [str(exe), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("moto_server did not start")

    def reset(self) -> None:
        req = urllib.request.Request(self.url + "/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=5)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def moto_server():
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture
def server_world(moto_server):
    moto_server.reset()
    return World(endpoint=moto_server.url)


def run_tool(args, env, timeout=60) -> subprocess.CompletedProcess:
    """Run reconcile.py as cron would: a fresh process with only the given environment."""
    full = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "AWS_CONFIG_FILE": "/nonexistent/aws-config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
        "AWS_EC2_METADATA_DISABLED": "true",
        **FAKE_CREDENTIALS,
        **env,
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "reconcile.py"), *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
