"""Where the log lines go and how they look: text on stderr for the command (journald stamps
each line itself), one JSON object a line on stdout for Lambda."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, TextIO

log = logging.getLogger("autoscaler-pauser")


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, message, and "stuck" on the stuck-pause alarm."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname,
            "message": record.getMessage(),
        }
        if getattr(record, "stuck", False):
            line["stuck"] = True
        return json.dumps(line, ensure_ascii=False)


def text_lines(environ: Mapping[str, str]) -> logging.Formatter:
    """`time LEVEL message`; without the time under journald, which stamps each line itself."""
    stamp = "" if "JOURNAL_STREAM" in environ else "%(asctime)s "
    return logging.Formatter(stamp + "%(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S%z")


def setup_logging(debug: bool, formatter: logging.Formatter, stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if debug else logging.INFO)
    log.propagate = False
