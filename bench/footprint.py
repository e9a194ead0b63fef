"""Footprint: Redis bytes per symbol with history at REDIS_STREAMS_MAXLEN, process RSS.

Redis: a few symbols are run through the real pipeline (70 minutes of mock quotes), then
``MEMORY USAGE`` (all samples) is taken of each of one symbol's keys. The bars streams are
measured full: a real entry of each timeframe is appended REDIS_STREAMS_MAXLEN times to a
scratch stream with ``MAXLEN ~`` as the commit script does. Baseline: the raw bytes of the
same fields and values (what the data weighs before Redis encodes it).
RSS: the pipeline scenario's 1,000-symbol step (worker tree and web), against the same
processes idle with an empty watchlist, measured here.
"""

from __future__ import annotations

import time
from typing import Any

from bench import pipeline
from bench.cluster import Cluster, rss_bytes
from bench.seed import seed
from wagehood.settings import Settings
from wagehood.storage import keys

SYMBOL = "B00000"


def _raw(fields: dict[str, str]) -> int:
    return sum(len(k) + len(v) for k, v in fields.items())


def redis_per_symbol() -> dict[str, Any]:
    """Return bytes per symbol by key kind, measured and raw."""
    settings = Settings()
    maxlen = settings.redis_streams_maxlen
    with Cluster(appendonly=False) as c:
        seed(c.url, [SYMBOL, "B00001", "B00002"], minutes=70)
        r = c.client
        parts: dict[str, tuple[int, int]] = {}
        parts["live hash"] = (
            r.memory_usage(keys.live(SYMBOL), samples=0),
            _raw(r.hgetall(keys.live(SYMBOL))),
        )
        for tf in settings.timeframes:
            name = keys.engine(SYMBOL, tf)
            parts[f"engine {tf.value} hash"] = (
                r.memory_usage(name, samples=0),
                _raw(r.hgetall(name)),
            )
            name = keys.strategy_state(SYMBOL, tf)
            if r.exists(name):
                parts[f"strategy {tf.value} hash"] = (
                    r.memory_usage(name, samples=0),
                    _raw(r.hgetall(name)),
                )
            entry_id, fields = r.xrevrange(keys.bars(SYMBOL, tf), count=1)[0]
            scratch = f"bench:full:{tf.value}"
            start = int(entry_id.split("-")[0])
            for chunk in range(0, maxlen, 2000):
                pipe = r.pipeline(transaction=False)
                for i in range(chunk, min(maxlen, chunk + 2000)):
                    pipe.xadd(
                        scratch, fields, id=f"{start + 60 * i}-1", maxlen=maxlen, approximate=True
                    )
                pipe.execute()
            raw = (_raw(fields) + len(entry_id)) * r.xlen(scratch)
            parts[f"bars {tf.value} stream ({r.xlen(scratch)} entries)"] = (
                r.memory_usage(scratch, samples=0),
                raw,
            )
    total = sum(m for m, _ in parts.values())
    raw_total = sum(v for _, v in parts.values())
    return {"parts": parts, "total": total, "raw": raw_total, "maxlen": maxlen}


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
        [f"Redis: {name}", mem, raw, mem / raw if raw else None]
        for name, (mem, raw) in redis["parts"].items()
    ]
    rows.append(
        [
            "Redis: one symbol, full history",
            redis["total"],
            redis["raw"],
            redis["total"] / redis["raw"],
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
            "timeframes": ",".join(tf.value for tf in Settings().timeframes),
            "redis": "MEMORY USAGE key SAMPLES 0",
        },
        "columns": ["item", "bytes", "baseline bytes", "x baseline"],
        "rows": rows,
        "redis_per_symbol_bytes": per_symbol,
        "idle_rss": idle,
        "notes": [
            "Redis baseline = raw bytes of the fields and values; process baseline = the same "
            "process idle with an empty watchlist.",
            f"Extrapolated: 10,000 symbols with full history = {per_symbol * 10_000 / 2**30:.1f} GiB, "
            f"100,000 = {per_symbol * 100_000 / 2**30:.0f} GiB of Redis data (plus the shared "
            "updates stream and signals).",
        ],
    }
