"""dashboards/grafana.json, the hosts' dashboard: every PromQL expression in it names only
metrics the code writes to the Prometheus textfile (metrics.py), and it shows what the docs say
it shows: paused targets and tables over time, the age of the last run, the run time, failures
and pending targets."""

from __future__ import annotations

import json
import re

from autoscaler_pauser.metrics import METRICS
from tests.support.tool import ROOT

DASHBOARD = json.loads((ROOT / "dashboards" / "grafana.json").read_text())
EXPORTED = {f"autoscaler_pauser_{name}" for name, _ in METRICS}
# PromQL's words that are not metric names: its aggregations, and its keywords.
AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values"}
AGGREGATIONS |= {"bottomk", "topk", "quantile", "limitk", "limit_ratio"}
KEYWORDS = AGGREGATIONS | {"bool", "and", "or", "unless", "offset"}
GROUPING = r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"


def expressions() -> list[str]:
    """Every PromQL expression of the dashboard: its panels' queries and its variables'."""
    found = [t["expr"] for panel in DASHBOARD["panels"] for t in panel.get("targets", [])]
    for variable in DASHBOARD["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            found.append(query["query"])
    return found


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads: its words, less label matchers, strings, ranges,
    functions (a word before a parenthesis), keywords and numbers."""
    text = re.sub(r"\{[^}]*\}|\"[^\"]*\"|\[[^\]]*\]", " ", expr)
    text = re.sub(GROUPING, " ", text)
    text = re.sub(r"\blabel_values\(([^,)]*),[^)]*\)", r"\1", text)  # Grafana's, with a label
    words = re.findall(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*(\(?)", text)
    return {word for word, call in words if not call and word not in KEYWORDS}


def test_every_expression_names_only_metrics_the_code_writes():
    assert expressions(), "the dashboard has queries"
    for expr in expressions():
        names = metric_names(expr)
        assert names, f"{expr!r} names no metric"
        assert names <= EXPORTED, f"{expr!r} names {sorted(names - EXPORTED)}: not in metrics.py"


def test_the_name_reader_sees_a_metric_that_is_not_written():
    assert metric_names('time() - autoscaler_pauser_nothing{instance=~"$instance"}') == {
        "autoscaler_pauser_nothing"
    }
    assert metric_names("sum by (instance) (rate(x_total[5m]))") == {"x_total"}


def test_the_dashboard_shows_what_on_call_looks_for():
    shown = {name for expr in expressions() for name in metric_names(expr)}
    for name in ("paused_targets", "paused_tables", "last_run_timestamp_seconds"):
        assert f"autoscaler_pauser_{name}" in shown, name
    for name in ("run_duration_seconds", "last_run_success", "targets_pending"):
        assert f"autoscaler_pauser_{name}" in shown, name
    ages = [e for e in expressions() if "time() - autoscaler_pauser_last_run_timestamp" in e]
    assert ages, "the age of the last run"


def test_each_panel_queries_the_chosen_prometheus_and_says_what_it_shows():
    for panel in DASHBOARD["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["title"] and len(panel["description"]) > 20, panel["title"]
        assert all('instance=~"$instance"' in t["expr"] for t in panel["targets"]), panel["title"]
    ids = [panel["id"] for panel in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids))
