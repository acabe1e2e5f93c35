"""The tables of docs/ that the tests hold to the code: each between `<!-- name… -->` and
`<!-- /name -->`, read as rows of cells."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from .tool import ROOT

DOCS = ROOT / "docs"


def table(page: str, name: str) -> list[list[str]]:
    """The rows of the table marked `name` in docs/<page>, header left out, cells stripped."""
    text = (DOCS / page).read_text()
    assert f"<!-- {name}" in text, f"docs/{page} has no table marked {name}"
    inside = text.split(f"<!-- {name}", 1)[1].split(f"<!-- /{name} -->", 1)[0]
    lines = [line for line in inside.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


def quoted(cell: str) -> list[str]:
    """The names a cell gives in backticks."""
    return re.findall(r"`([^`]+)`", cell)


def steady_calls() -> dict[str, Counter[str]]:
    """docs/operations.md's calls of a steady run: setup -> operation -> how many times (a
    call written "2 × `UpdateItem`" counts twice)."""
    out = {}
    for setup, calls, _total in table("operations.md", "steady-calls"):
        counted: Counter[str] = Counter()
        for part in calls.split(","):
            times, _, name = part.strip().rpartition(" × ")
            counted[name.strip("`")] += int(times or 1)
        out[setup] = counted
    return out


def pages() -> list[Path]:
    """README.md and every page of docs/."""
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
