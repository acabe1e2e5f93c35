"""Shared fixtures: moto in process (`mock_aws`), moto server on loopback, and the fault proxy
that sits between the tool and moto server."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.request
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
from moto import mock_aws

from autoscaler_pauser.aws import Aws, make_clients
from autoscaler_pauser.config import CONFIG_ENV, KEYS, Config

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
    for key in KEYS:
        monkeypatch.delenv(key.env, raising=False)
    monkeypatch.delenv(CONFIG_ENV, raising=False)


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

    def clients(self, config: Config) -> Aws:
        """The tool's clients, counting every call they make by operation name."""
        aws = make_clients(config)
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


# --- the fault proxy -----------------------------------------------------------------------------

# Actions as the X-Amz-Target header names them (ECS, EMR and Application Auto Scaling all speak
# the AWS JSON protocol). A fault's `action` is one of these, a service prefix, or "" for all.
ECS = "AmazonEC2ContainerServiceV20141113."
EMR = "ElasticMapReduce."
AAS = "AnyScaleFrontendService."
LIST_CLUSTERS = EMR + "ListClusters"
DESCRIBE_SERVICES = ECS + "DescribeServices"
UPDATE_SERVICE = ECS + "UpdateService"
TAG_RESOURCE = ECS + "TagResource"
UNTAG_RESOURCE = ECS + "UntagResource"

# kind -> (HTTP status, AWS error code, message) of the error answer the proxy makes up.
ERROR_ANSWERS = {
    "throttle": (400, "ThrottlingException", "Rate exceeded"),
    "5xx": (503, "ServiceUnavailableException", "Service is unavailable, try again later"),
    "denied": (
        400,
        "AccessDeniedException",
        "User: arn:aws:iam::123456789012:user/pauser is not authorized to perform this action",
    ),
}
FAULT_KINDS = (*ERROR_ANSWERS, "drop", "hang")


@dataclass
class Fault:
    action: str  # a full X-Amz-Target, a service prefix such as ECS, or "" for every call
    kinds: tuple[str, ...]  # one is picked per call by the proxy's seeded RNG
    times: int | None  # the next N matching calls; None: every one
    probability: float  # share of matching calls that fail, drawn from the seeded RNG
    after: bool  # pass the call on to moto, then fail the answer: a write lost on its way back


class FaultProxy:
    """An HTTP proxy on 127.0.0.1 between the tool (AWS_ENDPOINT_URL=proxy.url) and moto server.

    It counts calls by action, keeps every request body, and fails the calls that match a
    fault: throttling, 5xx, access denied (AWS-style JSON error answers), a dropped connection,
    or a hang (no answer until the client gives up; released when the proxy stops).
    """

    def __init__(self, upstream: str, seed: int = 0, hang_seconds: float = 60):
        target = urlsplit(upstream)
        assert target.hostname == "127.0.0.1", "the proxy only talks to loopback"
        self.upstream = (target.hostname, target.port)
        self.rng = random.Random(seed)
        self.hang_seconds = hang_seconds
        self.faults: list[Fault] = []
        self.calls: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()  # fault kind -> times made
        self.requests: list[tuple[str, bytes]] = []
        self.errors: list[str] = []  # the proxy's own failures; a test expects none
        self.answered: Counter[str] = Counter()  # calls done with: answered, failed or dropped
        self._done = threading.Condition()
        self._lock = threading.Lock()
        self._released = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _ProxyHandler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.server.proxy = self
        self.server.handle_error = self._handle_error
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def fail(self, action, kinds, *, times=None, probability=1.0, after=False) -> None:
        """Fail calls to `action` with one of `kinds`: always, the next `times`, or a share."""
        kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
        assert kinds and set(kinds) <= set(FAULT_KINDS), kinds
        self.faults.append(Fault(action, kinds, times, probability, after))

    def heal(self) -> None:
        with self._lock:
            self.faults.clear()

    def forget(self) -> None:
        """Start counting afresh."""
        with self._lock:
            self.calls.clear()
            self.injected.clear()
            self.requests.clear()

    def wait_answered(self, action: str, count: int, timeout: float = 30) -> bool:
        """Wait until `count` calls to `action` have been answered (or failed)."""
        with self._done:
            return self._done.wait_for(lambda: self.answered[action] >= count, timeout)

    def count(self, action: str) -> int:
        return sum(n for name, n in self.calls.items() if name.startswith(action))

    def bodies(self, action: str) -> list[dict]:
        with self._lock:
            return [json.loads(body) for name, body in self.requests if name == action]

    def stop(self) -> None:
        self._released.set()
        self.server.shutdown()
        self.server.server_close()

    def _handle_error(self, request, address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # not a client gone away (killed)
            self.errors.append(traceback.format_exc())

    def _pick(self, action: str, body: bytes) -> tuple[Fault | None, str | None]:
        with self._lock:
            self.calls[action] += 1
            self.requests.append((action, body))
            for fault in self.faults:
                if not action.startswith(fault.action) or fault.times == 0:
                    continue
                if fault.probability < 1 and self.rng.random() >= fault.probability:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                kind = self.rng.choice(fault.kinds)
                self.injected[kind] += 1
                return fault, kind
        return None, None

    def _forward(self, method, path, headers, body):
        conn = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.getheaders(), resp.read()
        finally:
            conn.close()


HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects

    def do_POST(self):
        proxy: FaultProxy = self.server.proxy
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        action = self.headers.get("X-Amz-Target") or f"{self.command} {self.path}"
        try:
            self._serve(proxy, action, body)
        finally:
            with proxy._done:
                proxy.answered[action] += 1
                proxy._done.notify_all()

    def _serve(self, proxy: FaultProxy, action: str, body: bytes) -> None:
        fault, kind = proxy._pick(action, body)
        answer = None
        if fault is None or fault.after:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            answer = proxy._forward(self.command, self.path, headers, body)
        if fault is None:
            self._answer(*answer)
        elif kind in ERROR_ANSWERS:
            status, code, message = ERROR_ANSWERS[kind]
            data = json.dumps({"__type": code, "message": message}).encode()
            self._answer(status, [("Content-Type", "application/x-amz-json-1.1")], data)
        else:
            if kind == "hang":
                proxy._released.wait(proxy.hang_seconds)
            self.close_connection = True  # no answer at all: the client sees the line drop

    do_GET = do_PUT = do_DELETE = do_POST

    def _answer(self, status, headers, data):
        self.send_response(status)
        for k, v in headers:
            if k.lower() not in HOP_BY_HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def fault_proxy(moto_server):
    """A fault proxy in front of a fresh moto server, its RNG seeded with 0 (reseed at will)."""
    proxy = FaultProxy(moto_server.url)
    yield proxy
    proxy.stop()
    assert proxy.errors == [], "the fault proxy itself failed"


def tool_env(env) -> dict[str, str]:
    """The whole environment of a tool run: only the given variables, as under cron."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "AWS_CONFIG_FILE": "/nonexistent/aws-config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
        "AWS_EC2_METADATA_DISABLED": "true",
        **FAKE_CREDENTIALS,
        **env,
    }


TOOL = [sys.executable, str(ROOT / "reconcile.py")]


def run_tool(args, env, timeout=60) -> subprocess.CompletedProcess:
    """Run reconcile.py as cron would: a fresh process with only the given environment."""
    return subprocess.run(
        [*TOOL, *args], env=tool_env(env), capture_output=True, text=True, timeout=timeout
    )
