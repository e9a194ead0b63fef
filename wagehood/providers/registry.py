"""Data providers by name, and building one from ``Settings``.

Requests per minute of the default configuration (5 symbols, ``DATA_UPDATE_INTERVAL`` 1 s):
mock and csv make none; alpaca makes ceil(5 / 200) * 60 = 60 (free plan: 200); yahoo makes
5 * 60 = 300 (no published limit). In general: ceil(symbols / max_batch) * 60 / interval.

The HTTP providers have a request budget a minute (``request_budget``), shared by polling and
history: ``ALPACA_REQUESTS_PER_MINUTE`` (default 200, Alpaca's free plan) and
``YAHOO_REQUESTS_PER_MINUTE`` (default 60: Yahoo publishes no limit and answers 429 when
polled hard; one request a second is what its own web pages make for a live chart, and it
keeps the default five symbols polled every 5 s). Mock and csv make no requests: no budget.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from wagehood.errors import ConfigError, ValidationError
from wagehood.providers.alpaca import AlpacaProvider
from wagehood.providers.base import Provider, RequestPermits
from wagehood.providers.csv import CsvProvider
from wagehood.providers.mock import MockProvider
from wagehood.providers.yahoo import YahooProvider
from wagehood.settings import Settings

logger = logging.getLogger(__name__)

FIELD = "data_provider"

PROVIDERS: dict[str, type[Provider]] = {
    "mock": MockProvider,
    "csv": CsvProvider,
    "alpaca": AlpacaProvider,
    "yahoo": YahooProvider,
}


def build_provider(name: str, settings: Settings, budget: RequestPermits | None = None) -> Provider:
    """Return a new provider ``name`` configured from ``settings``.

    An HTTP provider draws its history requests from ``budget`` and pauses it on a 429.

    Raises:
        ValidationError: ``name`` is not a provider (``field="data_provider"``).
        ConfigError: a setting the provider needs is missing; the message names it.
    """
    build = _BUILDERS.get(name.strip().lower()) if isinstance(name, str) else None
    if build is None:
        choices = ", ".join(PROVIDERS)
        raise ValidationError(f"unknown data provider {name!r}; choose one of {choices}", FIELD)
    provider = build(settings, budget)
    logger.debug("built provider %r", provider)
    return provider


def max_batch_sizes() -> dict[str, int]:
    """Return each provider's symbols-per-request limit by name."""
    return {name: cls.max_batch for name, cls in PROVIDERS.items()}


def request_budget(name: str, settings: Settings) -> int | None:
    """Return provider ``name``'s requests allowed a minute, or ``None`` if it makes none."""
    budgets = {
        "alpaca": settings.alpaca_requests_per_minute,
        "yahoo": settings.yahoo_requests_per_minute,
    }
    return budgets.get(name)


def requests_per_poll(name: str, symbols: int) -> int:
    """Return the HTTP requests provider ``name`` makes to poll ``symbols`` once."""
    if name in ("mock", "csv"):
        return 0
    return -(-symbols // PROVIDERS[name].max_batch)


def requests_per_minute(name: str, symbols: int, interval: float) -> float:
    """Return the HTTP requests a minute provider ``name`` makes polling ``symbols``."""
    return requests_per_poll(name, symbols) * 60.0 / interval


def _mock(settings: Settings, budget: RequestPermits | None) -> Provider:
    return MockProvider(seed=settings.mock_seed)


def _csv(settings: Settings, budget: RequestPermits | None) -> Provider:
    if not settings.csv_provider_path.strip():
        raise ConfigError("CSV_PROVIDER_PATH: set it to a directory of SYMBOL.csv files")
    return CsvProvider(settings.csv_provider_path, settings.csv_provider_speed)


def _alpaca(settings: Settings, budget: RequestPermits | None) -> Provider:
    missing = [
        variable
        for variable, value in (
            ("ALPACA_API_KEY", settings.alpaca_api_key),
            ("ALPACA_API_SECRET", settings.alpaca_api_secret),
        )
        if not value.strip()
    ]
    if missing:
        raise ConfigError(f"{' and '.join(missing)}: required by the alpaca provider")
    return AlpacaProvider(
        settings.alpaca_data_url,
        settings.alpaca_api_key,
        settings.alpaca_api_secret,
        feed=settings.alpaca_feed,
        timeout=settings.provider_timeout,
        budget=budget,
    )


def _yahoo(settings: Settings, budget: RequestPermits | None) -> Provider:
    return YahooProvider(settings.yahoo_base_url, timeout=settings.provider_timeout, budget=budget)


_BUILDERS: Mapping[str, Callable[[Settings, RequestPermits | None], Provider]] = {
    "mock": _mock,
    "csv": _csv,
    "alpaca": _alpaca,
    "yahoo": _yahoo,
}
