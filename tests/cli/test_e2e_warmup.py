"""End to end: ``config watchlist add --wait`` against a real API, worker, beat and Redis."""

from __future__ import annotations

import json

from tests.cli.conftest import Live
from wagehood.service import watchlist


def test_watchlist_add_wait_shows_progress_and_returns_when_warm(live: Live) -> None:
    result = live.run(
        "config", "watchlist", "add", "NVDA", "--wait", "--format", "json", timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "warming up" in result.stderr
    body = json.loads(result.stdout)
    entry = next(e for e in body["symbols"] if e["symbol"] == "NVDA")
    assert entry["sync"]["state"] == "live"
    assert entry["sync"]["progress"] == 1.0
    indicators = json.loads(
        live.run("data", "indicators", "NVDA", "--timeframe", "1h", "--format", "json").stdout
    )
    assert indicators["bars_processed"] >= 300
    assert all(v is not None for v in indicators["indicators"].values())
    watchlist.remove(live.store, "NVDA")
