"""The serverless path: one reconcile per invocation of an AWS Lambda function, run every minute
by an EventBridge Scheduler schedule and at once by EMR's cluster state changes. The config comes
from the environment, as for the command; the pause record lives in state_table (required here:
an invocation keeps nothing), and the log lines are JSON objects for CloudWatch, with a line a
run that carries its metrics (metrics.py).

An invocation that fails raises, so that Lambda's Errors metric counts it; the stuck-pause alarm
is a log line with "stuck": true.
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from . import Exit
from .aws import Aws, make_clients, new_session, regions_of
from .config import CONFIG_ENV, KEYS, Config, ConfigError, load_config
from .logs import JsonLines, setup_logging
from .run import run_once
from .state_file import check_files
from .timing import LAMBDA_RESERVE_SECONDS, WRITE_BUDGET_SECONDS

log = logging.getLogger("autoscaler-pauser")

# A function keeps nothing between invocations but /tmp: the run record goes there.
STATE_FILE = "/tmp/autoscaler-pauser/state.json"

_warm: dict[str, Any] = {}  # what a warm function reuses: the config and the clients


class RunFailed(Exception):
    """The run failed: its log lines and the state table say why."""


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    config, aws = _config_and_clients(os.environ)
    check_files(config)
    code = run_once(
        config, aws, _now, dry_run=False, holder=_holder(context), budget=_budget(context)
    )
    if code == Exit.FAILURE:
        raise RunFailed("the run failed: see its ERROR lines")
    return {"exit": int(code), "stuck": code == Exit.STUCK}


def _holder(context: Any) -> str:
    """Who holds the lease: the invocation's request id, else one of its own."""
    return f"lambda:{getattr(context, 'aws_request_id', None) or uuid.uuid4()}"


def _budget(context: Any) -> float:
    """The time for writes: what the invocation has left, less what its last write may take and
    the records; a context that does not say, a run's write budget."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return WRITE_BUDGET_SECONDS
    return max(0.0, remaining() / 1000 - LAMBDA_RESERVE_SECONDS)


def _now() -> datetime:
    return datetime.now(timezone.utc)


# What the config and the clients are made from, besides the config file: the keys' variables
# and the file's, and every AWS_* variable, since botocore makes a session's credentials
# (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE,
# AWS_CONTAINER_CREDENTIALS_*), region (AWS_REGION, AWS_DEFAULT_REGION), endpoints
# (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>, AWS_USE_FIPS_ENDPOINT, AWS_CA_BUNDLE) and retries
# from them. Within one execution environment none of them changes between invocations: the
# runtime rewrites only _X_AMZN_TRACE_ID, which botocore reads at each request, not once.
MADE_FROM = frozenset({k.env for k in KEYS} | {CONFIG_ENV})


def _made_from(environ: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(
        sorted((k, v) for k, v in environ.items() if k in MADE_FROM or k.startswith("AWS_"))
    )


def _config_and_clients(environ: Mapping[str, str]) -> tuple[Config, Aws]:
    """The config and the clients, made again only when what they are made from changed."""
    key = _made_from(environ)
    if _warm.get("key") != key:
        setup_logging("DEBUG_OUTPUT" in environ, JsonLines(), sys.stdout, metrics=True)
        session = new_session()
        env = {"STATE_FILE": STATE_FILE, **environ}
        config = load_config(environ.get(CONFIG_ENV), env, regions=regions_of(session))
        if not config.state_table:
            raise ConfigError(["state_table: required in Lambda (set STATE_TABLE)"])
        setup_logging(config.debug_output, JsonLines(), sys.stdout, metrics=True)
        _warm.update(key=key, config=config, aws=make_clients(config, session))
    return _warm["config"], _warm["aws"]
