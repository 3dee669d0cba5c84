"""The Grafana dashboard under deploy/ only queries metrics curator exports, with labels they carry."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from curator.observability import metrics

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "curator-dashboard.json"
PROMQL_WORDS = {"sum", "by", "rate", "increase", "topk", "histogram_quantile", "le"}


def _exported() -> dict[str, set[str]]:
    """Metric sample names this process exports (incl. _bucket/_sum/_count), with their label names."""
    names: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        kind_suffixes = {
            "counter": ["_total"],
            "histogram": ["_bucket", "_sum", "_count"],
        }.get(family.type, [""])
        for suffix in kind_suffixes:
            names.setdefault(family.name + suffix, set())
        for s in family.samples:
            names.setdefault(s.name, set()).update(s.labels)
    return names


def test_every_panel_queries_an_exported_metric() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exported = _exported()
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 10
    used = {m for e in exprs for m in re.findall(r"\b(curator_[a-z_]+|process_[a-z_]+)\b", e)}
    assert used, exprs
    missing = sorted(m for m in used if m not in exported)
    assert not missing, f"the dashboard queries metrics curator does not export: {missing}"
    declared = {
        "curator_decisions_total": {"collection", "verdict", "generator"},
        "curator_decision_reasons_total": {"collection", "reason", "check", "verdict"},
        "curator_reviews_total": {"collection", "action"},
    }
    for expr in exprs:
        for metric, labels in declared.items():
            for selector in re.findall(rf"{metric}\{{([^}}]*)\}}", expr):
                used_labels = set(re.findall(r"(\w+)\s*=~?", selector))
                assert used_labels <= labels, (metric, used_labels)
            for grouping in re.findall(r"by \(([^)]*)\)", expr):
                if metric in expr:
                    assert {g.strip() for g in grouping.split(",")} - {"le"} <= labels | {"method", "code"}
