"""``/metrics`` is accepted by Prometheus's own tools: its text parser, naming rules, promtool."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.processes import ROOT
from wagehood.service import monitoring, stats
from wagehood.storage.redis_store import RedisStore

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
NOT_BASE_UNITS = ("milliseconds", "_ms", "minutes", "hours", "_percent", "kilobytes", "megabytes")


@pytest.fixture
def metrics_text(store: RedisStore, seeded: str, live_server: str) -> str:
    """A live ``/metrics`` after real ticks, latencies and task timings were recorded."""
    for latency in (0.004, 0.02, 0.3, 3.0):
        stats.record_ticks(store, quotes=1, bars=1, tick=time.time() - latency)
    monitoring.record_task(store, "wagehood.compute_indicators", 0.012, failed=False)
    monitoring.record_task(store, "wagehood.fetch_quotes", 0.5, failed=True)
    response = httpx.get(f"http://{live_server}/metrics", timeout=10)
    assert response.status_code == 200
    return response.text


def test_every_family_parses_and_follows_the_naming_conventions(metrics_text: str) -> None:
    families = list(text_string_to_metric_families(metrics_text))
    assert len(families) > 20
    for family in families:
        assert NAME.match(family.name), family.name
        assert family.name.startswith("wagehood_"), family.name
        assert not any(unit in family.name for unit in NOT_BASE_UNITS), family.name
        if family.type == "histogram":
            assert family.name.endswith("_seconds"), family.name
        for sample in family.samples:
            if family.type != "summary":
                assert "quantile" not in sample.labels, sample.name
            if family.type == "counter" and not sample.name.endswith("_created"):
                assert sample.name.endswith("_total"), sample.name


def test_tick_to_state_latency_is_a_histogram_in_seconds_resolving_10ms_to_5s(
    metrics_text: str,
) -> None:
    (family,) = [
        f
        for f in text_string_to_metric_families(metrics_text)
        if f.name == "wagehood_tick_to_state_latency_seconds"
    ]
    assert family.type == "histogram"
    buckets = {float(s.labels["le"]): s.value for s in family.samples if s.name.endswith("_bucket")}
    assert {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0} <= set(buckets)
    assert buckets[2.5] == 3  # the 3 s tick is above 2.5 s, whatever the machine's load
    assert buckets[5.0] == buckets[float("inf")] == 4
    (total,) = [s.value for s in family.samples if s.name.endswith("_sum")]
    assert 3.3 < total < 60


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_promtool_check_metrics_passes(metrics_text: str) -> None:
    result = subprocess.run(
        ["promtool", "check", "metrics"],
        input=metrics_text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == ""


def test_the_example_dashboard_queries_only_metrics_that_exist(metrics_text: str) -> None:
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    used = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"wagehood_[a-z_]+", target["expr"])
    }
    families = list(text_string_to_metric_families(metrics_text))
    exposed = {sample.name for family in families for sample in family.samples}
    exposed |= {f.name + ("_total" if f.type == "counter" else "") for f in families}
    assert used
    assert used - exposed == set()
