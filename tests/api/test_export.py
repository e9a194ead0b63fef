"""Exports: request, status, download; the file equals what the endpoints return (real worker)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from api import create_app
from tests.api.conftest import Keys
from tests.factories import START
from tests.processes import Proc, celery_worker, wait_for
from wagehood.settings import Settings

EXPORT = "/api/v1/realtime/data/export"


@pytest.fixture
def worker(process_env: dict[str, str], tmp_path: Path) -> Iterator[Proc]:
    proc = celery_worker(process_env, tmp_path / "worker.log")
    wait_for(lambda: "ready." in proc.output(), 60, "the worker to be ready")
    yield proc
    proc.stop()


def _run(client: FlaskClient, keys: Keys, request: dict[str, Any]) -> str:
    created = client.post(EXPORT, json=request, headers=keys.header("write"))
    assert created.status_code == 202, created.get_json()
    export_id = created.get_json()["id"]

    def done() -> bool:
        status = client.get(f"{EXPORT}/{export_id}", headers=keys.header("write")).get_json()
        assert status["status"] != "failed", status
        return bool(status["status"] == "done")

    wait_for(done, 60, "the export to finish")
    status = client.get(f"{EXPORT}/{export_id}", headers=keys.header("write")).get_json()
    download = client.get(status["download"], headers=keys.header("write"))
    assert download.status_code == 200
    return download.get_data(as_text=True)


def _pages(client: FlaskClient, keys: Keys, url: str) -> list[dict[str, Any]]:
    bars: list[dict[str, Any]] = []
    while url:
        body = client.get(url, headers=keys.header()).get_json()
        bars += body["bars"]
        url = body["next"]
    return bars


@pytest.mark.usefixtures("worker")
def test_export_files_equal_the_endpoints(client: FlaskClient, keys: Keys, seeded: str) -> None:
    start, end = START + 1800, START + 9000
    bars_json = json.loads(_run(client, keys, {"symbols": [seeded], "start": start, "end": end}))
    expected = _pages(
        client, keys, f"/api/v1/realtime/data/historical/{seeded}?start={start}&end={end}&limit=37"
    )
    assert bars_json["results"][0]["bars"] == expected
    assert len(expected) == 121

    request = {
        "symbols": [seeded],
        "what": "signals",
        "format": "csv",
        "start": "2024-06-01T00:30:00Z",
    }
    rows = list(csv.DictReader(io.StringIO(_run(client, keys, request))))
    signals = client.get(
        f"/api/v1/realtime/signals/{seeded}?since={start}&limit=1000", headers=keys.header()
    ).get_json()
    assert [r["id"] for r in rows] == [s["id"] for s in signals["signals"]]
    assert rows

    indicators = json.loads(
        _run(client, keys, {"symbols": [seeded], "what": "indicators", "timeframe": "5m"})
    )
    five = _pages(client, keys, f"/api/v1/realtime/data/historical/{seeded}?timeframe=5m")
    assert indicators["results"][0]["indicators"] == [
        {"time": b["time"], "epoch": b["epoch"], **b["indicators"]} for b in five
    ]


def test_export_errors(client: FlaskClient, keys: Keys, fresh: str) -> None:
    h = keys.header("write")
    assert client.get(f"{EXPORT}/nope", headers=h).status_code == 404
    assert client.get(f"{EXPORT}/nope/download", headers=h).status_code == 404
    assert client.post(EXPORT, json={"symbols": ["ZZZ"]}, headers=h).status_code == 404
    bad = client.post(EXPORT, json={"symbols": [fresh], "format": "xml"}, headers=h)
    assert bad.status_code == 422
    assert bad.get_json()["error"]["field"] == "format"
    pending = client.post(EXPORT, json={"symbols": [fresh]}, headers=h).get_json()
    assert pending["status"] == "pending"
    assert pending["download"] is None
    assert client.get(f"{EXPORT}/{pending['id']}/download", headers=h).status_code == 409


def test_export_with_broker_down_is_503_and_marked_failed(
    settings: Settings, keys: Keys, fresh: str
) -> None:
    app = create_app(settings)
    app.extensions["wagehood"].celery.conf.broker_url = "redis://127.0.0.1:1/0"
    client = app.test_client()
    response = client.post(EXPORT, json={"symbols": [fresh]}, headers=keys.header("write"))
    assert response.status_code == 503
    assert response.get_json()["error"]["type"] == "temporarily_unavailable"


def test_an_export_request_sends_one_task_to_the_exports_queue(
    client: FlaskClient, keys: Keys, fresh: str, settings: Settings
) -> None:
    broker = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    created = client.post(EXPORT, json={"symbols": [fresh]}, headers=keys.header("write"))
    assert created.status_code == 202

    # No worker consumes here: the broker's lists hold what was sent, once.
    messages = [json.loads(m) for m in broker.lrange("exports", 0, -1)]
    assert [m["headers"]["task"] for m in messages] == ["wagehood.run_export"]
    assert [m["headers"]["argsrepr"] for m in messages] == [repr([created.get_json()["id"]])]
    assert broker.llen("celery") == 0
