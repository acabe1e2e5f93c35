"""Prometheus textfile metrics, written after every run."""

from __future__ import annotations

from datetime import datetime

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


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def metrics_text(state: State, seconds: float, calls: int, now: datetime) -> str:
    """Prometheus text exposition format, for node_exporter's textfile collector."""
    pause, run = state.pause, state.run
    success = parse_iso(run.last_success_at)
    values = {
        "paused": int(pause.paused),
        "paused_seconds": paused_seconds(pause, now) or 0,
        "paused_tables": len([s for s in pause.paused_scopes() if s != EVERY_TABLE]),
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
