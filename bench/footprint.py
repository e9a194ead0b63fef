"""Footprint: Redis bytes per symbol with history at REDIS_STREAMS_MAXLEN, process RSS.

Redis: a few symbols are run through the real pipeline (70 minutes of mock quotes); then each
timeframe of one symbol is given its full history by applying the mock provider's bars
through the real pipeline (``apply_bars``, in chunks, live bars, each chunk's strategies
evaluated as the worker's strategy step does) past REDIS_STREAMS_MAXLEN, so the streams are
trimmed as in production and the signals stream and look-back rings hold what a symbol's
full history gives them. ``MEMORY USAGE`` (all samples) is taken of every key of the symbol.
Baseline: the same symbol in the encoding before the compact one (each bars-stream entry held
OHLCV and every indicator value as JSON, capped with ``MAXLEN ~``; the symbol's signals
stream capped at 10,000 instead of REDIS_SIGNALS_MAXLEN), written in this run to scratch
streams from the same bars, values and signals; its other keys are the same (there were no
checkpoints).
RSS: the pipeline scenario's 1,000-symbol step (worker tree and web), against the same
processes idle with an empty watchlist, measured here.
"""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from bench import pipeline
from bench.cluster import Cluster, rss_bytes
from bench.seed import START, seed
from wagehood.providers.mock import MockProvider
from wagehood.service import barstore, signals
from wagehood.service.config import load_config
from wagehood.service.pipeline import PipelineContext, apply_bars
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore
from wagehood.types import Timeframe

SYMBOL = "B00000"
CHUNK = 500  # bars per commit while filling the history
LEGACY_SIGNALS_MAXLEN = 10_000  # the per-symbol signals cap before REDIS_SIGNALS_MAXLEN


def _fill(store: RedisStore, settings: Settings, tf: Timeframe) -> None:
    # Full history: REDIS_STREAMS_MAXLEN plus half a checkpoint interval of bars, the
    # stream's average length between two trims.
    maxlen = settings.redis_streams_maxlen
    ctx = PipelineContext.of(store, load_config(store, settings), settings)
    count = maxlen + barstore.CHECKPOINT_EVERY // 2 + 5
    last = int(store.client.hget(keys.engine(SYMBOL, tf), "last_bar_time") or START)
    end = last + count * tf.seconds
    provider = MockProvider()
    for first in range(last + tf.seconds, end, CHUNK * tf.seconds):
        stop = min(end, first + CHUNK * tf.seconds)
        bars = provider.get_bars([SYMBOL], tf, first, stop).bars[SYMBOL]
        signals.evaluate_strategies(ctx, apply_bars(ctx, SYMBOL, tf, bars))


def _legacy_signals(store: RedisStore) -> str:
    # The symbol's signals stream as the earlier cap would have kept it: every signal of the
    # fill, from the all-symbols stream (the same records), capped at 10,000.
    scratch = "bench:legacy:signals"
    pipe = store.client.pipeline(transaction=False)
    for _, fields in store.client.xrange(keys.SIGNALS):
        if fields.get("symbol") == SYMBOL:
            pipe.xadd(scratch, {"data": fields["data"]}, maxlen=LEGACY_SIGNALS_MAXLEN)
    pipe.execute()
    return scratch


def _legacy_stream(store: RedisStore, tf: Timeframe, maxlen: int) -> str:
    # The stream today's bars would have had in the encoding before the compact one.
    scratch = f"bench:legacy:{tf.value}"
    snapshots = barstore.read(store, SYMBOL, tf)
    pipe = store.client.pipeline(transaction=False)
    for snapshot in snapshots:
        bar = snapshot.bar
        fields = {
            "o": repr(bar.open),
            "h": repr(bar.high),
            "l": repr(bar.low),
            "c": repr(bar.close),
            "v": repr(bar.volume),
            "ind": json.dumps(dict(snapshot.values), separators=(",", ":")),
        }
        pipe.xadd(scratch, fields, id=keys.bar_id(bar.time), maxlen=maxlen, approximate=True)
    pipe.execute()
    return scratch


def _kind(name: str) -> str:
    return name.split("}:", 1)[1]


def redis_per_symbol() -> dict[str, Any]:
    """Return bytes per symbol by key kind, compact and in the earlier encoding."""
    settings = Settings()
    maxlen = settings.redis_streams_maxlen
    with Cluster(appendonly=False) as c:
        store = seed(c.url, [SYMBOL, "B00001", "B00002"], minutes=70)
        for tf in settings.timeframes:
            _fill(store, settings, tf)
        r: redis.Redis = c.client
        names = sorted(r.scan_iter(match=f"{keys.PREFIX}:{{{SYMBOL}}}:*", count=1000))
        parts: dict[str, tuple[int, int]] = {}
        for name in names:
            used = int(r.memory_usage(name, samples=0) or 0)
            kind = _kind(name)
            if r.type(name) == "stream":
                kind += f" stream ({r.xlen(name):,} entries)"
            legacy = used
            if name.startswith(keys.checkpoints(SYMBOL, Timeframe.M1).rsplit(":", 1)[0]):
                legacy = 0  # the earlier encoding had no checkpoints
            if name == keys.symbol_signals(SYMBOL):
                scratch = _legacy_signals(store)
                legacy = int(r.memory_usage(scratch, samples=0) or 0)
                kind += f" (baseline {r.xlen(scratch):,} entries)"
            for tf in settings.timeframes:
                if name == keys.bars(SYMBOL, tf):
                    scratch = _legacy_stream(store, tf, maxlen)
                    legacy = int(r.memory_usage(scratch, samples=0) or 0)
            parts[kind] = (used, legacy)
    total = sum(m for m, _ in parts.values())
    legacy_total = sum(v for _, v in parts.values())
    return {
        "parts": parts,
        "total": total,
        "legacy": legacy_total,
        "maxlen": maxlen,
        "signals_maxlen": settings.redis_signals_maxlen,
    }


def idle_rss() -> dict[str, int]:
    """Return the RSS of an idle worker tree and web process (empty watchlist)."""
    with Cluster() as c:
        c.client.set(f"{keys.WATCHLIST}:seeded", "1")
        worker = c.start("worker")
        c.wait_workers(1)
        web = c.start("web")
        pipeline._wait_http(c.api_port)
        time.sleep(2.0)
        return {"worker": rss_bytes(worker.tree()), "web": rss_bytes(web.tree())}


def run(quick: bool) -> dict[str, Any]:
    """Measure Redis bytes per symbol and RSS at 1,000 symbols."""
    redis = redis_per_symbol()
    idle = idle_rss()
    step = next((s for s in pipeline.LAST_STEPS if s["symbols"] == 1000), None)
    if step is None:
        step = pipeline.run_ours(1000, 6.0, web=True)
    rows: list[list[Any]] = [
        [f"Redis: {name}", mem, legacy, mem / legacy if legacy else "new"]
        for name, (mem, legacy) in redis["parts"].items()
    ]
    rows.append(
        [
            "Redis: one symbol, full history",
            redis["total"],
            redis["legacy"],
            redis["total"] / redis["legacy"],
        ]
    )
    rows.append(
        [
            "worker node RSS (parent + 2 pool processes), 1,000 symbols",
            step["worker_rss_bytes"],
            idle["worker"],
            step["worker_rss_bytes"] / idle["worker"],
        ]
    )
    rows.append(
        [
            "web process RSS, 1,000 symbols + 1 WS client",
            step["web_rss_bytes"],
            idle["web"],
            step["web_rss_bytes"] / idle["web"],
        ]
    )
    per_symbol = redis["total"]
    return {
        "title": "Footprint: Redis bytes per symbol and process RSS",
        "settings": {
            "REDIS_STREAMS_MAXLEN": redis["maxlen"],
            "REDIS_SIGNALS_MAXLEN": redis["signals_maxlen"],
            "timeframes": ",".join(tf.value for tf in Settings().timeframes),
            "redis": "MEMORY USAGE key SAMPLES 0",
        },
        "columns": ["item", "bytes", "baseline bytes", "x baseline"],
        "rows": rows,
        "redis_per_symbol_bytes": per_symbol,
        "idle_rss": idle,
        "notes": [
            "Redis baseline = the same symbol in the encoding before the compact one (every "
            "bar's values as JSON in its stream entry, no checkpoints; the signals stream capped "
            "at 10,000 per symbol), written in the same run from the same bars and signals; "
            "the signals stream is the one item whose format did not change, its cap did: at "
            "10,000 entries it alone would take about 4.5 MB per symbol. Process baseline = "
            "the same process idle with an empty watchlist.",
            "Earlier versions of this table (12.6 MB per symbol) copied one entry of a "
            "70-minute history, with many values still null; here every bar has all its values, "
            "so the baseline is larger.",
            f"Bars are checkpointed every {barstore.CHECKPOINT_EVERY} bars; a stream holds "
            f"REDIS_STREAMS_MAXLEN to REDIS_STREAMS_MAXLEN + {barstore.CHECKPOINT_EVERY - 1} "
            "bars (measured in between).",
            f"Extrapolated: 10,000 symbols with full history = {per_symbol * 10_000 / 2**30:.1f} GiB, "
            f"100,000 = {per_symbol * 100_000 / 2**30:.0f} GiB of Redis data (plus the shared "
            "updates stream and the all-symbols signals stream).",
        ],
    }
