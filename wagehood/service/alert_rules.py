"""Alert rules at run time: stored in Redis, evaluated by the strategy step on each closed bar.

Rules live in the ``wh:alertrules`` hash (name -> JSON); the API and CLI change them and the
next evaluation step sees the change, without restarting anything.

Exactly once: ``add_to_commit`` runs inside ``signals.evaluate_strategies`` on the same new
bars as the strategies and writes into the same guarded commit — the fired alerts (to the
signal streams and as ``signal`` update frames), each rule's last firing bar time (in the
symbol's strategy-state hash, for the cooldown) and one outbox entry per signal or alert for
delivery. A bar is evaluated by exactly one winning commit, so a rule fires at most once per
bar, and exactly once per crossing however often the step is redelivered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wagehood.alerts.evaluate import views
from wagehood.alerts.rules import AlertRule, build_rule, fired_record, fires
from wagehood.alerts.signing import event_id
from wagehood.errors import ConflictError, NotFoundError
from wagehood.service.config import RuntimeConfig, load_config
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import Commit, RedisStore, translate_errors
from wagehood.strategies.registry import available
from wagehood.types import Signal, Snapshot

MAX_RULES = 500
STREAM_MAXLEN = 10_000
STATE_PREFIX = "alert:"


def columns(config: RuntimeConfig) -> list[str]:
    """Return the indicator columns a rule may name under ``config``."""
    from wagehood.engine import merge_specs  # noqa: PLC0415 - engine imports config's peers
    from wagehood.indicators.registry import IndicatorSet  # noqa: PLC0415

    return IndicatorSet(merge_specs(config.indicators, config.strategy_set)).columns


def list_rules(store: RedisStore) -> list[AlertRule]:
    """Return every rule, sorted by name."""
    with translate_errors():
        raw = store.client.hgetall(keys.ALERT_RULES)
    return [AlertRule.from_dict(json.loads(raw[name])) for name in sorted(raw)]


def get_rule(store: RedisStore, name: str) -> AlertRule:
    """Return rule ``name`` or raise ``NotFoundError``."""
    with translate_errors():
        raw = store.client.hget(keys.ALERT_RULES, name)
    if raw is None:
        raise NotFoundError(f"no alert rule named {name!r}")
    return AlertRule.from_dict(json.loads(raw))


def _build(
    store: RedisStore, settings: Settings, data: Mapping[str, Any], base: AlertRule | None
) -> AlertRule:
    config = load_config(store, settings)
    return build_rule(
        data,
        columns=columns(config),
        strategies=available(),  # built-ins and plugins
        timeframes=config.timeframes,
        now=time.time(),
        base=base,
    )


def create_rule(store: RedisStore, settings: Settings, data: Mapping[str, Any]) -> AlertRule:
    """Validate and store a new rule.

    Raises:
        ValidationError: an invalid field or condition (the message names the position).
        ConflictError: a rule of that name exists, or there are ``MAX_RULES`` already.
    """
    rule = _build(store, settings, data, None)
    with translate_errors():
        if store.client.hlen(keys.ALERT_RULES) >= MAX_RULES:
            raise ConflictError(f"at most {MAX_RULES} alert rules")
        if not store.client.hsetnx(keys.ALERT_RULES, rule.name, _encode(rule)):
            raise ConflictError(f"an alert rule named {rule.name!r} exists")
    return rule


def update_rule(
    store: RedisStore, settings: Settings, name: str, data: Mapping[str, Any]
) -> AlertRule:
    """Change some fields of rule ``name`` (pause with ``{"enabled": false}``)."""
    rule = _build(store, settings, data, get_rule(store, name))
    with translate_errors():
        store.client.hset(keys.ALERT_RULES, name, _encode(rule))
    return rule


def delete_rule(store: RedisStore, name: str) -> None:
    """Delete rule ``name`` or raise ``NotFoundError``."""
    with translate_errors():
        removed = store.client.hdel(keys.ALERT_RULES, name)
    if not removed:
        raise NotFoundError(f"no alert rule named {name!r}")


def _encode(rule: AlertRule) -> str:
    return json.dumps(rule.to_dict(), separators=(",", ":"))


@dataclass(frozen=True)
class EvaluationPlan:
    """What one evaluation step needs: the enabled rules, and whether any channel exists."""

    rules: tuple[AlertRule, ...] = ()
    deliver: bool = False


def load_plan(store: RedisStore) -> EvaluationPlan:
    """Return the enabled rules and whether deliveries are wanted, in one round trip."""
    return plan_from(*store.pipeline_reads(PLAN_READS))


# The reads ``load_plan`` makes, for a caller that folds them into its own round trip.
PLAN_READS: tuple[tuple[str, tuple[str]], ...] = (
    ("hgetall", (keys.ALERT_RULES,)),
    ("hlen", (keys.CHANNELS,)),
)


def plan_from(raw: Mapping[str, str], channel_count: int) -> EvaluationPlan:
    """Return the plan from the results of ``PLAN_READS``."""
    rules = (AlertRule.from_dict(json.loads(text)) for text in raw.values())
    return EvaluationPlan(tuple(r for r in rules if r.enabled), int(channel_count) > 0)


def add_to_commit(
    plan: EvaluationPlan,
    commit: Commit,
    state: Mapping[str, str],
    history: Sequence[Snapshot],
    signals: Sequence[Signal],
    *,
    new: int,
    historical: Collection[int] = frozenset(),
) -> list[dict[str, Any]]:
    """Evaluate the rules on the new bars of ``history`` and add their effects to ``commit``.

    ``state`` is the symbol's strategy-state hash as loaded for this step; ``signals`` are
    the strategies' signals on the new bars. Bars whose time is in ``historical`` came from
    provider history (a warm-up or gap fill): rules fire on them as on any bar, so their
    cooldowns equal a replay, but the alerts are stored marked ``historical`` and neither
    published nor delivered. Returns the fired alerts' records.
    """
    if not new:
        return []
    bar = history[-1].bar
    fired = _fire(plan, state, history, signals, new=new)
    state_key = keys.strategy_state(bar.symbol, bar.timeframe)
    for record in fired:
        last = {STATE_PREFIX + str(record["rule"]): str(record["time"])}
        commit.hset.setdefault(state_key, {}).update(last)
        if record["time"] in historical:
            record["historical"] = True
        _append_signal(commit, bar.symbol, record)
    if plan.deliver:
        fresh = [s.to_dict() for s in signals if s.time not in historical]
        _write_outbox(commit, fresh, [r for r in fired if not r.get("historical")])
    return fired


def _fire(
    plan: EvaluationPlan,
    state: Mapping[str, str],
    history: Sequence[Snapshot],
    signals: Sequence[Signal],
    *,
    new: int,
) -> list[dict[str, Any]]:
    bar = history[-1].bar
    rules = [rule for rule in plan.rules if rule.applies_to(bar.symbol, bar.timeframe)]
    if not rules:
        return []
    last = {r.name: _int(state.get(STATE_PREFIX + r.name)) for r in rules}
    fired: list[dict[str, Any]] = []
    for view, previous in views(history, len(history) - new, signals):
        for rule in rules:
            if fires(rule, view, previous, last[rule.name]):
                fired.append(fired_record(rule, view))
                last[rule.name] = view.current.bar.time
    return fired


def _int(text: str | None) -> int | None:
    return int(text) if text else None


def _append_signal(commit: Commit, symbol: str, record: dict[str, Any]) -> None:
    fields = {"data": json.dumps(record, separators=(",", ":"))}
    commit.xadd.append((keys.symbol_signals(symbol), "*", STREAM_MAXLEN, fields))
    commit.xadd.append((keys.SIGNALS, "*", STREAM_MAXLEN, {"symbol": symbol, **fields}))
    if not record.get("historical"):
        commit.updates.append(("signal", symbol, record))


def _write_outbox(
    commit: Commit, signals: Iterable[dict[str, Any]], alerts: Iterable[dict[str, Any]]
) -> None:
    now = time.time()
    outbox = commit.hset.setdefault(keys.OUTBOX, {})
    for kind, records in (("signal", signals), ("alert", alerts)):
        for record in records:
            event = build_event(record, kind, now)
            outbox[event["event_id"]] = json.dumps(event, separators=(",", ":"))


def build_event(record: Mapping[str, Any], kind: str, now: float) -> dict[str, Any]:
    """Return the delivery event of a signal or alert record (its id is stable)."""
    return {
        "event_id": event_id(str(record["id"])),
        "type": kind,
        "created_at": now,
        "signal": dict(record),
    }
