"""Settings: defaults, validation naming the variable, and docs kept in sync."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wagehood.errors import ConfigError
from wagehood.settings import Settings, documented_variables
from wagehood.types import Timeframe

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_are_the_seed_values() -> None:
    settings = Settings.from_env({})
    assert settings.watchlist_symbols == ("SPY", "QQQ", "IWM", "AAPL", "TSLA")
    assert settings.data_update_interval == 1.0
    assert settings.data_provider == "mock"
    assert settings.api_host == "127.0.0.1"
    assert settings.api_port == 8000
    assert settings.redis_streams_maxlen == 10000
    assert settings.redis_url == "redis://127.0.0.1:6390/0"


def test_redis_url_is_built_from_host_and_port() -> None:
    settings = Settings.from_env({"REDIS_HOST": "10.0.0.5", "REDIS_PORT": "7000", "REDIS_DB": "3"})
    assert settings.redis_url == "redis://10.0.0.5:7000/3"


def test_redis_url_wins_over_parts() -> None:
    settings = Settings.from_env({"REDIS_URL": "redis://h:1/2", "REDIS_HOST": "x"})
    assert settings.redis_url == "redis://h:1/2"


def test_lists_are_parsed_and_normalised() -> None:
    settings = Settings.from_env({"WATCHLIST_SYMBOLS": " aapl, msft,AAPL ", "TIMEFRAMES": "1h,1m"})
    assert settings.watchlist_symbols == ("AAPL", "MSFT")
    assert settings.timeframes == (Timeframe.M1, Timeframe.H1)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATA_UPDATE_INTERVAL", "0"),
        ("DATA_UPDATE_INTERVAL", "fast"),
        ("API_PORT", "70000"),
        ("DATA_PROVIDER", "bloomberg"),
        ("WATCHLIST_SYMBOLS", "AAPL,$$$"),
        ("TIMEFRAMES", "2m"),
        ("REDIS_URL", "http://localhost"),
        ("REDIS_PORT", "abc"),
        ("LOG_FORMAT", "xml"),
        ("SIGNAL_MIN_CONFIDENCE", "1.5"),
    ],
)
def test_invalid_value_is_a_config_error_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name}: "):
        Settings.from_env({name: value})


def test_env_example_lists_every_variable_with_its_default() -> None:
    text = (ROOT / ".env.example").read_text()
    for name, default, _ in documented_variables():
        assert re.search(rf"^(# )?{name}={re.escape(default)}$", text, re.M), name


def test_readme_table_lists_every_variable() -> None:
    text = (ROOT / "README.md").read_text()
    for name, default, _ in documented_variables():
        shown = f"`{default}`" if default else "(empty)"
        assert f"| `{name}` | {shown} |" in text, name
