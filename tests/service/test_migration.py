"""State written in a previous format (engine version 1, strategy state without a ring, a ring
in base64) is read, answers the same, and is replaced by the current format on the next bar."""

from __future__ import annotations

import binascii
import json
import math

import pytest

from tests.factories import (
    START,
    context,
    offline,
    replayed_signals,
    stored_signals,
    stored_snapshots,
)
from wagehood.engine import Engine, merge_specs, replay
from wagehood.service import evaluation, pipeline, queries, signals
from wagehood.service.config import save_section
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore
from wagehood.types import Bar, Timeframe

SYMBOL, TF = "TSLA", Timeframe.D1


@pytest.fixture
def store(settings: Settings) -> RedisStore:
    return RedisStore.from_url(settings.redis_url)


def _bars(n: int) -> list[Bar]:
    closes = [100 + 20 * math.sin(i / 9) + 5 * math.sin(i / 2.3) for i in range(n)]
    return [
        Bar(SYMBOL, TF, START + i * 86400, p, p * 1.01, p * 0.99, p, 1000.0 + i)
        for i, p in enumerate(closes)
    ]


def write_version_1(store: RedisStore, symbol: str, tf: Timeframe) -> dict[str, str]:
    """Rewrite a symbol's engine and strategy hashes as version 1 wrote them (frozen copy)."""
    name = keys.engine(symbol, tf)
    current = store.client.hgetall(name)
    engine = Engine.from_state(symbol, tf, current)
    old = {
        "v": "1",
        "specs": engine.fingerprint,
        "bars_processed": str(engine.bars_processed),
        "last_bar_time": str(engine.last_bar_time),
        **engine.indicators.to_state("ind."),  # one field per indicator value
        "values": current["values"],
        "bar": current["bar"],
    }
    store.client.delete(name)
    store.client.hset(name, mapping=old)
    store.client.hdel(keys.strategy_state(symbol, tf), "ring", "ring_keep", "ring_columns")
    return old


def _answers(store: RedisStore) -> tuple[dict, dict]:
    return (
        queries.indicators(store, SYMBOL, TF),
        queries.historical(store, SYMBOL, TF, limit=1000),
    )


def test_version_1_state_answers_the_same_and_continues_as_a_replay(
    store: RedisStore, settings: Settings
) -> None:
    ctx = context(store, settings)
    bars = _bars(400)
    refs = pipeline.apply_bars(ctx, SYMBOL, TF, bars[:250])
    signals.evaluate_strategies(ctx, refs)
    before = _answers(store)

    old = write_version_1(store, SYMBOL, TF)
    assert sum(key.startswith("ind.") for key in old) > 40
    assert _answers(store) == before

    for part in (bars[250:251], bars[251:320], bars[320:]):
        refs = pipeline.apply_bars(ctx, SYMBOL, TF, part)
        signals.evaluate_strategies(ctx, refs)

    engine = store.client.hgetall(keys.engine(SYMBOL, TF))
    assert engine["v"] == "2"
    assert not [key for key in engine if key.startswith("ind.")]
    assert int(engine["bars_processed"]) == 400
    live = stored_snapshots(store, SYMBOL, TF)
    assert [s.values for s in live] == [s.values for s in offline(ctx, live)]
    assert json.loads(engine["values"]) == dict(offline(ctx, live)[-1].values)
    expected = replayed_signals(ctx, bars)
    assert stored_signals(store, SYMBOL) == expected
    assert len(expected) > 5
    assert store.client.hget(keys.strategy_state(SYMBOL, TF), "ring_keep")


def test_upgraded_engine_equals_one_that_never_was_version_1(
    store: RedisStore, settings: Settings
) -> None:
    ctx = context(store, settings)
    bars = _bars(300)
    pipeline.apply_bars(ctx, SYMBOL, TF, bars[:120])
    write_version_1(store, SYMBOL, TF)
    pipeline.apply_bars(ctx, SYMBOL, TF, bars[120:])

    upgraded = Engine.from_state(SYMBOL, TF, store.client.hgetall(keys.engine(SYMBOL, TF)))
    never = Engine.new(SYMBOL, TF, merge_specs(ctx.config.indicators, ctx.config.strategy_set))
    for bar in bars:
        never.apply(bar)
    assert upgraded.to_state() == never.to_state()


def test_version_1_state_of_an_old_configuration_is_rewarmed_and_replaced(
    store: RedisStore, settings: Settings
) -> None:
    ctx = context(store, settings)
    bars = _bars(200)
    pipeline.apply_bars(ctx, SYMBOL, TF, bars[:150])
    write_version_1(store, SYMBOL, TF)
    indicators = {**ctx.config.indicators, "ema_5": "ema(5)"}
    save_section(store, settings, "indicators", indicators)
    ctx = context(store, settings)

    pipeline.apply_bars(ctx, SYMBOL, TF, bars[150:])

    engine = store.client.hgetall(keys.engine(SYMBOL, TF))
    assert (engine["v"], engine["bars_processed"]) == ("2", "200")
    assert not [key for key in engine if key.startswith("ind.")]
    expected = list(replay(bars, indicators, ctx.config.strategy_set))[-1].snapshot.values
    assert json.loads(engine["values"]) == dict(expected)


def test_a_base64_ring_is_read_and_rewritten_in_the_current_codec(
    store: RedisStore, settings: Settings
) -> None:
    ctx = context(store, settings)
    bars = _bars(300)
    signals.evaluate_strategies(ctx, pipeline.apply_bars(ctx, SYMBOL, TF, bars[:200]))
    name = keys.strategy_state(SYMBOL, TF)
    current = store.client.hgetall(name)
    assert current["ring_codec"] == evaluation.RING_CODEC
    records = evaluation.ring_bytes(current)
    # As written before ring_codec: the same records in base64, no codec field.
    store.client.hset(name, "ring", binascii.b2a_base64(records, newline=False).decode())
    store.client.hdel(name, "ring_codec")
    old = store.client.hgetall(name)
    columns = tuple(current["ring_columns"].split(","))
    keep = int(current["ring_keep"])

    found = evaluation.read_ring(SYMBOL, TF, old, keep, columns)

    assert found is not None
    assert found[1] == records
    assert list(found[0]) == list(evaluation.unpack_ring(SYMBOL, TF, records, columns))
    for part in (bars[200:201], bars[201:]):
        signals.evaluate_strategies(ctx, pipeline.apply_bars(ctx, SYMBOL, TF, part))
    assert store.client.hget(name, "ring_codec") == evaluation.RING_CODEC
    expected = replayed_signals(ctx, bars)
    assert stored_signals(store, SYMBOL) == expected
    assert len(expected) > 5
