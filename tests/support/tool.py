"""Running the tool as cron runs it: a fresh process with only the given environment."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from .world import REGION

ROOT = Path(__file__).resolve().parent.parent.parent
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKE0001",
    "AWS_SECRET_ACCESS_KEY": "fakeSecretKeyThatMustNeverBeLogged/0001",
}


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


def wait_for(predicate, timeout: float = 30) -> bool:
    """Whether `predicate()` came true within `timeout` seconds, asking five times a second."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


# Debian's libfaketime (package faketime), which `make test` installs: a process whose clock is
# off, as a host's is when its time service is broken.
FAKETIME_LIB = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")


def skewed(env: dict[str, str], seconds: int) -> dict[str, str]:
    """The environment of a run on a host whose clock is `seconds` ahead (behind, if negative)
    of the true time, which moto server's answers carry. Where libfaketime is missing the test
    is skipped, or fails where the tools were promised (REQUIRE_DEPLOY_TOOLS=1, as .ci/run sets
    it)."""
    import pytest

    if not FAKETIME_LIB.exists():
        message = f"{FAKETIME_LIB} is not installed here (Debian's faketime)"
        if os.environ.get("REQUIRE_DEPLOY_TOOLS"):
            pytest.fail(f"{message}, and REQUIRE_DEPLOY_TOOLS is set")
        pytest.skip(message)
    return {
        **env,
        "LD_PRELOAD": str(FAKETIME_LIB),
        "FAKETIME": f"{seconds:+d}s",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }


class LambdaContext:
    """What Lambda hands a handler, as far as it uses it: the request's id and the time left."""

    def __init__(self, request: str, seconds: float = 50):
        self.aws_request_id, self.seconds = request, seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds * 1000)


class Lines:
    """A running process's output, read line by line as it comes by a thread of its own, so that
    a test can wait for a line instead of for a time."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line)

    def count(self, text: str) -> int:
        return sum(text in line for line in list(self.lines))

    def text(self, timeout: float = 30) -> str:
        """All of it, once the process has closed its output (or `timeout` has passed)."""
        self._thread.join(timeout)
        return "".join(self.lines)
