"""Data, indicators, signals and historical endpoints against state the real pipeline wrote."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.api.conftest import Keys
from tests.factories import START
from wagehood.service import queries
from wagehood.storage.redis_store import RedisStore
from wagehood.types import Timeframe

BASE = "/api/v1/realtime"


def test_latest_returns_last_quote_and_in_progress_bar(
    client: FlaskClient, keys: Keys, seeded: str
) -> None:
    response = client.get(f"{BASE}/data/latest/{seeded}", headers=keys.header())
    body = response.get_json()
    assert response.status_code == 200
    assert body["symbol"] == "AAPL"
    assert body["price"] > 0
    assert body["timestamp"].endswith("Z")
    assert set(body["bar"]) >= {"time", "open", "high", "low", "close", "volume"}
    assert body["bar"]["closed"] is False


def test_latest_lowercase_symbol_is_canonicalised(
    client: FlaskClient, keys: Keys, seeded: str
) -> None:
    assert (
        client.get(f"{BASE}/data/latest/aapl", headers=keys.header()).get_json()["symbol"] == "AAPL"
    )


def test_unknown_symbol_is_404_json(client: FlaskClient, keys: Keys) -> None:
    for path in ("data/latest", "indicators", "signals", "data/historical"):
        response = client.get(f"{BASE}/{path}/ZZZZ", headers=keys.header())
        assert response.status_code == 404
        assert response.get_json()["error"]["type"] == "not_found"


def test_invalid_symbol_is_422_naming_symbol(client: FlaskClient, keys: Keys) -> None:
    response = client.get(f"{BASE}/data/latest/%3Cscript%3E", headers=keys.header())
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "symbol"


def test_indicators_match_the_last_stored_bar(
    client: FlaskClient, keys: Keys, seeded: str, store: RedisStore
) -> None:
    body = client.get(f"{BASE}/indicators/{seeded}?timeframe=1m", headers=keys.header()).get_json()
    last = queries.historical(store, seeded, Timeframe.M1, limit=1000)["bars"][-1]
    assert body["bars_processed"] == 179
    assert body["bar_time"] == last["epoch"]
    assert body["indicators"] == last["indicators"]
    assert body["indicators"]["sma_20"] is not None


def test_symbol_without_closed_bar_answers_nulls(
    client: FlaskClient, keys: Keys, fresh: str
) -> None:
    indicators = client.get(f"{BASE}/indicators/{fresh}", headers=keys.header()).get_json()
    assert indicators["bars_processed"] == 0
    assert indicators["bar_time"] is None
    assert indicators["indicators"]["sma_20"] is None
    assert indicators["indicators"]["rsi_14"] is None
    bars = client.get(f"{BASE}/data/historical/{fresh}", headers=keys.header()).get_json()
    signals = client.get(f"{BASE}/signals/{fresh}", headers=keys.header()).get_json()
    assert bars["bars"] == []
    assert bars["next_cursor"] is None
    assert signals["signals"] == []


def test_historical_pages_cover_the_range_without_overlap(
    client: FlaskClient, keys: Keys, seeded: str
) -> None:
    url = f"{BASE}/data/historical/{seeded}?timeframe=1m&limit=50&start={START + 600}&end=2024-06-01T02:00:00Z"
    times: list[int] = []
    while url:
        body = client.get(url, headers=keys.header()).get_json()
        times += [bar["epoch"] for bar in body["bars"]]
        url = body["next"]
    assert times == list(range(START + 600, START + 7200 + 60, 60))


def test_historical_other_timeframe(client: FlaskClient, keys: Keys, seeded: str) -> None:
    body = client.get(
        f"{BASE}/data/historical/{seeded}?timeframe=1h", headers=keys.header()
    ).get_json()
    assert [bar["epoch"] for bar in body["bars"]] == [START, START + 3600]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("timeframe=2m", "timeframe"),
        ("limit=0", "limit"),
        ("limit=100000", "limit"),
        ("limit=abc", "limit"),
        ("start=yesterday", "start"),
        ("start=-5", "start"),
        ("end=99999999999999", "end"),
        ("start=2024-06-02T00:00:00Z&end=2024-06-01T00:00:00Z", "start"),
        ("cursor=-1", "cursor"),
    ],
)
def test_historical_bad_query_is_422_naming_the_field(
    client: FlaskClient, keys: Keys, fresh: str, query: str, field: str
) -> None:
    response = client.get(f"{BASE}/data/historical/{fresh}?{query}", headers=keys.header())
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == field


def test_signals_filter_by_timeframe_since_and_limit(
    client: FlaskClient, keys: Keys, seeded: str
) -> None:
    everything = client.get(
        f"{BASE}/signals/{seeded}?limit=1000", headers=keys.header()
    ).get_json()["signals"]
    assert everything, "the seeded history produces signals"
    times = [s["time"] for s in everything if s["timeframe"] == "1m"]
    assert times == sorted(times)
    since = times[len(times) // 2]
    body = client.get(
        f"{BASE}/signals/{seeded}?timeframe=1m&since={since}&limit=2", headers=keys.header()
    ).get_json()
    expected = [s for s in everything if s["timeframe"] == "1m" and s["time"] >= since][-2:]
    assert body["signals"] == expected


def test_signals_bad_since_is_422(client: FlaskClient, keys: Keys, fresh: str) -> None:
    response = client.get(f"{BASE}/signals/{fresh}?since=notatime", headers=keys.header())
    assert response.get_json()["error"]["field"] == "since"
