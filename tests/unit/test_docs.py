"""The docs against the code: the files `make docs` makes from the key table, the lists in docs/
that the code defines, and the links between the pages. (The steady run's calls are measured in
tests/integration/test_steady_run.py; the IAM table in tests/deploy/test_iam.py.)"""

from __future__ import annotations

import dataclasses
import itertools
import re
import shlex

import pytest

from autoscaler_pauser import Exit, docs
from autoscaler_pauser.keys import Key, Kind
from autoscaler_pauser.metrics import METRICS
from autoscaler_pauser.model import (
    Ended,
    Hold,
    Named,
    Pause,
    PauseRecord,
    RunRecord,
    Schedule,
    State,
)
from autoscaler_pauser.record_format import pause_to_json
from autoscaler_pauser.state_file import state_to_json
from tests.support.contract import emr_tag_violations
from tests.support.docs import DOCS, pages, quoted, steady_calls, table
from tests.support.tool import ROOT
from tests.unit.scene import KEY


@pytest.mark.parametrize("name", docs.DERIVED)
def test_each_file_made_from_the_key_table_is_as_make_docs_writes_it(name):
    text = (ROOT / name).read_text()
    assert docs.DERIVED[name](text) == text, f"{name} differs from the key table: run make docs"


def test_a_new_key_reaches_every_file_made_from_the_key_table(monkeypatch):
    monkeypatch.setattr(docs, "KEYS", (*docs.KEYS, Key("new_knob", Kind.INT, 3, "a knob")))
    for name, make in docs.DERIVED.items():
        assert "new_knob" in make((ROOT / name).read_text()), name


def test_a_file_without_its_markers_is_refused_not_appended_to():
    with pytest.raises(ValueError, match="no markers"):
        docs.with_block("# a hand-written file\n", "keys", "x: 1\n")


def test_the_metrics_listed_are_those_a_run_writes_in_its_order():
    listed = [name for row in table("operations.md", "metrics") for name in quoted(row[0])]
    assert listed == [f"autoscaler_pauser_{name}" for name, _ in METRICS]


def listed(marker: str) -> list[str]:
    return [name for row in table("pause-record.md", marker) for name in quoted(row[0])]


def test_the_state_file_fields_listed_are_those_it_holds():
    assert sorted(listed("state-fields")) == sorted(state_to_json(State()))
    assert sorted(listed("run-fields")) == sorted(f.name for f in dataclasses.fields(RunRecord))


def test_the_pause_record_fields_listed_are_those_it_can_hold():
    record = PauseRecord(
        pauser="p",
        holds={
            "orders": Hold("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", ("j-1",), ("j-0",), "!")
        },
        saved={KEY: 3},
        schedules={
            KEY: Schedule(
                "2026-01-01T00:30:00Z",
                "g",
                "us-east-1",
                "n",
                unset=True,
                replaces=(Schedule("2026-01-01T00:20:00Z", "old", "us-east-1", "m"),),
            )
        },
        clusters={"j-1": ("orders",)},
        clusters_tag="backup-tables",
        history=(
            Pause(
                "orders", "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z", {"j-1": "n"}, Ended.CONFIG
            ),
        ),
        sweep=True,
        named=Named(frozenset({"0123456789"}), (KEY,)),
        created={KEY: 1764118800.0},
    )
    data = pause_to_json(record)
    fields = set(data) | {f for scope in data["scopes"].values() for f in scope}
    targets = [t for scope in data["scopes"].values() for t in scope.get("targets", {}).values()]
    fields |= {f for target in targets for f in target}
    schedule = {f for target in targets for f in target.get("schedule", {})}
    assert set(listed("pause-fields")) == fields
    [row] = [row for row in table("pause-record.md", "pause-fields") if "`schedule`" in row[0]]
    assert set(quoted(row[1])) == schedule, "the schedule's row names each of its fields"
    pauses = {f for scope in data["scopes"].values() for p in scope.get("pauses", []) for f in p}
    [row] = [row for row in table("pause-record.md", "pause-fields") if "`pauses`" in row[0]]
    assert set(quoted(row[1])) >= pauses, "the history's row names each of a pause's fields"


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
    assert dest.exists(), f"{page} links {target}: no such file"
    if anchor:
        assert anchor in anchors(dest), f"{page} links {target}: no such heading"


def test_the_development_page_names_every_module_and_each_layer_of_the_contract():
    text = (DOCS / "development.md").read_text()
    package = ROOT / "autoscaler_pauser"
    modules = [p for p in package.rglob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    unnamed = [str(p.relative_to(package)) for p in modules if f"{p.stem}" not in text]
    assert unnamed == [], f"docs/development.md does not name {unnamed}"
    pyproject = (ROOT / "pyproject.toml").read_text()  # tomllib is 3.11's; this runs on 3.10
    listed = pyproject.split("\nlayers = [", 1)[1].split("\n]", 1)[0]
    layers = re.findall(r'"([^"]+)"', listed)
    block = text.split("## The layers", 1)[1].split("```", 2)[1]
    drawn = [line.strip() for line in block.strip().splitlines()]
    written = [
        " | ".join(m.removeprefix("autoscaler_pauser.") for m in layer.split(" | "))
        for layer in layers
        if layer != "autoscaler_pauser.__main__"
    ]
    assert [d.split(" (")[0] for d in drawn] == written, "the layers as pyproject.toml has them"


def tag_examples() -> list[tuple[str, str, str]]:
    """Every cluster tag the pages show, as (page, key, value): the `--tags` arguments of their
    `aws emr` commands, and a tag written `backup-tables=…` in backticks."""
    found = []
    for page in pages():
        text, name = page.read_text(), str(page.relative_to(ROOT))
        blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
        for line in "\n".join(blocks).replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words[:2] == ["aws", "emr"] and "--tags" in words:
                words = words[words.index("--tags") + 1 :]
                for word in itertools.takewhile(lambda w: not w.startswith("--"), words):
                    key, _, value = word.partition("=")
                    found.append((name, key, value))
        for key, value in re.findall(r"`(backup-tables[^`=\s]*)=([^`]*)`", text):
            found.append((name, key, value))
    return found


def test_every_cluster_tag_the_docs_show_is_one_emr_takes():
    examples = tag_examples()
    assert len(examples) >= 3 and {key for _, key, _ in examples} >= {"backup-tables"}
    refused = [(e, why) for e in examples for why in emr_tag_violations(*e[1:])]
    assert refused == []
