"""Where a symbol-tick's CPU goes: each task's service call, on plain ticks and on bar closes.

The same calls the worker's tasks make (``fetch.fetch``, ``pipeline.apply_quotes`` with
``stats.record_ticks``, and ``signals.evaluate_strategies`` for the bars it leaves), run in
this process against our own redis-server, so that each step's CPU is measured alone,
without Celery or the other processes. Redis's own CPU comes from ``INFO cpu`` around each
tick. The symbols are warmed first as a watched symbol is: ``warmup.warm`` loads the
provider's history of every timeframe (``WARMUP_BARS``, default 500 bars each), so rings,
windows and look-backs are full as in a running system; then they are ticked once a second,
and then only around the turn of each minute for more closes.
Most ticks only move the in-progress bars; the first tick of a minute closes every symbol's
1m bar at once (and every fifth minute the 5m bar too), which is what sets the pipeline's p99.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from cli.redis_server import LocalRedis, free_port
from wagehood.providers.registry import build_provider
from wagehood.service import fetch, pipeline, signals, stats, warmup
from wagehood.service.config import load_config
from wagehood.settings import Settings
from wagehood.storage.breaker import provider_breaker
from wagehood.storage.redis_store import RedisStore

STEPS = ("fetch_quotes", "compute_indicators", "evaluate_strategies", "redis-server")


@dataclass
class Kind:
    """CPU seconds per step summed over the ticks of one kind."""

    ticks: int = 0
    cpu: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STEPS, 0.0))


class Bench:
    """One redis-server, the mock provider and the pipeline context the tasks would use."""

    def __init__(self, root: Path, n: int) -> None:
        self.server = LocalRedis(root / "redis", free_port()).start()
        env = {"REDIS_URL": self.server.url, "WAGEHOOD_DATA_DIR": str(root / "data")}
        self.settings = Settings.from_env(env)
        self.store = RedisStore.from_url(self.server.url)
        config = load_config(self.store, self.settings)
        self.ctx = pipeline.PipelineContext.of(self.store, config, self.settings)
        self.provider = build_provider("mock", self.settings)
        self.admin = redis.Redis.from_url(self.server.url)
        self.breaker = provider_breaker(self.admin, "mock")
        self.symbols = [f"P{i:05d}" for i in range(n)]

    def warm(self, now: float) -> None:
        """Load every symbol's history up to ``now`` as the warm-up task does."""
        for symbol in self.symbols:
            warmup.warm(
                self.ctx,
                self.provider,
                self.breaker,
                symbol,
                warmup_bars=self.settings.warmup_bars,
                clock=lambda: now,
                slice_seconds=1e9,
            )

    def redis_cpu(self) -> float:
        info = self.admin.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    def tick(self, now: float) -> tuple[dict[str, float], bool]:
        """Run one tick's three steps; return each step's CPU seconds and whether bars closed."""
        cpu: dict[str, float] = {}
        redis_before = self.redis_cpu()
        started = time.process_time()
        payload = fetch.fetch(self.provider, self.breaker, self.store, self.symbols, now).payload()
        fetched = time.process_time()
        quotes = fetch.quotes_from_payload(payload)
        done = pipeline.apply_quotes(self.ctx, quotes)
        stats.record_ticks(self.store, len(quotes), len(done.refs), now)
        computed = time.process_time()
        if done.pending:
            signals.evaluate_strategies(self.ctx, done.pending)
        cpu["evaluate_strategies"] = time.process_time() - computed
        cpu["compute_indicators"] = computed - fetched
        cpu["fetch_quotes"] = fetched - started
        cpu["redis-server"] = self.redis_cpu() - redis_before
        return cpu, bool(done.refs)

    def close(self) -> None:
        self.store.client.close()
        self.admin.close()
        self.server.stop()


def run(quick: bool) -> dict[str, Any]:
    """Measure CPU per symbol by step and tick kind; the baseline is the plain tick."""
    n, seconds, close_minutes = (100, 61, 4) if quick else (250, 301, 20)
    with tempfile.TemporaryDirectory(prefix="wagehood-phases-") as tmp:
        bench = Bench(Path(tmp), n)
        try:
            kinds = _measure(bench, seconds, close_minutes)
        finally:
            bench.close()
    plain = _per_symbol(kinds["plain tick"], n)
    rows = []
    for name, kind in kinds.items():
        if not kind.ticks:
            continue
        per = _per_symbol(kind, n)
        total = sum(per.values())
        rows.append([name, kind.ticks, *per.values(), total, total / sum(plain.values())])
    close = _per_symbol(kinds["1m close"], n)
    worker_close = close["compute_indicators"] + close["evaluate_strategies"]
    return {
        "title": "Pipeline phases: CPU per symbol by task, plain ticks vs bar closes",
        "settings": {
            "symbols": n,
            "ticks": f"{seconds} s every second, then the last and first tick of "
            f"{close_minutes} more minutes",
            "interval_s": 1,
            "warm_bars": f"{bench.settings.warmup_bars} per timeframe (warmup.warm)",
            "where": "the tasks' service calls in one process, our redis-server, mock provider",
            "timeframes": ",".join(tf.value for tf in bench.ctx.config.timeframes),
        },
        "columns": [
            "tick",
            "ticks",
            "fetch_quotes us/symbol",
            "compute_indicators us/symbol",
            "evaluate_strategies us/symbol",
            "redis-server us/symbol",
            "total us/symbol",
            "x plain tick",
        ],
        "rows": rows,
        "notes": [
            "CPU time (process_time; Redis: INFO cpu) per symbol and tick, averaged over the "
            "ticks of each kind; no Celery, web or beat, so these are the floor of what the "
            "worker and Redis spend.",
            "compute_indicators includes, on a close, the strategies and alert rules: a live "
            "close is evaluated in the compute step's own commit, as the worker does "
            "(evaluate_strategies runs only for bars left to it; none are here).",
            f"At a 1m close the worker spends {worker_close:.0f} us per symbol: 1,000 symbols "
            f"need {worker_close * 1000 / 1e3:.0f} ms of worker CPU that second "
            f"({worker_close * 1000 / 2e3:.0f} ms on each of 2 processes), plus Redis's share.",
        ],
    }


def _measure(bench: Bench, seconds: int, close_minutes: int) -> dict[str, Kind]:
    first = float(int(time.time()) // 3600 * 3600 - 3600)  # an hour ago, on an hour boundary
    bench.warm(first)
    kinds = {"plain tick": Kind(), "1m close": Kind(), "1m + 5m close": Kind()}
    # Every second of the first ``seconds``, then for ``close_minutes`` more minutes only the
    # last tick of a minute and the first of the next (the close): more closes measured, as
    # four in five minutes left the close rows at the mercy of the machine's moment.
    minutes = (seconds + 59) // 60
    extra = [first + 60 * m + s for m in range(minutes, minutes + close_minutes) for s in (-1, 0)]
    for now in [first + second for second in range(seconds)] + extra:
        cpu, closed = bench.tick(now)
        name = "plain tick"
        if closed:
            name = "1m + 5m close" if int(now) % 300 == 0 else "1m close"
        kind = kinds[name]
        kind.ticks += 1
        for step, value in cpu.items():
            kind.cpu[step] += value
    return kinds


def _per_symbol(kind: Kind, n: int) -> dict[str, float]:
    ticks = max(kind.ticks, 1)
    return {step: kind.cpu[step] / ticks / n * 1e6 for step in STEPS}
