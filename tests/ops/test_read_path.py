"""The REST read path against the running system (issue 18, part 4).

gunicorn as in the Procfile (its web processes serve from their live views), with a worker
and beat updating 100 mock symbols every second. In-process apps on the same Redis give the
answer read from Redis for the same state: an app whose view was just reset reads Redis.
"""

from __future__ import annotations

import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from api import create_app
from api.live_view import VIEW_MAX_AGE, LiveView
from tests.ops.conftest import SYMBOLS
from tests.ops.system import System
from tests.processes import wait_for
from wagehood.service.sync import SyncState
from wagehood.storage import keys

SYMBOL = SYMBOLS[0]
LATEST = f"/api/v1/realtime/data/latest/{SYMBOL}"
INDICATORS = f"/api/v1/realtime/indicators/{SYMBOL}?timeframe=1m"
VIEW_KEYS = {
    LATEST: ("data.latest", SYMBOL, b""),
    INDICATORS: ("indicators.indicators", SYMBOL, b"timeframe=1m"),
}
REQUEST_SLACK = 3.0  # seconds a request may take on a loaded machine, beyond the view's bound


def _version(system: System) -> tuple[str | None, dict[str, str]]:
    # Every commit of the symbol bumps its live version; warm-up progress is in its sync hash.
    client = system.store.client
    return client.hget(keys.live(SYMBOL), "ver"), client.hgetall(keys.sync(SYMBOL))


def _sync_state(system: System) -> str | None:
    return system.store.client.hget(keys.sync(SYMBOL), "state")


def _quote_time(system: System) -> float:
    return float(system.store.client.hget(keys.live(SYMBOL), "time") or 0)


def test_view_answers_are_the_bytes_redis_gives_while_the_worker_updates(system: System) -> None:
    headers = {"Authorization": f"Bearer {system.read_key}"}
    served_app, reference_app = create_app(system.settings), create_app(system.settings)
    served, reference = served_app.test_client(), reference_app.test_client()
    view: LiveView = served_app.extensions["wagehood"].hub.view
    compared: dict[str, int] = dict.fromkeys(VIEW_KEYS, 0)
    # Warm-up progress changes an answer without a frame (the view may then lag by up to its
    # max age, in this app and in the web processes alike): compare once the symbol is live.
    wait_for(lambda: _sync_state(system) == SyncState.LIVE.value, 240, "the symbol's warm-up", 1)
    deadline = time.monotonic() + 120
    while min(compared.values()) < 5 and time.monotonic() < deadline:
        for url, key in VIEW_KEYS.items():
            before = _version(system)
            assert served.get(url, headers=headers).status_code == 200
            kept = view.lookup(key)
            answer = served.get(url, headers=headers)
            over_http = system.get(url.removeprefix("/api/v1"), system.read_key)
            reference_app.extensions["wagehood"].hub.view.lost()  # its next answer: Redis
            expected = reference.get(url, headers=headers)
            if kept is None or answer.data != kept.body or _version(system) != before:
                continue  # not served from the view, or the state changed meanwhile
            assert answer.data == expected.data == over_http.content
            compared[url] += 1
    assert min(compared.values()) >= 5, compared


def test_every_committed_quote_shows_in_latest_within_the_view_max_age(system: System) -> None:
    delays = []
    for _ in range(8):
        committed = _quote_time(system)
        started = time.monotonic()

        def shows(quote_time: float = committed) -> bool:
            answer = system.get(LATEST.removeprefix("/api/v1"), system.read_key).json()
            return float(answer["time"]) >= quote_time

        wait_for(shows, 30, "the committed quote in data/latest", interval=0.01)
        delays.append(time.monotonic() - started)
        wait_for(lambda t=committed: _quote_time(system) > t, 30, "the next quote")
    assert max(delays) < VIEW_MAX_AGE + REQUEST_SLACK, delays


def _view_reads(system: System) -> float:
    # The sum over the web processes (prometheus-client's multiprocess files).
    text = httpx.get(f"{system.url}/metrics", timeout=30).text
    return sum(
        s.value
        for f in text_string_to_metric_families(text)
        if f.name in ("wagehood_read_view_hits", "wagehood_read_view_misses")
        for s in f.samples
        if s.name.endswith("_total") and s.labels["route"] == "data.latest"
    )


def test_metrics_count_the_view_reads_of_every_web_process(system: System) -> None:
    before = _view_reads(system)
    sent = 60
    for _ in range(sent):  # a connection each: gunicorn deals them to its processes
        assert system.get(LATEST.removeprefix("/api/v1"), system.read_key).status_code == 200
    assert _view_reads(system) - before == sent
