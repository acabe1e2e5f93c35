"""The docs against the code: the lists in docs/ that the code defines, and the links between
the pages. (The table of keys is in test_config.py; the steady run's calls are measured in
tests/integration/test_steady_run.py; the IAM table in tests/deploy/test_iam.py.)"""

from __future__ import annotations

import re

import pytest

from autoscaler_pauser import Exit
from autoscaler_pauser.metrics import METRICS
from autoscaler_pauser.model import State
from autoscaler_pauser.state_file import state_to_json
from tests.support.docs import DOCS, pages, quoted, steady_calls, table
from tests.support.tool import ROOT
from tests.unit.scene import CONFIG


def test_the_metrics_listed_are_those_a_run_writes_in_its_order():
    listed = [name for row in table("operations.md", "metrics") for name in quoted(row[0])]
    assert listed == [f"autoscaler_pauser_{name}" for name, _ in METRICS]


def test_the_state_file_fields_listed_are_those_it_holds():
    listed = [name for row in table("operations.md", "state-fields") for name in quoted(row[0])]
    assert sorted(listed) == sorted(state_to_json(State(), CONFIG))


def test_the_exit_codes_listed_are_those_the_command_returns():
    text = (DOCS / "configuration.md").read_text()
    codes = re.findall(r"^\| (\d+) \|", text.split("## Exit codes", 1)[1], re.M)
    assert [int(c) for c in codes] == [e.value for e in Exit]


def test_each_steady_run_row_adds_up_to_its_total():
    calls = steady_calls()
    for setup, _, total in table("operations.md", "steady-calls"):
        assert sum(calls[setup].values()) == int(total), setup


def test_the_readme_links_every_page_of_docs():
    readme = (ROOT / "README.md").read_text()
    unlinked = [p.name for p in DOCS.glob("*.md") if f"](docs/{p.name})" not in readme]
    assert unlinked == []


def test_the_readme_stays_a_front_door():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path) -> set[str]:
    return {
        slug(line.lstrip("#")) for line in path.read_text().splitlines() if line.startswith("#")
    }


LINK = re.compile(r"\]\(([^)\s]+)\)")


def links() -> list[tuple[str, str]]:
    """(page, target) of every link between the pages: relative, not to the web."""
    found = []
    for page in pages():
        for target in LINK.findall(page.read_text()):
            if not re.match(r"[a-z]+:", target):
                found.append((str(page.relative_to(ROOT)), target))
    return found


@pytest.mark.parametrize("page,target", links())
def test_every_link_between_the_pages_leads_somewhere(page, target):
    path, _, anchor = target.partition("#")
    dest = (ROOT / page).parent / path if path else ROOT / page
    if not dest.exists() and dest == DOCS / "development.md":
        pytest.skip("docs/development.md is not in this checkout")
    assert dest.exists(), f"{page} links {target}: no such file"
    if anchor:
        assert anchor in anchors(dest), f"{page} links {target}: no such heading"
