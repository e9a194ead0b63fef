"""Vendor request budgets: the dispatcher polls within them, and says when that costs freshness.

When a provider's watchlist polled every ``DATA_UPDATE_INTERVAL`` would need more requests a
minute than its budget, each tick polls only its share, ``budget * interval / 60`` requests,
taking the provider's symbols (or, for batched vendors, its batches) round-robin: every
symbol is still polled, less often, and the polls skipped are counted. The dispatcher draws
its permits from the same shared budget as history fetches (``wagehood.storage.budget``),
so together they never exceed it; it records how many permits a minute it plans to use, and
history leaves those (up to half the budget) to it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from wagehood.providers.registry import PROVIDERS, request_budget, requests_per_poll
from wagehood.service.watchlist import WatchEntry
from wagehood.settings import Settings
from wagehood.storage.budget import LIVE_RESERVE, RequestBudget
from wagehood.storage.redis_store import RedisStore


@dataclass(frozen=True)
class Demand:
    """What polling a provider's symbols every ``interval`` asks of its budget."""

    provider: str
    symbols: int
    interval: float
    budget: int

    @property
    def requests_per_poll(self) -> int:
        """Return the requests one poll of every symbol makes."""
        return requests_per_poll(self.provider, self.symbols)

    @property
    def needed_per_minute(self) -> float:
        """Return the requests a minute polling every symbol every interval needs."""
        return self.requests_per_poll * 60.0 / self.interval

    @property
    def throttled(self) -> bool:
        """Return whether the budget is too small to poll every symbol every interval."""
        return self.needed_per_minute > self.budget

    @property
    def every(self) -> float:
        """Return the seconds between two polls of one symbol within the budget."""
        return self.interval * max(1.0, self.needed_per_minute / self.budget)

    def describe(self) -> str:
        """Say it plainly, e.g. ``yahoo: 5 symbols at 1 s need 300 req/min, budget 60: ...``."""
        requests = (
            f" ({self.requests_per_poll} requests a poll)"
            if self.requests_per_poll != self.symbols
            else ""
        )
        which = "each symbol" if self.throttled else "every symbol"
        return (
            f"{self.provider}: {self.symbols} symbols at {self.interval:g} s need"
            f" {self.needed_per_minute:.4g} req/min{requests}, budget {self.budget}:"
            f" {which} every {self.every:.3g} s"
        )


def demands(watch: Iterable[WatchEntry], settings: Settings) -> list[Demand]:
    """Return the demand on each budgeted provider the watchlist uses."""
    counts: dict[str, int] = {}
    for entry in watch:
        counts[entry.data_provider] = counts.get(entry.data_provider, 0) + 1
    result = []
    for provider, symbols in sorted(counts.items()):
        budget = request_budget(provider, settings)
        if budget is not None:
            result.append(Demand(provider, symbols, settings.data_update_interval, budget))
    return result


def budgeted_batches(settings: Settings) -> set[str]:
    """Return the budgeted providers that ask many symbols a request (a batch = a request)."""
    return {
        name
        for name, cls in PROVIDERS.items()
        if cls.max_batch > 1 and request_budget(name, settings) is not None
    }


def provider_budget(store: RedisStore, settings: Settings, provider: str) -> RequestBudget | None:
    """Return the shared request budget of ``provider``, or ``None`` if it makes no requests."""
    per_minute = request_budget(provider, settings)
    return None if per_minute is None else RequestBudget(store.client, provider, per_minute)


def within_budget(
    store: RedisStore, settings: Settings, watch: Sequence[WatchEntry], tick: float
) -> list[WatchEntry]:
    """Return the entries to poll at ``tick``: all of them, but budgeted providers' in turn."""
    kept = [e for e in watch if request_budget(e.data_provider, settings) is None]
    for demand in demands(watch, settings):
        entries = sorted(
            (e for e in watch if e.data_provider == demand.provider), key=lambda e: e.symbol
        )
        kept += _take_turns(store, settings, demand, entries, tick)
    return kept


def _take_turns(
    store: RedisStore, settings: Settings, demand: Demand, entries: list[WatchEntry], tick: float
) -> list[WatchEntry]:
    # One tick's share of the budget, taken from the shared log, spent round-robin on units
    # (a symbol, or a batch of max_batch symbols for a batching vendor).
    budget = RequestBudget(store.client, demand.provider, demand.budget)
    size = PROVIDERS[demand.provider].max_batch
    units = [entries[i : i + size] for i in range(0, len(entries), size)]
    share = demand.budget * demand.interval / 60.0
    index = math.floor(tick / demand.interval)
    allowance = len(units)
    if demand.throttled:
        allowance = math.floor((index + 1) * share) - math.floor(index * share)
    granted = budget.take(min(allowance, len(units)), reserve_field="").granted
    first = budget.advance(granted) if granted else 0
    chosen = [units[(first + i) % len(units)] for i in range(granted)]
    polled = [entry for unit in chosen for entry in unit]
    plan = {
        "symbols": str(demand.symbols),
        "needed_per_minute": repr(demand.needed_per_minute),
        "every_seconds": repr(demand.every),
        LIVE_RESERVE: str(math.ceil(min(demand.needed_per_minute, demand.budget / 2))),
        "note": demand.describe(),
    }
    budget.record(plan, skipped=len(entries) - len(polled))
    return polled


def status(store: RedisStore, settings: Settings, watch: Iterable[WatchEntry]) -> dict[str, Any]:
    """Return each budgeted provider's plan and counters, for health and monitoring.

    ``degraded`` when a budget makes symbols update less often than the interval, or a
    vendor's 429 has paused it.
    """
    now = time.time()
    providers: dict[str, Any] = {}
    for demand in demands(watch, settings):
        state = RequestBudget(store.client, demand.provider, demand.budget).state()
        paused_until = float(state.get("paused_until", "0"))
        note = demand.describe()
        if paused_until > now:
            note += f"; paused {paused_until - now:.0f} s more after the vendor's 429"
        providers[demand.provider] = {
            "budget_per_minute": demand.budget,
            "needed_per_minute": round(demand.needed_per_minute, 3),
            "every_seconds": round(demand.every, 3),
            "throttled": demand.throttled,
            "skipped_polls": int(state.get("skipped", "0")),
            "requests": int(state.get("requests", "0")),
            "rate_limited": int(state.get("rate_limited", "0")),
            "paused_until": paused_until if paused_until > now else None,
            "note": note,
        }
    calm = all(not p["throttled"] and p["paused_until"] is None for p in providers.values())
    return {"status": "ok" if calm else "degraded", "providers": providers}
