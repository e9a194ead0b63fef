"""Celery tasks: thin adapters from JSON-primitive arguments to one service call each.

The live chain per batch of symbols is ``fetch_quotes -> compute_indicators ->
evaluate_strategies``; a backfill runs ``backfill_chunk`` (which re-enqueues itself for the
next chunk) followed by ``evaluate_strategies``. Every task is idempotent, so ``acks_late``
re-delivery is safe (docs/architecture.md).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import Task, chain
from celery.utils.log import get_task_logger

from wagehood import logs
from wagehood.errors import TemporaryError
from wagehood.service import (
    backfill,
    budgets,
    deadletters,
    fetch,
    pipeline,
    signals,
    stats,
    sync,
    warmup,
)
from wagehood.storage.breaker import history_circuit
from workers.app import app, breaker, context, provider, settings, store
from workers.schedule import OUTBOX_TASK
from workers.task_metrics import symbol_context

logger: logging.Logger = get_task_logger(__name__)

RETRYING = {
    "autoretry_for": (TemporaryError,),
    "retry_backoff": 1,
    "retry_backoff_max": 30,
    "retry_jitter": True,
    "max_retries": 8,
}


class WagehoodTask(Task):  # type: ignore[misc]
    """Base task: a task that fails for good is recorded as a dead letter."""

    def on_failure(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        """Record the failed message so the monitor shows it instead of losing it silently."""
        deadletters.record(store(), self.name, task_id, (args, kwargs), exc)


@app.task(name="wagehood.dispatch_ticks", base=WagehoodTask)
def dispatch_ticks() -> int:
    """Start one fetch chain per batch of watched symbols; return the number of chains."""
    tick = time.time()
    plan = budgets.plan_batches(store(), settings(), tick)
    config = settings()
    stale = config.broker_visibility_timeout + 30.0
    timeframes = context().config.timeframes
    due = sync.due_warmups(store(), timeframes, config.warmup_concurrency, stale, tick)
    for symbol, provider_name in due:
        warm_symbol.delay(symbol, provider_name)
    expires = 2 * settings().data_update_interval
    for provider_name, symbols in plan:
        chain(
            fetch_quotes.s(provider_name, symbols, tick).set(expires=max(expires, 2.0)),
            compute_indicators.s(),
            evaluate_strategies.s(),
        ).apply_async()
    return len(plan)


@app.task(
    name="wagehood.fetch_quotes",
    base=WagehoodTask,
    max_retries=2,
    autoretry_for=(TemporaryError,),
    retry_backoff=0.5,
    retry_backoff_max=2,
)
def fetch_quotes(provider_name: str, symbols: list[str], tick: float) -> dict[str, Any]:
    """Fetch the latest quotes of ``symbols``; pass them on as JSON primitives."""
    logs.bind(**symbol_context(symbols))
    result = fetch.fetch(provider(provider_name), breaker(provider_name), store(), symbols, tick)
    return {"quotes": result.payload(), "tick": tick, "fetched_at": time.time()}


@app.task(name="wagehood.compute_indicators", base=WagehoodTask, bind=True, **RETRYING)
def compute_indicators(self: Task, fetched: dict[str, Any]) -> list[list[Any]]:
    """Apply the quotes to bars, indicators and strategies; return the bars left to evaluate.

    A live bar close is evaluated in the same commit as its indicators, so the chain ends
    here unless some bar's strategies are behind (after a warm-up, or a redelivered task):
    most ticks cost two messages, and a close no third one.
    """
    quotes = fetch.quotes_from_payload(fetched["quotes"])
    logs.bind(**symbol_context([quote.symbol for quote in quotes]))
    done = pipeline.apply_quotes(context(), quotes)
    stats.record_ticks(store(), len(quotes), len(done.refs), fetched["tick"])
    if not done.pending:
        self.request.chain = None
        if done.outbox:  # the strategy step, which drains the outbox after it, is skipped
            app.send_task(OUTBOX_TASK)
    return done.pending


@app.task(name="wagehood.evaluate_strategies", base=WagehoodTask, **RETRYING)
def evaluate_strategies(refs: list[list[Any]]) -> int:
    """Evaluate strategies on the referenced closed bars; return the number of signals."""
    if not refs:
        return 0
    return len(signals.evaluate_strategies(context(), refs))


@app.task(name="wagehood.warm_symbol", base=WagehoodTask, **RETRYING)
def warm_symbol(symbol: str, provider_name: str, resume: bool = False) -> str:
    """Load and apply a symbol's missing history (warm-up or gap fill); return its state.

    A long warm-up runs as a series of short tasks, so live ticks get a process in between.
    """
    source, bars = provider(provider_name), settings().warmup_bars
    circuit = breaker(history_circuit(provider_name))
    status = warmup.warm(context(), source, circuit, symbol, warmup_bars=bars, resume=resume)
    if status is None:
        warm_symbol.delay(symbol, provider_name, True)
        return "warming"
    return status.state.value


@app.task(name="wagehood.backfill_chunk", base=WagehoodTask, **RETRYING)
def backfill_chunk(job_id: str, index: int) -> int:
    """Apply chunk ``index`` of a backfill job, then enqueue strategies and the next chunk."""
    symbol, timeframe, bars, chunks = backfill.load_chunk(store(), job_id, index)
    refs = pipeline.apply_bars(context(), symbol, timeframe, bars)
    backfill.mark_done(store(), job_id, index)
    evaluate_strategies.delay(refs or [[symbol, timeframe.value, None]])
    if index + 1 < chunks:
        backfill_chunk.delay(job_id, index + 1)
    return len(refs)
