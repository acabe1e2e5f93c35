"""A fault-injecting HTTP proxy between the tool and moto server, on loopback only."""

from __future__ import annotations

import http.client
import json
import random
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

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
# kind -> (HTTP status, content type, body) of an answer that is no AWS error at all: a proxy's
# HTML error page, and the XML page moto server answers a call IAM does not allow with.
PAGE_ANSWERS = {
    "html502": (
        502,
        "text/html",
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 "
        "Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
    ),
    "iam403": (
        403,
        "text/html; charset=utf-8",
        '<?xml version="1.0" encoding="utf-8"?>\n<ErrorResponse><Errors><Error><Code>AccessDenied'
        "</Code><Message>User: arn:aws:iam::123456789012:user/pauser is not authorized to "
        "perform: ecs:DescribeServices</Message><Type>Sender</Type></Error></Errors>"
        "</ErrorResponse>",
    ),
}
FAULT_KINDS = (*ERROR_ANSWERS, *PAGE_ANSWERS, "drop", "hang", "rewrite")


@dataclass
class Fault:
    action: str  # a full X-Amz-Target, a service prefix such as ECS, or "" for every call
    kinds: tuple[str, ...]  # one is picked per call by the proxy's seeded RNG
    times: int | None  # the next N matching calls; None: every one
    probability: float  # share of matching calls that fail, drawn from the seeded RNG
    after: bool  # pass the call on to moto, then fail the answer: a write lost on its way back
    rewrite: Callable[[dict], dict] | None = None  # kind "rewrite": what moto answered, changed


class FaultProxy:
    """An HTTP proxy on 127.0.0.1 between the tool (AWS_ENDPOINT_URL=proxy.url) and moto server.

    It counts calls by action, keeps every request body, and fails the calls that match a
    fault: throttling, 5xx, access denied (AWS-style JSON error answers), a dropped connection,
    or a hang (no answer until the client gives up; released when the proxy stops).
    """

    def __init__(self, upstream: str, seed: int = 0, hang_seconds: float = 60, delay: float = 0.0):
        target = urlsplit(upstream)
        assert target.hostname == "127.0.0.1", "the proxy only talks to loopback"
        self.upstream = (target.hostname, target.port)
        self.rng = random.Random(seed)
        self.hang_seconds = hang_seconds
        self.delay = delay  # seconds added to every call, as a far endpoint would
        self.faults: list[Fault] = []
        self.calls: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()  # fault kind -> times made
        self.requests: list[tuple[str, bytes]] = []
        self.arrived: list[tuple[str, datetime, bytes]] = []  # each request, when it came
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
        assert kinds and set(kinds) <= set(FAULT_KINDS) - {"rewrite"}, kinds
        self.faults.append(Fault(action, kinds, times, probability, after))

    def rewrite(self, action, change: Callable[[dict], dict], *, times=None) -> None:
        """Answer calls to `action` with what moto answered, as `change` makes it."""
        self.faults.append(Fault(action, ("rewrite",), times, 1.0, True, change))

    def heal(self) -> None:
        with self._lock:
            self.faults.clear()

    def forget(self) -> None:
        """Start counting afresh."""
        with self._lock:
            self.calls.clear()
            self.injected.clear()
            self.requests.clear()
            self.arrived.clear()

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

    def _pick(self, action: str, body: bytes, arrived: datetime) -> tuple[Fault | None, str | None]:
        with self._lock:
            self.calls[action] += 1
            self.requests.append((action, body))
            self.arrived.append((action, arrived, body))
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
    # The headers and the body of an answer go out in two writes: without TCP_NODELAY the body
    # waits for the client's delayed ACK of the headers, about 40 ms a call.
    disable_nagle_algorithm = True

    def do_POST(self):
        proxy: FaultProxy = self.server.proxy
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if len(body) < length:
            # The client went away (killed) between the headers and the end of the body: as an
            # AWS endpoint would, act on no part of the call, and keep no record of it.
            self.close_connection = True
            return
        action = self.headers.get("X-Amz-Target") or f"{self.command} {self.path}"
        arrived = datetime.now(timezone.utc)
        try:
            self._serve(proxy, action, body, arrived)
        finally:
            with proxy._done:
                proxy.answered[action] += 1
                proxy._done.notify_all()

    def _serve(self, proxy: FaultProxy, action: str, body: bytes, arrived: datetime) -> None:
        if proxy.delay:
            time.sleep(proxy.delay)
        fault, kind = proxy._pick(action, body, arrived)
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
        elif kind in PAGE_ANSWERS:
            status, content_type, page = PAGE_ANSWERS[kind]
            self._answer(status, [("Content-Type", content_type)], page.encode())
        elif kind == "rewrite":
            status, headers, data = answer
            self._answer(status, headers, json.dumps(fault.rewrite(json.loads(data))).encode())
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
