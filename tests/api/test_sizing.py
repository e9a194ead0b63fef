"""The Redis memory budget: watchlist add and config validate warn, with the projection, when
the watchlist's full history would outgrow Redis's maxmemory (issue 17)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis as redis_lib
from flask.testing import FlaskClient

from tests.api.conftest import Keys
from wagehood.service import sizing

BASE = "/api/v1/realtime/config"


@pytest.fixture
def limited(redis: redis_lib.Redis) -> Iterator[redis_lib.Redis]:
    """The test Redis with maxmemory 80 MiB, unlimited again afterwards."""
    redis.config_set("maxmemory", str(80 * 2**20))
    yield redis
    redis.config_set("maxmemory", "0")


def test_projection_uses_the_measured_bytes_per_bar_and_signal() -> None:
    one = sizing.projected_bytes(1, 3, 10_000, 1_000) - sizing.projected_bytes(0, 3, 10_000, 1_000)
    # 2.45 MB; 2.46 MB measured in docs/benchmarks.md (footprint)
    assert one == 52_000 + 3 * 10_000 * 65 + 1_000 * 450


def test_watchlist_add_and_validate_warn_when_history_outgrows_maxmemory(
    client: FlaskClient, keys: Keys, limited: redis_lib.Redis
) -> None:
    h = keys.header("write")
    few = client.post(f"{BASE}/watchlist/add", json={"symbols": ["AAA", "BBB"]}, headers=h)
    assert few.get_json()["warnings"] == []  # 64 + 2 x 2.3 MiB fits in 80 MiB
    many = [f"S{i:02d}" for i in range(20)]
    added = client.post(f"{BASE}/watchlist/add", json={"symbols": many}, headers=h).get_json()
    (warning,) = added["warnings"]
    assert warning.startswith("projected full-history footprint 115 MiB exceeds Redis maxmemory")
    assert "22 symbols x (3 timeframes x 10,000 bars" in warning
    assert "1,000 signals (REDIS_SIGNALS_MAXLEN)" in warning
    report = client.get(f"{BASE}/validate", headers=keys.header()).get_json()
    assert report["valid"] is True
    assert report["warnings"] == [warning]
