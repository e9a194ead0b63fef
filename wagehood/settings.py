"""Settings: one frozen object read from the environment, the only reader of ``os.environ``.

Every field names its environment variable, parser and one-line doc in its metadata; the
README table and ``.env.example`` are generated from (and tested against) these fields.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from wagehood.errors import ConfigError, WagehoodError
from wagehood.types import Timeframe, validate_symbol

Parser = Callable[[str], Any]
MIN_WARMUP_BARS = 300


def _env(name: str, parse: Parser, doc: str) -> dict[str, Any]:
    return {"env": name, "parse": parse, "doc": doc}


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(f"must be >= 1, was {value}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(f"must be >= 0, was {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError(f"must be > 0, was {value}")
    return value


def _warmup_bars(text: str) -> int:
    value = int(text)
    if value < MIN_WARMUP_BARS:
        raise ValueError(f"must be >= {MIN_WARMUP_BARS}, was {value}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 65535:
        raise ValueError(f"must be a port between 1 and 65535, was {value}")
    return value


def _symbols(text: str) -> tuple[str, ...]:
    symbols = [validate_symbol(part) for part in text.split(",") if part.strip()]
    return tuple(dict.fromkeys(symbols))


def _paths(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _timeframes(text: str) -> tuple[Timeframe, ...]:
    parsed = [Timeframe.parse(part) for part in text.split(",") if part.strip()]
    if not parsed:
        raise ValueError("needs at least one timeframe")
    return tuple(sorted(dict.fromkeys(parsed), key=lambda tf: tf.seconds))


def _choice(*choices: str) -> Parser:
    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, was {text!r}")
        return value

    return parse


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"must be true or false, was {text!r}")


def _redis_url(text: str) -> str:
    if urlsplit(text).scheme not in {"redis", "rediss", "unix"}:
        raise ValueError(f"must be a redis://, rediss:// or unix:// URL, was {text!r}")
    return text


def _text(text: str) -> str:
    return text


def _ratio(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"must be between 0 and 1, was {value}")
    return value


def _jwt_secret(text: str) -> str:
    if len(text.encode()) < 32:
        raise ValueError(f"must be at least 32 bytes, was {len(text.encode())}")
    return text


def _log_level(text: str) -> str:
    level: str = _choice("debug", "info", "warning", "error", "critical")(text)
    return level.upper()


@dataclass(frozen=True)
class Settings:
    """Configuration of every Wagehood process; build it with ``Settings.from_env()``."""

    watchlist_symbols: tuple[str, ...] = field(
        default=("SPY", "QQQ", "IWM", "AAPL", "TSLA"),
        metadata=_env(
            "WATCHLIST_SYMBOLS", _symbols, "Comma-separated symbols watched at first start"
        ),
    )
    data_update_interval: float = field(
        default=1.0,
        metadata=_env("DATA_UPDATE_INTERVAL", _positive_float, "Seconds between price fetches"),
    )
    data_provider: str = field(
        default="mock",
        metadata=_env(
            "DATA_PROVIDER", _choice("mock", "csv", "alpaca", "yahoo"), "Default data provider"
        ),
    )
    timeframes: tuple[Timeframe, ...] = field(
        default=(Timeframe.M1, Timeframe.M5, Timeframe.H1),
        metadata=_env("TIMEFRAMES", _timeframes, "Bar timeframes kept for every symbol"),
    )
    calculation_workers: int = field(
        default=2,
        metadata=_env("CALCULATION_WORKERS", _positive_int, "Processes per Celery worker node"),
    )
    io_worker_threads: int = field(
        default=16,
        metadata=_env(
            "IO_WORKER_THREADS",
            _positive_int,
            "Threads of the io worker (webhook deliveries and exports)",
        ),
    )
    max_concurrent_calculations: int = field(
        default=1,
        metadata=_env(
            "MAX_CONCURRENT_CALCULATIONS",
            _positive_int,
            "Tasks a worker process reserves at once (prefetch)",
        ),
    )
    batch_calculation_size: int = field(
        default=250,
        metadata=_env(
            "BATCH_CALCULATION_SIZE", _positive_int, "Symbols handled by one fetch/compute task"
        ),
    )
    redis_url: str = field(
        default="redis://127.0.0.1:6390/0",
        metadata=_env(
            "REDIS_URL",
            _redis_url,
            "Redis for broker, state and rate limits (else built from REDIS_HOST/PORT/DB; unset: make run starts one on 127.0.0.1:6390)",
        ),
    )
    broker_visibility_timeout: int = field(
        default=60,
        metadata=_env(
            "BROKER_VISIBILITY_TIMEOUT",
            _positive_int,
            "Seconds before work taken by a dead worker is redelivered",
        ),
    )
    worker_liveness_file: str = field(
        default="",
        metadata=_env(
            "WORKER_LIVENESS_FILE",
            _text,
            "File a worker touches while it makes progress (empty: wagehood-supervise picks one)",
        ),
    )
    worker_stale_seconds: float = field(
        default=60.0,
        metadata=_env(
            "WORKER_STALE_SECONDS",
            _positive_float,
            "wagehood-supervise restarts a worker whose liveness file is older than this",
        ),
    )
    redis_streams_maxlen: int = field(
        default=10000,
        metadata=_env(
            "REDIS_STREAMS_MAXLEN",
            _positive_int,
            "Closed bars kept per history stream (up to 255 more between trims)",
        ),
    )
    redis_signals_maxlen: int = field(
        default=1000,
        metadata=_env(
            "REDIS_SIGNALS_MAXLEN",
            _positive_int,
            "Signals kept per symbol, newest first, every timeframe's together (about 450 B each)",
        ),
    )
    warmup_bars: int = field(
        default=500,
        metadata=_env(
            "WARMUP_BARS",
            _warmup_bars,
            "Bars of history loaded per timeframe when a symbol is watched (>= 300; capped at REDIS_STREAMS_MAXLEN)",
        ),
    )
    warmup_concurrency: int = field(
        default=1,
        metadata=_env(
            "WARMUP_CONCURRENCY",
            _positive_int,
            "Symbols warmed up or gap-filled at once (the rest wait their turn)",
        ),
    )
    redis_max_memory: str = field(
        default="2gb",
        metadata=_env(
            "REDIS_MAX_MEMORY",
            _text,
            "maxmemory of a Redis that make run starts (sizing: docs/operations.md)",
        ),
    )
    api_host: str = field(
        default="127.0.0.1", metadata=_env("API_HOST", _text, "Address the API binds to")
    )
    api_port: int = field(default=8000, metadata=_env("API_PORT", _port, "Port the API listens on"))
    ws_max_per_key: int = field(
        default=20,
        metadata=_env(
            "WS_MAX_PER_KEY", _positive_int, "Open WebSockets per API key (per web process)"
        ),
    )
    ws_max_per_address: int = field(
        default=50,
        metadata=_env(
            "WS_MAX_PER_ADDRESS",
            _positive_int,
            "Open WebSockets per client address (per web process)",
        ),
    )
    log_level: str = field(
        default="INFO", metadata=_env("LOG_LEVEL", _log_level, "debug, info, warning or error")
    )
    log_format: str = field(
        default="text",
        metadata=_env("LOG_FORMAT", _choice("text", "json"), "text, or json (one object a line)"),
    )
    mock_seed: int = field(
        default=42, metadata=_env("MOCK_SEED", int, "Seed of the mock provider's price paths")
    )
    csv_provider_path: str = field(
        default="",
        metadata=_env(
            "CSV_PROVIDER_PATH", _text, "Directory of SYMBOL.csv files for the csv provider"
        ),
    )
    csv_provider_speed: float = field(
        default=60.0,
        metadata=_env(
            "CSV_PROVIDER_SPEED", _positive_float, "csv provider: seconds of data per real second"
        ),
    )
    alpaca_api_key: str = field(
        default="", metadata=_env("ALPACA_API_KEY", _text, "Alpaca key id (APCA-API-KEY-ID)")
    )
    alpaca_api_secret: str = field(
        default="", metadata=_env("ALPACA_API_SECRET", _text, "Alpaca secret (APCA-API-SECRET-KEY)")
    )
    alpaca_data_url: str = field(
        default="https://data.alpaca.markets",
        metadata=_env("ALPACA_DATA_URL", _text, "Alpaca market-data base URL"),
    )
    alpaca_feed: str = field(
        default="iex", metadata=_env("ALPACA_FEED", _choice("iex", "sip"), "Alpaca data feed")
    )
    alpaca_requests_per_minute: int = field(
        default=200,
        metadata=_env(
            "ALPACA_REQUESTS_PER_MINUTE",
            _positive_int,
            "Alpaca requests a minute, polling and history together (free plan: 200)",
        ),
    )
    yahoo_base_url: str = field(
        default="https://query1.finance.yahoo.com",
        metadata=_env("YAHOO_BASE_URL", _text, "Yahoo Finance chart API base URL"),
    )
    yahoo_requests_per_minute: int = field(
        default=60,
        metadata=_env(
            "YAHOO_REQUESTS_PER_MINUTE",
            _positive_int,
            "Yahoo requests a minute, polling and history together (Yahoo publishes no limit)",
        ),
    )
    provider_timeout: float = field(
        default=5.0,
        metadata=_env(
            "PROVIDER_TIMEOUT", _positive_float, "Seconds before a provider request fails"
        ),
    )
    signal_min_confidence: float = field(
        default=0.3,
        metadata=_env("SIGNAL_MIN_CONFIDENCE", _ratio, "Signals below this confidence are dropped"),
    )
    plugin_paths: tuple[str, ...] = field(
        default=(),
        metadata=_env(
            "PLUGIN_PATHS",
            _paths,
            "Comma-separated directories of plugin .py files (re-read on config change)",
        ),
    )
    plugin_time_budget_ms: float = field(
        default=50.0,
        metadata=_env(
            "PLUGIN_TIME_BUDGET_MS",
            _positive_float,
            "Milliseconds one plugin call may take before it counts as a failure",
        ),
    )
    plugin_max_failures: int = field(
        default=5,
        metadata=_env(
            "PLUGIN_MAX_FAILURES",
            _positive_int,
            "Consecutive failures (raised, malformed, over budget) before a plugin is disabled",
        ),
    )
    webhook_allow_private: bool = field(
        default=False,
        metadata=_env(
            "WEBHOOK_ALLOW_PRIVATE",
            _bool,
            "Allow alert webhooks to loopback/private/link-local addresses (trusted networks only)",
        ),
    )
    webhook_timeout: float = field(
        default=5.0,
        metadata=_env(
            "WEBHOOK_TIMEOUT", _positive_float, "Seconds before a webhook delivery fails"
        ),
    )
    webhook_max_attempts: int = field(
        default=5,
        metadata=_env(
            "WEBHOOK_MAX_ATTEMPTS",
            _positive_int,
            "Delivery attempts before an event goes to the dead letters",
        ),
    )
    webhook_retry_backoff: float = field(
        default=2.0,
        metadata=_env(
            "WEBHOOK_RETRY_BACKOFF",
            _positive_float,
            "Seconds before the first delivery retry (doubles per attempt, with jitter)",
        ),
    )
    jwt_secret: str = field(
        default="",
        metadata=_env(
            "JWT_SECRET",
            _jwt_secret,
            "Secret signing API tokens, at least 32 bytes (empty: generated into WAGEHOOD_DATA_DIR/jwt.secret, mode 0600)",
        ),
    )
    jwt_ttl: int = field(
        default=900, metadata=_env("JWT_TTL", _positive_int, "Lifetime of API tokens in seconds")
    )
    rate_limit_default: str = field(
        default="600/minute",
        metadata=_env(
            "RATE_LIMIT_DEFAULT", _text, "Requests allowed per API key (flask-limiter syntax)"
        ),
    )
    export_max_rows: int = field(
        default=500_000,
        metadata=_env("EXPORT_MAX_ROWS", _positive_int, "Rows one export may hold"),
    )
    export_max_bytes: int = field(
        default=32 * 1024 * 1024,
        metadata=_env("EXPORT_MAX_BYTES", _positive_int, "Bytes one export file may hold"),
    )
    export_key_rows: int = field(
        default=2_000_000,
        metadata=_env("EXPORT_KEY_ROWS", _positive_int, "Rows one API key may export per 24 hours"),
    )
    export_key_bytes: int = field(
        default=128 * 1024 * 1024,
        metadata=_env(
            "EXPORT_KEY_BYTES", _positive_int, "Bytes one API key may export per 24 hours"
        ),
    )
    rate_limit_public: str = field(
        default="300/minute",
        metadata=_env(
            "RATE_LIMIT_PUBLIC",
            _text,
            "Requests to public routes (health, docs) allowed per client address and web process",
        ),
    )
    cors_origins: str = field(
        default="", metadata=_env("CORS_ORIGINS", _text, "Comma-separated origins allowed by CORS")
    )
    trusted_proxies: int = field(
        default=0,
        metadata=_env(
            "TRUSTED_PROXIES",
            _count,
            "Reverse proxies in front of the API whose X-Forwarded-For/-Proto are trusted (0: none)",
        ),
    )
    flower_port: int = field(
        default=5555, metadata=_env("FLOWER_PORT", _port, "Port of the Flower task dashboard")
    )
    data_dir: str = field(
        default=".wagehood",
        metadata=_env("WAGEHOOD_DATA_DIR", _text, "Directory for a local Redis, exports and logs"),
    )
    debug: bool = field(
        default=False, metadata=_env("WAGEHOOD_DEBUG", _bool, "Verbose errors in CLI")
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``environ`` (default ``os.environ``).

        Raises:
            ConfigError: a variable is set to an invalid value; the message names it.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in fields(cls):
            name = spec.metadata["env"]
            raw = env.get(name)
            if raw is None or (raw.strip() == "" and spec.metadata["parse"] is not _text):
                continue
            try:
                values[spec.name] = spec.metadata["parse"](raw)
            except (ValueError, WagehoodError) as error:
                raise ConfigError(f"{name}: {error}") from error
        if "redis_url" not in values:
            values["redis_url"] = _redis_url_from_parts(env)
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """Return a copy with ``changes`` applied (tests and CLI flags use this)."""
        return dataclasses.replace(self, **changes)


def _redis_url_from_parts(env: Mapping[str, str]) -> str:
    host = env.get("REDIS_HOST", "127.0.0.1") or "127.0.0.1"
    port_text = env.get("REDIS_PORT", "6390") or "6390"
    db_text = env.get("REDIS_DB", "0") or "0"
    try:
        port = _port(port_text)
    except ValueError as error:
        raise ConfigError(f"REDIS_PORT: {error}") from error
    if not db_text.isdigit():
        raise ConfigError(f"REDIS_DB: must be a database number, was {db_text!r}")
    password = env.get("REDIS_PASSWORD", "")
    auth = f":{password}@" if password else ""
    return f"redis://{auth}{host}:{port}/{db_text}"


def documented_variables() -> list[tuple[str, str, str]]:
    """Return ``(variable, default, doc)`` for every setting, plus the Redis parts."""
    rows = []
    for spec in fields(Settings):
        default = spec.default
        if isinstance(default, tuple):
            default = ",".join(str(getattr(item, "value", item)) for item in default)
        rows.append((spec.metadata["env"], str(default), spec.metadata["doc"]))
    rows += [
        ("REDIS_HOST", "127.0.0.1", "Redis host, used when REDIS_URL is not set"),
        (
            "REDIS_PORT",
            "6390",
            "Redis port, used when REDIS_URL is not set (6390: the local Redis make run starts)",
        ),
        ("REDIS_DB", "0", "Redis database number, used when REDIS_URL is not set"),
        ("REDIS_PASSWORD", "", "Redis password, used when REDIS_URL is not set"),
    ]
    return rows
