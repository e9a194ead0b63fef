"""The compact bars streams: exact bars, values recomputed from checkpoints, trimming, and the
upgrade from streams that stored every bar's values as JSON."""

from __future__ import annotations

import json
import math

import pytest

from tests.factories import START, context, replayed_signals, stored_signals
from wagehood.engine import replay
from wagehood.service import barstore, pipeline, queries, signals
from wagehood.service.config import save_section
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore
from wagehood.types import Bar, Timeframe

SYMBOL, TF = "TSLA", Timeframe.M5


@pytest.fixture
def store(settings: Settings) -> RedisStore:
    return RedisStore.from_url(settings.redis_url)


def _bars(n: int, start: int = 0) -> list[Bar]:
    out = []
    for i in range(start, start + n):
        p = 100 + 20 * math.sin(i / 9) + 5 * math.sin(i / 2.3) + i / 977
        out.append(Bar(SYMBOL, TF, START + i * TF.seconds, p, p * 1.01, p * 0.99, p, 1000.0 + i))
    return out


def _offline_values(ctx: pipeline.PipelineContext, bars: list[Bar]) -> dict[int, dict]:
    rows = replay(bars, ctx.config.indicators, ctx.config.strategy_set)
    return {row.snapshot.bar.time: dict(row.snapshot.values) for row in rows}


def write_legacy_stream(store: RedisStore, symbol: str, tf: Timeframe) -> None:
    """Rewrite a bars stream as the version before the compact encoding wrote it (frozen copy):
    fields ``o h l c v`` as ``repr``, ``ind`` the values as JSON, ``hist`` on provider bars;
    no checkpoints; the engine hash's ``bar`` the JSON of the last bar's ``o h l c v``."""
    stream = store.stream_range(keys.bars(symbol, tf))
    old = {barstore.entry_time(i) for i, f in stream if barstore.is_historical(f)}
    snapshots = barstore.read(store, symbol, tf)
    store.client.delete(keys.bars(symbol, tf), keys.checkpoints(symbol, tf))
    store.client.hdel(keys.engine(symbol, tf), barstore.LOG_FIELD)
    for s in snapshots:
        bar = s.bar
        fields = {
            "o": repr(bar.open),
            "h": repr(bar.high),
            "l": repr(bar.low),
            "c": repr(bar.close),
            "v": repr(bar.volume),
            "ind": json.dumps(dict(s.values), separators=(",", ":")),
        }
        if bar.time in old:
            fields["hist"] = "1"
        store.client.xadd(keys.bars(symbol, tf), fields, id=keys.bar_id(bar.time))
    last = {k: v for k, v in fields.items() if k in "ohlcv"}  # the engine hash's last bar
    store.client.hset(keys.engine(symbol, tf), "bar", json.dumps(last))


def test_entry_is_one_exact_field() -> None:
    bar = Bar(SYMBOL, TF, START, 0.1 + 0.2, 1 / 3, math.pi, 1e-300, 12345.0)
    for historical in (False, True):
        fields = barstore.encode_bar(bar, historical)
        assert list(fields) == ["b"]
        decoded = barstore.decode(SYMBOL, TF, keys.bar_id(START), fields)
        assert (decoded.bar, decoded.historical) == (bar, historical)
        assert barstore.is_historical(fields) is historical


def test_trimmed_stream_answers_the_values_of_the_whole_history(
    store: RedisStore, settings: Settings
) -> None:
    maxlen = 600
    ctx = pipeline.PipelineContext(store, context(store, settings).config, maxlen)
    bars = _bars(2000)
    for first in range(0, 2000, 137):  # chunks that straddle checkpoints
        pipeline.apply_bars(ctx, SYMBOL, TF, bars[first : first + 137])

    stored = barstore.read(store, SYMBOL, TF)
    assert maxlen <= len(stored) < maxlen + barstore.CHECKPOINT_EVERY
    expected = _offline_values(ctx, bars)
    assert [s.bar for s in stored] == bars[-len(stored) :]
    assert [dict(s.values) for s in stored] == [expected[s.bar.time] for s in stored]
    # The stream starts right after its oldest checkpoint, and every read range is exact.
    checkpoints = store.stream_range(keys.checkpoints(SYMBOL, TF))
    assert barstore.entry_time(checkpoints[0][0]) == stored[0].bar.time - TF.seconds
    page = queries.historical(store, SYMBOL, TF, start=stored[333].bar.time, limit=50)
    assert [b["indicators"] for b in page["bars"]] == [
        expected[s.bar.time] for s in stored[333:383]
    ]


def test_strategies_on_recomputed_values_signal_as_a_replay(
    store: RedisStore, settings: Settings
) -> None:
    ctx = pipeline.PipelineContext(store, context(store, settings).config, 700)
    bars = _bars(1500)
    for first in range(0, 1500, 400):
        signals.evaluate_strategies(
            ctx, pipeline.apply_bars(ctx, SYMBOL, TF, bars[first : first + 400])
        )
    for bar in bars[1500:]:
        signals.evaluate_strategies(ctx, pipeline.apply_bars(ctx, SYMBOL, TF, [bar]))
    expected = replayed_signals(ctx, bars)
    assert stored_signals(store, SYMBOL) == expected
    assert len(expected) > 5


def test_stream_of_the_json_encoding_answers_the_same_and_continues_compact(
    store: RedisStore, settings: Settings
) -> None:
    ctx = context(store, settings)
    bars = _bars(700)
    pipeline.apply_bars(ctx, SYMBOL, TF, bars[:300], historical=True)
    signals.evaluate_strategies(ctx, pipeline.apply_bars(ctx, SYMBOL, TF, bars[300:400]))
    before = [
        queries.historical(store, SYMBOL, TF, limit=1000),
        queries.historical(store, SYMBOL, TF, start=bars[250].time, limit=100),
        queries.indicators(store, SYMBOL, TF),
    ]

    write_legacy_stream(store, SYMBOL, TF)
    assert "ind" in store.stream_range(keys.bars(SYMBOL, TF), count=1)[0][1]
    assert store.client.hget(keys.engine(SYMBOL, TF), "bar").startswith("{")
    after = [
        queries.historical(store, SYMBOL, TF, limit=1000),
        queries.historical(store, SYMBOL, TF, start=bars[250].time, limit=100),
        queries.indicators(store, SYMBOL, TF),
    ]
    assert after == before
    assert sum(1 for b in after[0]["bars"] if b["indicators"]["sma_20"] is not None) > 300

    for part in (bars[400:401], bars[401:650], bars[650:]):
        signals.evaluate_strategies(ctx, pipeline.apply_bars(ctx, SYMBOL, TF, part))
    page = queries.historical(store, SYMBOL, TF, limit=1000)
    assert page["bars"][:400] == before[0]["bars"]
    expected = _offline_values(ctx, bars)
    assert [b["indicators"] for b in page["bars"]] == [expected[b["epoch"]] for b in page["bars"]]
    assert len(page["bars"]) == 700
    entries = store.stream_range(keys.bars(SYMBOL, TF))
    assert [list(f) for _, f in entries[400:]] == [["b"]] * 300
    assert [barstore.is_historical(f) for _, f in entries] == [True] * 300 + [False] * 400


def test_config_change_recomputes_compact_bars_with_the_new_indicators(
    store: RedisStore, settings: Settings
) -> None:
    ctx = pipeline.PipelineContext(store, context(store, settings).config, 500)
    bars = _bars(900)
    pipeline.apply_bars(ctx, SYMBOL, TF, bars[:800])
    indicators = {**ctx.config.indicators, "ema_5": "ema(5)"}
    save_section(store, settings, "indicators", indicators)
    ctx = pipeline.PipelineContext(store, context(store, settings).config, 500)

    pipeline.apply_bars(ctx, SYMBOL, TF, bars[800:])

    stored = barstore.read(store, SYMBOL, TF)
    fresh = _offline_values(ctx, [s.bar for s in stored])  # re-warmed from the stored bars
    assert [dict(s.values) for s in stored] == [fresh[s.bar.time] for s in stored]
    assert all("ema_5" in s.values for s in stored)


def test_entries_trimmed_after_they_were_read_are_left_out_and_the_rest_exact(
    store: RedisStore, settings: Settings
) -> None:
    ctx = pipeline.PipelineContext(store, context(store, settings).config, 600)
    bars = _bars(1200)
    pipeline.apply_bars(ctx, SYMBOL, TF, bars[:1000])
    stale = store.stream_range(keys.bars(SYMBOL, TF), count=300)  # the oldest bars, read now

    pipeline.apply_bars(ctx, SYMBOL, TF, bars[1000:])  # trims them (and their checkpoints)

    oldest = barstore.entry_time(store.stream_range(keys.bars(SYMBOL, TF), count=1)[0][0])
    assert barstore.entry_time(stale[-1][0]) > oldest > barstore.entry_time(stale[0][0])
    answered = barstore.snapshots(store, SYMBOL, TF, stale)
    expected = _offline_values(ctx, bars)
    assert [s.bar.time for s in answered] == [
        barstore.entry_time(i) for i, _ in stale if barstore.entry_time(i) >= oldest
    ]
    assert [dict(s.values) for s in answered] == [expected[s.bar.time] for s in answered]


def test_lost_checkpoint_log_checkpoints_again_without_failing_the_commit(
    store: RedisStore, settings: Settings
) -> None:
    ctx = context(store, settings)
    bars = _bars(600)
    pipeline.apply_bars(ctx, SYMBOL, TF, bars[: 2 * barstore.CHECKPOINT_EVERY])  # ends on one
    store.client.hdel(keys.engine(SYMBOL, TF), barstore.LOG_FIELD)

    pipeline.apply_bars(ctx, SYMBOL, TF, bars[2 * barstore.CHECKPOINT_EVERY :])

    stored = barstore.read(store, SYMBOL, TF)
    expected = _offline_values(ctx, bars)
    assert [s.bar for s in stored] == bars
    assert [dict(s.values) for s in stored] == [expected[s.bar.time] for s in stored]
