"""The run's metrics: a Prometheus textfile written after every run (metrics_file), and on
Lambda the run's log line, which carries them in CloudWatch's Embedded Metric Format (EMF):
CloudWatch Logs makes them metrics, with no call to CloudWatch."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from .logs import METRICS_LOG
from .model import EVERY_TABLE, State, parse_iso, paused_seconds

METRICS = (
    ("paused", "1 while the autoscaler is paused (a table, or the ECS service)"),
    ("paused_seconds", "how long the oldest pause now on has lasted"),
    ("paused_tables", "tables whose targets are paused"),
    ("paused_targets", "targets whose pre-pause setting the pause record holds"),
    ("stuck", "1 while a pause is over max_pause_minutes"),
    ("active_clusters", "active EMR clusters that match the prefixes"),
    ("last_run_success", "1 if the last run succeeded, 0 if it failed"),
    ("last_success_timestamp_seconds", "when a run last succeeded, Unix time"),
    ("last_run_timestamp_seconds", "when the last run ended, Unix time"),
    ("run_duration_seconds", "how long the last run took"),
    ("api_calls", "AWS API calls the last run made"),
    ("warnings", "warnings the last run logged: something it could not do or see"),
    ("targets_pending", "changes the last run left for the next: its time for writes was spent"),
)


# The metrics of a Lambda run's log line, in NAMESPACE, by the pauser's name (DIMENSION): the
# name, its unit and what it counts. The stack's dashboard shows them.
NAMESPACE = "AutoscalerPauser"
DIMENSION = "Pauser"
EMF_METRICS = (
    ("PausedTargets", "Count", "targets whose pre-pause setting the pause record holds"),
    ("PausedTables", "Count", "tables whose targets are paused"),
    ("Changes", "Count", "targets whose setting the run changed"),
    ("Failures", "Count", "1 when the run failed, else 0: their sum is the failed runs"),
    ("RunSeconds", "Seconds", "how long the run took"),
    ("PendingTargets", "Count", "changes the run left for the next: its time for writes was spent"),
)
# CloudWatch takes a dimension's value of 1,024 characters at most.
DIMENSION_MOST = 1024


def emf_fields(
    state: State, seconds: float, changes: int, now: datetime, pauser: str
) -> dict[str, Any]:
    """The fields that make a JSON log line an EMF one: the `_aws` block naming the metrics,
    the dimension's value and each metric's value."""
    pause, run = state.pause, state.run
    values = {
        "PausedTargets": len(pause.saved),
        "PausedTables": paused_tables(state),
        "Changes": changes,
        "Failures": int(run.last_result != "ok"),
        "RunSeconds": round(seconds, 3),
        "PendingTargets": run.pending,
    }
    block = {
        "Timestamp": int(now.timestamp() * 1000),
        "CloudWatchMetrics": [
            {
                "Namespace": NAMESPACE,
                "Dimensions": [[DIMENSION]],
                "Metrics": [{"Name": name, "Unit": unit} for name, unit, _ in EMF_METRICS],
            }
        ],
    }
    return {"_aws": block, DIMENSION: dimension_value(pauser), **values}


def dimension_value(name: str) -> str:
    """The pauser's name as a dimension's value: whole, or fitted with a digest of the whole."""
    if len(name) <= DIMENSION_MOST:
        return name
    return name[: DIMENSION_MOST - 17] + "#" + hashlib.sha256(name.encode()).hexdigest()[:16]


def log_metrics(state: State, seconds: float, changes: int, now: datetime, pauser: str) -> None:
    """The run's line with its metrics (where setup_logging asked for it: Lambda)."""
    fields = emf_fields(state, seconds, changes, now, pauser)
    METRICS_LOG.info(
        "run: %s, %d changes, %d paused targets, %d pending, %.3f s",
        state.run.last_result or "error",
        changes,
        fields["PausedTargets"],
        fields["PendingTargets"],
        seconds,
        extra={"fields": fields},
    )


def paused_tables(state: State) -> int:
    return len([s for s in state.pause.paused_scopes() if s != EVERY_TABLE])


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def metrics_text(state: State, seconds: float, calls: int, now: datetime) -> str:
    """Prometheus text exposition format, for node_exporter's textfile collector."""
    pause, run = state.pause, state.run
    success = parse_iso(run.last_success_at)
    values = {
        "paused": int(pause.paused),
        "paused_seconds": paused_seconds(pause, now) or 0,
        "paused_tables": paused_tables(state),
        "paused_targets": len(pause.saved),
        "stuck": int(any(h.alarm and h.paused_at for h in pause.holds.values())),
        "active_clusters": len(run.active_clusters),
        "last_run_success": int(run.last_result == "ok"),
        "last_success_timestamp_seconds": success.timestamp() if success else 0,
        "last_run_timestamp_seconds": now.timestamp(),
        "run_duration_seconds": round(seconds, 3),
        "api_calls": calls,
        "warnings": len(run.warnings),
        "targets_pending": run.pending,
    }
    lines = []
    for name, help_text in METRICS:
        lines += [
            f"# HELP autoscaler_pauser_{name} {help_text}.",
            f"# TYPE autoscaler_pauser_{name} gauge",
            f"autoscaler_pauser_{name} {number(values[name])}",
        ]
    return "\n".join(lines) + "\n"
