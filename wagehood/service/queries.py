"""Read models served by the API (and exports): latest, indicators, signals, historical.

Everything here reads what the workers wrote; nothing computes an indicator. ``latest`` and
``indicators`` cost one Redis round trip each (a pipeline that also tells whether the symbol
has any state at all, so an unknown symbol is a 404 and a symbol without a closed bar yet is
an answer with nulls).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from wagehood.engine import merge_specs
from wagehood.errors import NotFoundError, ValidationError
from wagehood.indicators.registry import DEFAULT_INDICATORS, IndicatorSet
from wagehood.service import barstore, sizing, watchlist
from wagehood.service.budgets import demands
from wagehood.service.config import (
    default_system,
    load_config,
    validate_indicators,
    validate_system,
)
from wagehood.service.sync import SyncStatus
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore, translate_errors
from wagehood.strategies.registry import validate_strategy_config
from wagehood.types import Bar, Snapshot, Timeframe, iso_time

MAX_LIMIT = 1000
SIGNALS_PAGE = 500


def _state_probe(symbol: str) -> tuple[str, tuple[Any, ...]]:
    names = [keys.live(symbol)] + [keys.engine(symbol, tf) for tf in Timeframe]
    return "exists", tuple(names)


def _require_state(symbol: str, count: int) -> None:
    if not count:
        raise NotFoundError(f"no data for symbol {symbol}")


def latest(store: RedisStore, symbol: str, timeframe: Timeframe | None = None) -> dict[str, Any]:
    """Return the last quote and the in-progress bar of ``timeframe`` (default: the shortest)."""
    live, count, syncing = store.pipeline_reads(
        [("hgetall", (keys.live(symbol),)), _state_probe(symbol), ("hgetall", (keys.sync(symbol),))]
    )
    _require_state(symbol, count)
    tf = timeframe or next((t for t in Timeframe if f"{t.value}.time" in live), None)
    quote_time = float(live["time"]) if "time" in live else None
    return {
        "symbol": symbol,
        "price": float(live["price"]) if "price" in live else None,
        "timestamp": iso_time(quote_time) if quote_time is not None else None,
        "time": quote_time,
        "updated_at": float(live["updated_at"]) if "updated_at" in live else None,
        "timeframe": tf.value if tf else None,
        "bar": _live_bar(symbol, tf, live) if tf else None,
        "sync": SyncStatus.from_hash(symbol, syncing).to_dict(),
    }


def _live_bar(symbol: str, tf: Timeframe, live: Mapping[str, str]) -> dict[str, Any] | None:
    prefix = tf.value
    if f"{prefix}.time" not in live:
        return None
    o, h, low, c, v = (
        float(live[f"{prefix}.{k}"]) for k in ("open", "high", "low", "close", "volume")
    )
    start = int(float(live[f"{prefix}.time"]))
    return Bar(symbol, tf, start, o, h, low, c, v, closed=False).to_dict()


def indicators(store: RedisStore, symbol: str, timeframe: Timeframe) -> dict[str, Any]:
    """Return the indicator values of the last closed bar (nulls before the first one)."""
    state, count, configured = store.pipeline_reads(
        [
            ("hgetall", (keys.engine(symbol, timeframe),)),
            _state_probe(symbol),
            ("hget", (keys.CONFIG, "indicators")),
        ]
    )
    _require_state(symbol, count)
    values = json.loads(state["values"]) if state.get("values") else None
    bar_time = int(state["last_bar_time"]) if state.get("last_bar_time") else None
    bar = None
    if state.get("bar") and bar_time is not None:
        bar = barstore.last_bar(symbol, timeframe, bar_time, state["bar"])
    return {
        "symbol": symbol,
        "timeframe": timeframe.value,
        "bar_time": bar_time,
        "timestamp": iso_time(bar_time) if bar_time is not None else None,
        "bars_processed": int(state.get("bars_processed", 0)),
        "bar": bar.to_dict() if bar else None,
        "indicators": values if values is not None else _empty_columns(state, configured),
    }


def _empty_columns(state: Mapping[str, str], configured: str | None) -> dict[str, None]:
    if state.get("specs"):
        specs = json.loads(state["specs"])
    else:
        specs = json.loads(configured) if configured else dict(DEFAULT_INDICATORS)
    return dict.fromkeys(IndicatorSet(specs).columns)


def signals(
    store: RedisStore,
    symbol: str,
    timeframe: Timeframe | None = None,
    *,
    since: int | None = None,
    until: int | None = None,
    limit: int | None = MAX_LIMIT,
) -> dict[str, Any]:
    """Return the most recent ``limit`` signals of a symbol, oldest first.

    ``since``/``until`` bound the signal's bar time (inclusive); ``limit=None`` means all
    (exports). Signals are kept in a capped stream, so the scan is bounded.
    """
    require_state(store, symbol)
    picked: list[dict[str, Any]] = []
    for data in _signals_newest_first(store, symbol):
        if timeframe is not None and data.get("timeframe") != timeframe.value:
            continue
        if (since is not None and data["time"] < since) or (
            until is not None and data["time"] > until
        ):
            continue
        picked.append(data)
        if limit is not None and len(picked) >= limit:
            break
    picked.reverse()
    return {
        "symbol": symbol,
        "timeframe": timeframe.value if timeframe else None,
        "count": len(picked),
        "signals": picked,
    }


def _signals_newest_first(store: RedisStore, symbol: str) -> Iterator[dict[str, Any]]:
    end = "+"
    while True:
        with translate_errors():
            page = store.client.xrevrange(keys.symbol_signals(symbol), end, "-", count=SIGNALS_PAGE)
        for _, fields in page:
            yield json.loads(fields["data"])
        if len(page) < SIGNALS_PAGE:
            return
        end = f"({page[-1][0]}"


def require_state(store: RedisStore, symbol: str) -> None:
    """Raise ``NotFoundError`` unless ``symbol`` has live or engine state."""
    method, args = _state_probe(symbol)
    (count,) = store.pipeline_reads([(method, args)])
    _require_state(symbol, count)


def historical(
    store: RedisStore,
    symbol: str,
    timeframe: Timeframe,
    *,
    start: int | None = None,
    end: int | None = None,
    limit: int = MAX_LIMIT,
    cursor: int | None = None,
) -> dict[str, Any]:
    """Return up to ``limit`` closed bars with their indicators, oldest first, and a cursor.

    ``next_cursor`` is the bar time to pass back as ``cursor`` for the next page (``None`` on
    the last page). ``start``/``end`` bound the bar start times (inclusive).
    """
    require_state(store, symbol)
    low = max(x for x in (start, cursor, 0) if x is not None)
    first = keys.bar_id(low) if low else "-"
    last = keys.bar_id(end) if end is not None else "+"
    entries = store.stream_range(keys.bars(symbol, timeframe), first, last, count=limit + 1)
    page = [bar_row(s) for s in barstore.snapshots(store, symbol, timeframe, entries[:limit])]
    more = len(entries) > limit
    return {
        "symbol": symbol,
        "timeframe": timeframe.value,
        "count": len(page),
        "bars": page,
        "next_cursor": int(entries[limit][0].split("-")[0]) if more else None,
    }


def bar_row(snapshot: Snapshot) -> dict[str, Any]:
    """Return one historical bar: its fields, epoch time and indicator values."""
    return {
        **snapshot.bar.to_dict(),
        "epoch": snapshot.bar.time,
        "indicators": dict(snapshot.values),
    }


def config_summary(store: RedisStore, settings: Settings) -> dict[str, Any]:
    """Return an overview: config version, watchlist, indicator names, strategies, system."""
    config = load_config(store, settings)
    watched = [entry.symbol for entry in watchlist.entries(store)]
    enabled = sorted(n for n, v in config.strategies.items() if v.get("enabled", True))
    return {
        "version": config.version,
        "watchlist": {"count": len(watched), "symbols": watched},
        "indicators": sorted(config.indicators),
        "strategies": {"enabled": enabled, "all": sorted(config.strategies)},
        "system": config.system,
    }


def config_validation(store: RedisStore, settings: Settings) -> dict[str, Any]:
    """Re-validate the stored configuration; return ``{"valid", "errors", "warnings", "version", "notes"}``.

    A warning does not make the configuration invalid: it is the projected Redis footprint.
    ``notes`` say how each budgeted provider polls the watchlist, e.g. ``yahoo: 5 symbols at
    1 s need 300 req/min, budget 60: each symbol every 5 s``.
    """
    config = load_config(store, settings)
    errors: list[dict[str, Any]] = []
    checks: list[tuple[str, Callable[[], object]]] = [
        ("indicators", lambda: validate_indicators(config.indicators)),
        ("strategies", lambda: validate_strategy_config(config.strategies)),
        ("system", lambda: validate_system(config.system, default_system(settings))),
        ("indicators", lambda: merge_specs(config.indicators, config.strategy_set)),
    ]
    for section, check in checks:
        try:
            check()
        except ValidationError as error:
            errors.append({"section": section, "field": error.field, "message": str(error)})
    for name, spec in sorted(config.uninstalled.items()):
        message = f"indicator {name!r} ({spec}) is not installed (a removed plugin?): not computed"
        errors.append({"section": "indicators", "field": "indicators", "message": message})
    notes = [demand.describe() for demand in demands(watchlist.entries(store), settings)]
    warnings = sizing.footprint_warnings(store, settings)
    return {
        "valid": not errors,
        "errors": errors,
        "warnings": warnings,
        "version": config.version,
        "notes": notes,
    }
