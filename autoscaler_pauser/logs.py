"""Where the log lines go and how they look: text on stderr for the command (journald stamps
each line itself), one JSON object a line on stdout for Lambda, where each run also logs its
metrics (METRICS_LOG: a line that carries them in CloudWatch's Embedded Metric Format)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, TextIO

log = logging.getLogger("autoscaler-pauser")
# The run's metrics, one line a run: logged where setup_logging is asked for them (Lambda).
METRICS_LOG = logging.getLogger("autoscaler-pauser.metrics")
METRICS_LOG.setLevel(logging.WARNING)  # until setup_logging asks for them
METRICS_LOG.propagate = False


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, message, "stuck" on the stuck-pause alarm, and a
    line's own fields (`fields`: the metrics' line)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname,
            "message": record.getMessage(),
        }
        if getattr(record, "stuck", False):
            line["stuck"] = True
        line.update(getattr(record, "fields", {}))
        return json.dumps(line, ensure_ascii=False)


def text_lines(environ: Mapping[str, str]) -> logging.Formatter:
    """`time LEVEL message`; without the time under journald, which stamps each line itself."""
    stamp = "" if "JOURNAL_STREAM" in environ else "%(asctime)s "
    return logging.Formatter(stamp + "%(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S%z")


def setup_logging(
    debug: bool,
    formatter: logging.Formatter,
    stream: TextIO | None = None,
    metrics: bool = False,
) -> None:
    """The lines at INFO (DEBUG with `debug`) to `stream`; with `metrics`, a line a run with its
    metrics too."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if debug else logging.INFO)
    log.propagate = False
    METRICS_LOG.handlers[:] = [handler] if metrics else []
    METRICS_LOG.setLevel(logging.INFO if metrics else logging.WARNING)
    METRICS_LOG.propagate = False
