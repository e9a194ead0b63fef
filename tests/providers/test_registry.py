"""Building providers by name from Settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from wagehood.errors import ConfigError, ValidationError
from wagehood.providers.alpaca import AlpacaProvider
from wagehood.providers.base import QuoteSource
from wagehood.providers.csv import CsvProvider
from wagehood.providers.mock import MockProvider
from wagehood.providers.registry import (
    PROVIDERS,
    build_provider,
    max_batch_sizes,
    requests_per_minute,
)
from wagehood.providers.yahoo import YahooProvider
from wagehood.settings import Settings


def test_provider_names_match_the_settings_choices() -> None:
    assert list(PROVIDERS) == ["mock", "csv", "alpaca", "yahoo"]
    assert max_batch_sizes() == {"mock": 1000, "csv": 1000, "alpaca": 200, "yahoo": 1}


def test_mock_uses_the_seed() -> None:
    provider = build_provider("mock", Settings(mock_seed=7))

    assert isinstance(provider, MockProvider)
    assert provider.seed == 7


def test_csv_uses_path_and_speed(tmp_path: Path) -> None:
    provider = build_provider(
        "csv", Settings(csv_provider_path=str(tmp_path), csv_provider_speed=5.0)
    )

    assert isinstance(provider, CsvProvider)
    assert (provider.directory, provider.speed) == (tmp_path, 5.0)


def test_csv_without_a_directory_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="CSV_PROVIDER_PATH"):
        build_provider("csv", Settings())


def test_alpaca_needs_key_and_secret() -> None:
    with pytest.raises(ConfigError, match="ALPACA_API_KEY and ALPACA_API_SECRET"):
        build_provider("alpaca", Settings())
    with pytest.raises(ConfigError, match=r"^ALPACA_API_SECRET"):
        build_provider("alpaca", Settings(alpaca_api_key="key"))


def test_alpaca_is_built_without_leaking_the_secret() -> None:
    provider = build_provider("alpaca", Settings(alpaca_api_key="k", alpaca_api_secret="hush"))

    assert isinstance(provider, AlpacaProvider)
    assert "hush" not in repr(provider)
    provider.close()


def test_yahoo_uses_base_url() -> None:
    provider = build_provider("yahoo", Settings(yahoo_base_url="http://127.0.0.1:1/"))

    assert isinstance(provider, YahooProvider)
    assert provider.base_url == "http://127.0.0.1:1"
    provider.close()


@pytest.mark.parametrize("name", ["mock", "alpaca", "yahoo", "csv"])
def test_every_provider_satisfies_the_port(name: str, tmp_path: Path) -> None:
    settings = Settings(alpaca_api_key="k", alpaca_api_secret="s", csv_provider_path=str(tmp_path))

    provider = build_provider(name, settings)

    assert isinstance(provider, QuoteSource)
    assert provider.name == name
    provider.close()


def test_unknown_provider_is_a_validation_error_on_data_provider() -> None:
    with pytest.raises(ValidationError, match="unknown data provider 'bloomberg'") as caught:
        build_provider("bloomberg", Settings())

    assert caught.value.field == "data_provider"


def test_requests_per_minute_of_the_default_watchlist() -> None:
    symbols, interval = len(Settings().watchlist_symbols), Settings().data_update_interval

    rates = {name: requests_per_minute(name, symbols, interval) for name in PROVIDERS}

    assert rates == {"mock": 0, "csv": 0, "alpaca": 60, "yahoo": 300}
    assert requests_per_minute("alpaca", 450, 2.0) == 90


def test_mock_and_csv_processes_never_load_httpx() -> None:
    # import httpx pulls in click (its CLI); the domain must not (see tests/test_imports.py).
    code = (
        "import sys\n"
        "from wagehood.providers.registry import build_provider\n"
        "from wagehood.settings import Settings\n"
        "build_provider('mock', Settings()).get_quotes(['AAPL'], 1.7e9)\n"
        "print('httpx' in sys.modules, 'click' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert out.stdout.split() == ["False", "False"]
