"""Quiet by default: no line per task at INFO, one summary a minute; DEBUG keeps every line."""

from __future__ import annotations

import json
from collections.abc import Callable

from celery import Celery

from tests.processes import Proc, wait_for


def _run(producer: Celery, proc: Proc, count: int) -> None:
    for _ in range(count):
        producer.send_task("wagehood.evaluate_alerts")
    producer.send_task("wagehood.log_summary")
    wait_for(lambda: "last minute:" in proc.output(), 60, "the summary line")


def test_info_logs_the_summary_and_no_line_per_task(
    producer: Celery, start_worker: Callable[..., Proc]
) -> None:
    proc = start_worker(LOG_LEVEL="info")
    _run(producer, proc, 5)
    text = proc.output()
    assert "symbols" in text.split("last minute:")[1].splitlines()[0]
    assert "task wagehood." not in text
    assert "succeeded" not in text


def test_debug_json_logs_every_task_with_its_context_and_duration(
    producer: Celery, start_worker: Callable[..., Proc]
) -> None:
    proc = start_worker(LOG_LEVEL="debug", LOG_FORMAT="json")
    _run(producer, proc, 3)
    records = [json.loads(line) for line in proc.output().splitlines() if line.startswith("{")]
    per_task = [r for r in records if r["logger"] == "workers.task_metrics"]
    alerts = [r for r in per_task if r["task"] == "wagehood.evaluate_alerts"]
    assert len(alerts) == 3
    assert all(r["level"] == "DEBUG" and r["duration_ms"] >= 0 and r["task_id"] for r in alerts)
    (summary,) = [r for r in records if r["logger"] == "workers.monitoring"]
    assert summary["level"] == "INFO"
    assert {"symbols", "ticks_per_s", "bars", "signals", "p99_ms"} <= set(summary)
