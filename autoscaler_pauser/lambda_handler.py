"""The serverless path: one reconcile per invocation of an AWS Lambda function, run every minute
by an EventBridge Scheduler schedule and at once by EMR's cluster state changes. The config comes
from the environment, as for the command; the pause record lives in state_table (required here:
an invocation keeps nothing), and the log lines are JSON objects for CloudWatch.

An invocation that fails raises, so that Lambda's Errors metric counts it; the stuck-pause alarm
is a log line with "stuck": true.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from . import Exit
from .aws import Aws, make_clients, new_session, regions_of
from .config import CONFIG_ENV, Config, ConfigError, load_config
from .logs import JsonLines, setup_logging
from .run import run_once
from .state_file import check_files
from .timing import LAMBDA_RESERVE_SECONDS

log = logging.getLogger("autoscaler-pauser")

# A function keeps nothing between invocations but /tmp: the run record goes there.
STATE_FILE = "/tmp/autoscaler-pauser/state.json"

_warm: dict[str, Any] = {}  # what a warm function reuses: the config and the clients


class RunFailed(Exception):
    """The run failed: its log lines and the state table say why."""


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    config, aws = _config_and_clients(os.environ)
    remaining = context.get_remaining_time_in_millis() / 1000
    budget = max(0.0, remaining - LAMBDA_RESERVE_SECONDS)
    holder = f"lambda:{context.aws_request_id}"
    check_files(config)
    code = run_once(config, aws, _now, dry_run=False, holder=holder, budget=budget)
    if code == Exit.FAILURE:
        raise RunFailed("the run failed: see its ERROR lines")
    return {"exit": int(code), "stuck": code == Exit.STUCK}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _config_and_clients(environ: Mapping[str, str]) -> tuple[Config, Aws]:
    key = json.dumps(sorted(environ.items()))
    if _warm.get("key") != key:
        setup_logging("DEBUG_OUTPUT" in environ, JsonLines(), sys.stdout)
        session = new_session()
        env = {"STATE_FILE": STATE_FILE, **environ}
        config = load_config(environ.get(CONFIG_ENV), env, regions=regions_of(session))
        if not config.state_table:
            raise ConfigError(["state_table: required in Lambda (set STATE_TABLE)"])
        setup_logging(config.debug_output, JsonLines(), sys.stdout)
        _warm.update(key=key, config=config, aws=make_clients(config, session))
    return _warm["config"], _warm["aws"]
