"""Pipeline capacity: the largest watchlist kept fresh at a 1 s interval, and its latency.

Each step starts a fresh deployment (our own redis-server on a free port, the Procfile's
``worker`` and ``beat`` lines, and ``web`` where WebSocket latency is measured), watches N mock
symbols for a bounded time and samples: symbol updates applied per second, the broker queue
length, every symbol's freshness (age of its last applied quote), tick-to-state latency (the
pipeline's own samples, wh:stats:latency) and worker CPU. A step is *sustained* when at least
95% of the symbol-ticks were applied, the queue did not grow, and the p99 freshness is under
2.5 intervals. The baseline in the same run is the same deployment running ``bench.bare``: the
pipeline's shape with empty task bodies, batched the same way.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Sequence
from typing import Any

import websocket
from celery import Celery

from bench.cluster import Cluster, cpu_seconds, rss_bytes
from bench.seed import warm_copies
from wagehood.service import auth, watchlist
from wagehood.settings import Settings
from wagehood.storage import keys
from wagehood.storage.redis_store import RedisStore

BATCH = Settings().batch_calculation_size
QUEUE = "celery"
PROBE_SYMBOLS = 100  # symbols the WebSocket probe subscribes to (every n/100th)
WARM_BY_SECOND = 35  # warm copies start at most this far into a minute (ticks must follow)


def symbols(n: int) -> list[str]:
    """Return ``n`` distinct bench symbols."""
    return [f"B{i:05d}" for i in range(n)]


def percentile(values: Sequence[float], q: float) -> float | None:
    """Return the ``q`` quantile (nearest rank) of ``values``, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _window(seconds: float, align_minute: bool) -> tuple[float, float]:
    # A window that contains a minute boundary includes the heaviest moment: every symbol's
    # 1m bar closing at once (indicators, strategies, stream appends).
    start = time.time() + 4.0
    end = start + seconds
    if align_minute:
        boundary = math.ceil(start / 60.0) * 60.0
        end = max(end, boundary + 8.0)
    return start, end


def _sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


class Sampler:
    """Once a second: queue length, counters and CPU of the worker trees."""

    def __init__(self, c: Cluster, counter: tuple[str, str], workers: list[Any]) -> None:
        self.c, self.counter, self.workers = c, counter, workers
        self.rows: list[tuple[float, int, int, float]] = []

    def sample(self) -> None:
        """Record one row (time, queue length, applied count, worker CPU seconds)."""
        key, field = self.counter
        raw = self.c.client.hget(key, field) if field else self.c.client.get(key)
        pids = [pid for w in self.workers for pid in w.tree()]
        self.rows.append((time.time(), self.c.client.llen(QUEUE), int(raw or 0), cpu_seconds(pids)))

    def run_until(self, end: float) -> None:
        """Sample every second until ``end``."""
        while time.time() < end:
            self.sample()
            time.sleep(max(0.0, 1.0 - (time.time() % 1.0)))
        self.sample()

    def summary(self, n: int, interval: float = 1.0) -> dict[str, Any]:
        """Return rates, CPU per symbol-tick and the queue trend over the window."""
        (t0, _, a0, c0), (t1, _, a1, c1) = self.rows[0], self.rows[-1]
        elapsed = t1 - t0
        applied = a1 - a0
        queue = [row[1] for row in self.rows]
        third = max(1, len(queue) // 3)
        return {
            "seconds": round(elapsed, 1),
            "symbol_ticks_expected": round(n * elapsed / interval),
            "symbol_ticks_applied": applied,
            # Sampling at whole seconds while ticks land at beat's own phase: up to one
            # tick more or less falls inside the window, so allow that edge.
            "applied_ratio": applied / (n * max(1.0, elapsed / interval - 1.0)),
            "queue_first_third": sum(queue[:third]) / third,
            "queue_last_third": sum(queue[-third:]) / third,
            "queue_max": max(queue),
            "worker_cpu_s": c1 - c0,
            "worker_cpu_us_per_symbol_tick": (c1 - c0) / applied * 1e6 if applied else None,
            "worker_cpu_share": (c1 - c0) / elapsed,
        }


def _latencies(c: Cluster, key: str, since: float) -> list[float]:
    raw = c.client.lrange(key, 0, -1)
    values = []
    for item in raw:
        stamp, _, value = item.rpartition(":")
        if not stamp or float(stamp) >= since:
            values.append(float(value))
    return values


def _freshness(c: Cluster, names: list[str]) -> list[float]:
    pipe = c.client.pipeline(transaction=False)
    for name in names:
        pipe.hget(keys.live(name), "updated_at")
    now = time.time()
    return [now - float(v) if v else math.inf for v in pipe.execute()]


class TickClock:
    """Follow beat's heartbeat to map a quote's whole second back to its exact tick time."""

    def __init__(self, c: Cluster) -> None:
        self.c = c
        self.ticks: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            raw = self.c.client.get(keys.BEAT_HEARTBEAT)
            if raw:
                tick = float(raw)
                self.ticks.setdefault(math.floor(tick), tick)
            time.sleep(0.02)


class WsProbe:
    """One WebSocket client subscribed to every symbol; arrival minus tick per bar frame."""

    def __init__(self, port: int, key: str, names: list[str], clock: TickClock) -> None:
        url = f"ws://127.0.0.1:{port}/api/v1/realtime/ws/bench-probe"
        header = [f"Authorization: Bearer {key}"]  # an API key: never in the query string
        self.ws = websocket.create_connection(url, timeout=10, header=header)
        self.ws.send(json.dumps({"action": "subscribe", "symbols": names}))
        self.clock = clock
        self.arrivals: list[tuple[float, float]] = []  # (arrival, quote second)
        self.measuring = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                raw = self.ws.recv()
            except (websocket.WebSocketException, OSError):
                return
            arrival = time.time()
            if not raw:
                return  # a close frame
            frame = json.loads(raw)
            if self.measuring and frame.get("type") == "bar":
                self.arrivals.append((arrival, frame["data"]["time"]))

    def latencies_ms(self) -> list[float]:
        """Return tick-to-WebSocket latencies of the bar frames received while measuring."""
        ticks = self.clock.ticks
        return [(a - ticks[int(s)]) * 1000 for a, s in self.arrivals if int(s) in ticks]

    def close(self) -> None:
        """Close the socket (ends the reader thread)."""
        self.ws.close()


def run_ours(
    n: int, seconds: float, *, workers: int = 1, web: bool = False, align: bool = False
) -> dict[str, Any]:
    """Run the real pipeline on ``n`` symbols; return its measurements."""
    with Cluster() as c:
        store = RedisStore.from_url(c.url)
        names = symbols(n)
        nodes = [c.start("worker") for _ in range(workers)]
        c.wait_workers(workers)
        probe = clock = None
        if web:
            key = auth.create_key(store, "bench", "read", "1000000/minute").key
            c.start("web")
            _wait_http(c.api_port)
        # Every symbol starts warm, as in a running system: no warm-up runs in the window,
        # and every close applies, evaluates and commits (a warming symbol's closes are
        # left to its history). Ticks must start in the minute the history ends in.
        if time.time() % 60 > WARM_BY_SECOND:
            _sleep_until(math.ceil(time.time() / 60) * 60 + 0.5)
        warm_copies(c.url, names)
        watchlist.replace_all(store, [(s, "mock") for s in names])
        if web:
            clock = TickClock(c)
            # A sample of the symbols: the client shares the 2 cores, and parsing every
            # symbol's frames took it twice the web process's CPU at 1,000 symbols.
            probe = WsProbe(c.api_port, key, names[:: max(1, n // PROBE_SYMBOLS)], clock)
        c.start("beat")
        start, end = _window(seconds, align)
        _sleep_until(start)
        c.client.delete(keys.LATENCY)
        sampler = Sampler(c, (keys.STATS, "quotes"), nodes)
        if probe:
            probe.measuring = True
        sampler.run_until(end)
        fresh = _freshness(c, names)
        latencies = _latencies(c, keys.LATENCY, start)
        result = sampler.summary(n)
        ws = probe.latencies_ms() if probe else []
        result.update(
            symbols=n,
            workers=workers,
            tick_to_state_ms=_quantiles(latencies),
            tick_to_ws_ms=_quantiles(ws) if probe else None,
            freshness_s=_quantiles(fresh),
            worker_rss_bytes=rss_bytes([p for w in nodes for p in w.tree()]),
            web_rss_bytes=rss_bytes(c.procs[len(nodes)].tree()) if web else None,
            redis_used_memory=int(c.client.info("memory")["used_memory"]),
        )
        if probe and clock:
            probe.close()
            clock.stop.set()
        result["sustained"] = sustained(result)
        return result


def run_bare(n: int, seconds: float, batch: int = BATCH, *, align: bool = False) -> dict[str, Any]:
    """Run the empty-bodied chain on ``n`` symbols in batches of ``batch``; measure it."""
    with Cluster() as c:
        line = c.start("worker").command.replace("-A workers.app", "-A bench.bare")
        c.stop_all()
        node = c.start("bare-worker", line)
        c.wait_workers(1)
        sender = Celery("bench-sender", broker=c.url)
        stop = threading.Event()

        def beat() -> None:
            # Stands in for celery beat: one dispatch a second, expiring after one interval.
            next_at = time.time()
            while not stop.is_set():
                sender.send_task("bench.bare.dispatch", args=[n, batch], expires=1.0)
                next_at += 1.0
                time.sleep(max(0.0, next_at - time.time()))

        thread = threading.Thread(target=beat, daemon=True)
        thread.start()
        start, end = _window(seconds, align)
        _sleep_until(start)
        sampler = Sampler(c, ("bench:bare:done", ""), [node])
        sampler.run_until(end)
        stop.set()
        thread.join(timeout=5)
        sender.close()
        result = sampler.summary(n)
        latencies = [float(v) for v in c.client.lrange("bench:bare:latency", 0, -1)]
        result.update(symbols=n, batch=batch, tick_to_done_ms=_quantiles(latencies))
        result["sustained"] = sustained(result)
        return result


def sustained(result: dict[str, Any]) -> bool:
    """Return whether a step kept up: >= 95% applied, no queue growth, fresh symbols."""
    fresh = result.get("freshness_s") or {"p99": 0.0}
    growing = result["queue_last_third"] > result["queue_first_third"] + 5
    return bool(
        result["applied_ratio"] >= 0.95
        and not growing
        and (fresh["p99"] is not None and fresh["p99"] <= 2.5)
    )


def _quantiles(values: Sequence[float]) -> dict[str, Any]:
    return {
        "p50": percentile(values, 0.5),
        "p99": percentile(values, 0.99),
        "max": max(values) if values else None,
        "samples": len(values),
    }


def _wait_http(port: int, timeout: float = 30.0) -> None:
    import urllib.request  # noqa: PLC0415

    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/api/v1/realtime/monitor/liveness"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"web did not answer on port {port}")


RAMP = (250, 500, 1000, 1500, 2000, 3000, 4000, 5000)
# From 1,000 symbols on every batch is full (BATCH), so the bare chain's cost per symbol-tick
# no longer changes with the watchlist.
BARE_SIZES = (100, 250, 500, 1000)
LAST_STEPS: list[dict[str, Any]] = []  # this process's steps, reused by the footprint scenario


def run(quick: bool) -> dict[str, Any]:
    """Latency at 100 symbols, then ramp the watchlist until a step is not sustained."""
    window = 6.0 if quick else 20.0
    ramp = () if quick else RAMP
    steps = [run_ours(100, window, web=True, align=not quick)]
    for n in ramp:
        steps.append(run_ours(n, window, web=True, align=not quick and n in (1000, 2000)))
        if not steps[-1]["sustained"]:
            break
    LAST_STEPS[:] = steps
    # The pipeline's own latency at 1,000 symbols, without the web process and its WebSocket
    # client taking their share of the same 2 cores.
    alone = None if quick else run_ours(1000, window, web=False, align=True)
    # Below 1,000 symbols a tick's batches are not full, so Celery's cost per chain is spread
    # over fewer symbols: compare each step with the bare chain at its own batch size.
    # The 1,000-symbol floor is measured over a minute boundary too, as the steps it is
    # compared with are (the bare chain has no bars: the boundary costs it nothing extra).
    sizes = (100,) if quick else BARE_SIZES
    bare = {n: run_bare(n, window, align=not quick and n == 1000) for n in sizes}
    naive = None if quick else run_bare(250, window, batch=1)
    rows = [_row(step, _floor(bare, step["symbols"])) for step in steps]
    if alone:
        rows.append(_row(alone, _floor(bare, 1000), "wagehood pipeline, no web process"))
    rows += [_bare_row(b, f"bare chain, empty bodies, {BATCH}/batch") for b in bare.values()]
    if naive:
        rows.append(_bare_row(naive, "bare chain, empty bodies, 1 symbol/chain"))
    best = max((s["symbols"] for s in steps if s["sustained"]), default=0)
    under_100 = max(
        (
            s["symbols"]
            for s in steps
            if s["sustained"] and (s["tick_to_state_ms"]["p99"] or 1e9) < 100
        ),
        default=0,
    )
    at100 = steps[0]
    return {
        "title": "Pipeline: symbols sustained at a 1 s interval, latency, cost vs a bare chain",
        "settings": {
            "processes": "Procfile web + worker (prefork, CALCULATION_WORKERS=2) + beat",
            "provider": "mock",
            "interval_s": 1,
            "batch": BATCH,
            "window_s": window,
            "timeframes": ",".join(tf.value for tf in Settings().timeframes),
            "sustained": ">=95% of symbol-ticks applied, no queue growth, p99 freshness <= 2.5 s",
        },
        "columns": [
            "run",
            "symbols",
            "sustained",
            "applied %",
            "queue max",
            "fresh p99 s",
            "tick->state p50 ms",
            "tick->state p99 ms",
            "tick->WS p50 ms",
            "tick->WS p99 ms",
            "worker CPU us/symbol-tick",
            "x bare chain",
        ],
        "rows": rows,
        "steps": steps,
        "alone": alone,
        "bare": {str(k): v for k, v in bare.items()} | {"per_symbol_250": naive},
        "notes": [
            f"Largest watchlist sustained at 1 s: {best} symbols"
            + (" (quick run: only 100 tried)" if quick else "")
            + f"; at 100 symbols tick->state p50 {_ms(at100['tick_to_state_ms']['p50'])}"
            f" / p99 {_ms(at100['tick_to_state_ms']['p99'])} ms, tick->WebSocket p50 "
            f"{_ms(at100['tick_to_ws_ms']['p50'])} / p99 {_ms(at100['tick_to_ws_ms']['p99'])} ms; "
            f"largest step with tick->state p99 under 100 ms: {under_100} symbols.",
            "x bare chain = our worker CPU per symbol-tick / the bare chain's (empty task "
            "bodies, same broker, same batching, same worker line) at the same watchlist size "
            "(from 1,000 symbols on, batches are full and the bare chain's 1,000-symbol run "
            "is the floor).",
            *_versus_bare(steps, alone, bare),
            "Every step starts warm, as a running system is: one symbol is warmed from the "
            "mock's history (warmup.warm, WARMUP_BARS of each timeframe) and its state copied "
            "to every other symbol (bench/seed.py warm_copies), so no warm-up runs in the "
            "window and every 1m close applies, evaluates and commits. Runs before 2026-11-26 "
            "started cold: warm-ups shared the worker with the ticks throughout the window "
            "and warming symbols skipped their closes.",
            "tick->state: beat's tick to the end of compute_indicators, which applies the "
            "quotes, closes bars and evaluates their strategies (the pipeline's own "
            "samples); tick->WS: beat's tick to a bar frame's arrival at a WebSocket client "
            f"subscribed to {PROBE_SYMBOLS} of the symbols, evenly spread (before 2026-11-26 "
            "to every symbol, up to 1,000: at 1,000 symbols that client used 11 % of a core "
            "of the same 2, twice the web process's 5 %). Windows of the full run that include a minute "
            "boundary contain every symbol's 1m bar closing at once: those of the 1,000 and "
            "2,000-symbol steps and of the no-web run; the other steps' windows hold plain "
            "ticks only.",
        ],
    }


def _versus_bare(
    steps: list[dict[str, Any]], alone: dict[str, Any] | None, bare: dict[int, dict[str, Any]]
) -> list[str]:
    # The latency target: tick->state p99 at 1,000 symbols against the bare chain's p99 at
    # 1,000 in the same run, every window over a minute boundary.
    floor = bare.get(1000)
    if floor is None:
        return []
    bare_p99 = floor["tick_to_done_ms"]["p99"]
    runs = [(s, "with web") for s in steps if s["symbols"] == 1000]
    runs += [(alone, "no web")] if alone else []
    parts = []
    for step, name in runs:
        p99 = step["tick_to_state_ms"]["p99"]
        ratio = f" = {p99 / bare_p99:.2f}x" if p99 and bare_p99 else ""
        parts.append(f"{_ms(p99)} ms ({name}){ratio}")
    return [
        f"At 1,000 symbols tick->state p99: {'; '.join(parts)} the bare chain's p99 of "
        f"{_ms(bare_p99)} ms at 1,000 symbols in this run."
    ]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _row(step: dict[str, Any], bare: dict[str, Any], name: str = "wagehood pipeline") -> list[Any]:
    ws = step["tick_to_ws_ms"] or {}
    cost = step["worker_cpu_us_per_symbol_tick"]
    floor = bare["worker_cpu_us_per_symbol_tick"]
    return [
        name,
        step["symbols"],
        "yes" if step["sustained"] else "NO",
        100 * step["applied_ratio"],
        step["queue_max"],
        step["freshness_s"]["p99"],
        step["tick_to_state_ms"]["p50"],
        step["tick_to_state_ms"]["p99"],
        _or_dash(ws.get("p50")),
        _or_dash(ws.get("p99")),
        cost,
        cost / floor if cost and floor else None,
    ]


def _floor(bare: dict[int, dict[str, Any]], n: int) -> dict[str, Any]:
    # The bare run at the largest size not above n (the same batch size from 1,000 on).
    return bare[max((size for size in bare if size <= n), default=min(bare))]


def _or_dash(value: float | None) -> float | str:
    return "-" if value is None else value


def _bare_row(bare: dict[str, Any], name: str) -> list[Any]:
    done = bare["tick_to_done_ms"]
    return [
        name,
        bare["symbols"],
        "yes" if bare["sustained"] else "NO",
        100 * bare["applied_ratio"],
        bare["queue_max"],
        "-",
        done["p50"],
        done["p99"],
        "-",
        "-",
        bare["worker_cpu_us_per_symbol_tick"],
        1.0,
    ]
