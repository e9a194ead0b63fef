"""Backfill: seed a symbol's history from a CSV file through the worker pipeline.

The bars are stored in Redis as numbered chunks of a job; a worker applies chunk ``i`` with
the same code live bars go through (``pipeline.apply_bars``), then enqueues chunk ``i + 1``,
so chunks are applied strictly in order whatever the number of workers. A repeated chunk (a
redelivered task) is a no-op thanks to the bar-time guard.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from typing import Any

from wagehood.errors import NotFoundError
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore, translate_errors
from wagehood.types import Bar, Timeframe

CHUNK_SIZE = 500
JOB_TTL = 7 * 86400


def _job(job_id: str) -> str:
    return f"{keys.PREFIX}:backfill:{job_id}"


def create_job(store: RedisStore, symbol: str, timeframe: Timeframe, bars: Sequence[Bar]) -> str:
    """Store ``bars`` as a backfill job and return its id."""
    job_id = uuid.uuid4().hex[:16]
    chunks = [bars[i : i + CHUNK_SIZE] for i in range(0, len(bars), CHUNK_SIZE)]
    meta = {
        "symbol": symbol,
        "timeframe": timeframe.value,
        "bars": str(len(bars)),
        "chunks": str(len(chunks)),
        "last_bar_time": str(bars[-1].time) if bars else "",
        "created_at": repr(time.time()),
    }
    with translate_errors():
        pipe = store.client.pipeline(transaction=True)
        for chunk in chunks:
            pipe.rpush(_job(job_id) + ":chunks", json.dumps([_encode(b) for b in chunk]))
        pipe.hset(_job(job_id), mapping=meta)
        pipe.expire(_job(job_id), JOB_TTL)
        pipe.expire(_job(job_id) + ":chunks", JOB_TTL)
        pipe.execute()
    return job_id


def load_chunk(store: RedisStore, job_id: str, index: int) -> tuple[str, Timeframe, list[Bar], int]:
    """Return ``(symbol, timeframe, bars, chunk count)`` of chunk ``index``."""
    with translate_errors():
        meta, raw = (
            store.client.pipeline(transaction=False)
            .hgetall(_job(job_id))
            .lindex(_job(job_id) + ":chunks", index)
            .execute()
        )
    if not meta or raw is None:
        raise NotFoundError(f"backfill job {job_id} chunk {index} not found")
    symbol, timeframe = meta["symbol"], Timeframe(meta["timeframe"])
    bars = [_decode(symbol, timeframe, row) for row in json.loads(raw)]
    return symbol, timeframe, bars, int(meta["chunks"])


def mark_done(store: RedisStore, job_id: str, index: int) -> None:
    """Record that chunk ``index`` has been applied."""
    with translate_errors():
        store.client.sadd(_job(job_id) + ":done", index)
        store.client.expire(_job(job_id) + ":done", JOB_TTL)


def status(store: RedisStore, job_id: str) -> dict[str, Any]:
    """Return the job's progress: chunks applied and how far strategies have evaluated."""
    with translate_errors():
        meta, done = (
            store.client.pipeline(transaction=False)
            .hgetall(_job(job_id))
            .scard(_job(job_id) + ":done")
            .execute()
        )
        if not meta:
            raise NotFoundError(f"backfill job {job_id} not found")
        timeframe = Timeframe(meta["timeframe"])
        engine, evaluated = (
            store.client.pipeline(transaction=False)
            .hget(keys.engine(meta["symbol"], timeframe), "bars_processed")
            .hget(keys.strategy_state(meta["symbol"], timeframe), "last_eval")
            .execute()
        )
    last = meta["last_bar_time"]
    return {
        "job": job_id,
        "symbol": meta["symbol"],
        "timeframe": meta["timeframe"],
        "bars": int(meta["bars"]),
        "chunks": int(meta["chunks"]),
        "chunks_done": int(done),
        "bars_processed": int(engine or 0),
        "evaluated": bool(last) and evaluated is not None and int(evaluated) >= int(last),
        "done": int(done) >= int(meta["chunks"])
        and (not last or (evaluated is not None and int(evaluated) >= int(last))),
    }


def _encode(bar: Bar) -> list[float]:
    return [bar.time, bar.open, bar.high, bar.low, bar.close, bar.volume]


def _decode(symbol: str, timeframe: Timeframe, row: list[float]) -> Bar:
    return Bar(symbol, timeframe, int(row[0]), row[1], row[2], row[3], row[4], row[5])
