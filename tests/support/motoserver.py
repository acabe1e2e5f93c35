"""moto server on loopback, for tests over real HTTP.

The server runs in a process of its own, started as `python -m tests.support.motoserver`: it
applies tests/support/motopatch.py, listens on a port the kernel picks (so no other process can
take the port between choosing it and binding it) and prints that port.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


class MotoServer:
    """moto server on 127.0.0.1. `env` is added to its environment, e.g.
    INITIAL_NO_AUTH_ACTION_COUNT to enforce IAM policies after that many calls."""

    def __init__(self, env: dict[str, str] | None = None, timeout: float = 60):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.motoserver"],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = self.proc.stdout.readline()  # the port, once it listens
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError(f"moto server did not start: {line!r}")
        self.port = int(line)
        self.url = f"http://127.0.0.1:{self.port}"
        urllib.request.urlopen(self.url + "/moto-api/", timeout=timeout)

    def reset(self) -> None:
        req = urllib.request.Request(self.url + "/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=10)

    def enforce_iam_after(self, calls: int | str) -> None:
        """From `calls` more calls on, every call must be allowed by the caller's IAM policies
        ("inf": never)."""
        req = urllib.request.Request(
            self.url + "/moto-api/reset-auth",
            data=str(calls).encode(),
            headers={"Content-Type": "text/plain"},  # as a form, moto would not see the body
            method="POST",
        )
        urllib.request.urlopen(req, timeout=10)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def serve() -> None:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from tests.support import motopatch

    motopatch.apply()
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    os.environ["MOTO_PORT"] = str(server.server_port)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve()
