"""Soak (issue 17): the Procfile's processes at 1,000 mock symbols, 1 s, for an hour, under the
WebSocket and REST load of ``test_load``; long mode only (``make test-long``/WAGEHOOD_LONG=1).

Every minute it samples the RSS of every process (each Procfile process with its children:
gunicorn's workers, the worker's supervisor, Celery parent and pool processes) and Redis
``used_memory``; it writes them to ``soak.json`` and ``soak.csv`` in the test's tmp dir and
prints a table (``-s``). After warm-up (minute 10 of 60; 30 % of a shorter run) every process
and Redis must grow less than 5 %, with every history stream at its cap: REDIS_STREAMS_MAXLEN
is 300, below WARMUP_BARS, so the warm-up fills the 1m, 5m and 1h streams to the cap (each
stream then grows up to 255 bars past it until the next checkpoint lets it be trimmed), and
REDIS_SIGNALS_MAXLEN is 100, below the signals a symbol's warm-up gives. Every few seconds it
checks that each WebSocket client's frames equal the updates stream for its symbols (no gap,
no duplicate) and that no symbol went stale.

The clock starts once every symbol is warm (1,000 warm-ups take 10-20 minutes on 2 cores).
WAGEHOOD_SOAK_MINUTES (default 60) and WAGEHOOD_SOAK_SYMBOLS (default 1,000) shorten it.
"""

from __future__ import annotations

import csv
import json
import math
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.ops.system import System, rss_tree_kib
from tests.ops.test_load import CLIENTS, FULL_CLIENTS, REST_THREADS, WsClient, _rest_load
from tests.processes import wait_for
from wagehood.service import auth, monitoring, sync
from wagehood.storage import keys

LONG = bool(os.environ.get("WAGEHOOD_LONG"))
MINUTES = int(os.environ.get("WAGEHOOD_SOAK_MINUTES", "60"))
SYMBOLS = [f"S{i:03d}" for i in range(int(os.environ.get("WAGEHOOD_SOAK_SYMBOLS", "1000")))]
MAXLEN = 300  # <= WARMUP_BARS: the warm-up leaves every bars stream at its cap
SIGNALS_MAXLEN = 100  # the warm-up's signals (about 190 a symbol) fill each symbol's stream
WARM_MINUTE = math.ceil(min(10.0, 0.3 * MINUTES))  # flat from here to the end
GROWTH = 0.05
SAMPLE_EVERY = 60.0
CHECK_EVERY = 5.0  # the updates stream holds 100,000 entries: about a minute at 1,000 symbols
WARMUP_DEADLINE = 3600.0
UPDATES_CAP = 100_000  # the workers' RedisStore keeps the updates stream at this (MAXLEN ~)

Sample = dict[str, Any]


@pytest.mark.slow
@pytest.mark.skipif(not LONG, reason="an hour or more: make test-long (WAGEHOOD_LONG=1)")
@pytest.mark.timeout(WARMUP_DEADLINE + MINUTES * 60 + 900)
def test_soak_memory_stays_flat_and_no_update_is_lost(tmp_path: Path) -> None:
    system = System(
        tmp_path,
        SYMBOLS,
        REDIS_STREAMS_MAXLEN=str(MAXLEN),
        REDIS_SIGNALS_MAXLEN=str(SIGNALS_MAXLEN),
        WARMUP_CONCURRENCY="2",
        # The default, as in production (the ops system's 10 s makes redelivery tests quick):
        # its 4 s soft task limit dead-lettered batches closing the 1h bar at 1,000 symbols on
        # a busy machine, and the tick they carried was lost.
        BROKER_VISIBILITY_TIMEOUT="60",
        RATE_LIMIT_PUBLIC="100000/minute",  # /metrics is polled from one address
        WS_MAX_PER_KEY="64",
        WS_MAX_PER_ADDRESS="64",
    )
    try:
        system.start()
        began = time.monotonic()
        wait_for(lambda: _all_warm(system), WARMUP_DEADLINE, "every symbol's warm-up", 5)
        print(f"soak: {len(SYMBOLS)} symbols warm after {time.monotonic() - began:.0f} s")
        system.wait_fresh(120)
        samples, check, ages, statuses, clients = _run(system)
        _record(tmp_path, samples)
    finally:
        system.stop()

    assert all(not c.errors for c in clients), [c.errors for c in clients if c.errors]
    assert not check.failures, check.failures[:5]
    assert check.frames > len(SYMBOLS) * MINUTES * 60, check.frames  # two clients see all
    assert max(ages) <= monitoring.stale_after(system.settings), max(ages)
    assert set(statuses) == {200}, statuses
    window = [s for s in samples if s["minute"] >= WARM_MINUTE]
    assert len(window) >= 2, [s["minute"] for s in samples]
    assert window[-1]["minute"] == MINUTES, [s["minute"] for s in samples]
    for sample in (window[0], window[-1]):
        # Every history stream at its cap (a short one: its warm-up did not load its history).
        assert sample["bars_below_cap"] == 0, {k: v for k, v in sample.items() if k != "rss_kib"}
        assert sample["updates_len"] >= UPDATES_CAP, sample
    assert not growth_failures(window), growth_failures(window)


def test_growth_check_fails_on_a_slow_leak_and_passes_flat_memory() -> None:
    def window(child: list[int], redis: int = 10**9) -> list[Sample]:
        return [
            {"rss_kib": {"worker": {1: 100_000, 2: kib}}, "redis_used_memory": redis}
            for kib in child
        ]

    noisy = [81_100, 85_700, 86_300, 86_300, 86_400, 85_800]  # a pool child, measured
    leak = [80_000 + 1_000 * minute for minute in range(8)]
    assert not growth_failures(window(noisy))
    assert growth_failures(window(leak)) == ["worker pid 2: 82000 -> 87000 KiB (+6.1%)"]
    assert growth_failures([*window(noisy), *window(noisy[-3:], redis=1_051_000_000)])
    gone = [{"rss_kib": {"worker": {1: 100_000}}, "redis_used_memory": 10**9}]
    assert growth_failures([*window(noisy), *gone]) == ["worker pid 2: gone"]
    assert growth_failures([*window(noisy), {"rss_kib": {}, "redis_used_memory": 10**9}]) == [
        "worker: gone"
    ]


def growth_failures(window: list[Sample], limit: float = GROWTH) -> list[str]:
    """Return what grew by ``limit`` or more over ``window`` (or disappeared by its end).

    The high-water mark of the window's first three samples is compared with that of its
    last three: a Python process's RSS moves by a few MB with each minute's bar closes, and
    one sample taken at a low point would read as growth. Each Procfile process is checked
    as a whole (its children summed) and each of its PIDs alone: a pool child that leaks
    while its siblings shrink is still found.
    """
    edge = max(1, min(3, len(window) // 2))
    head, tail, last = window[:edge], window[-edge:], window[-1]["rss_kib"]
    failures = []
    for name, pids in window[0]["rss_kib"].items():
        if not last.get(name):
            failures.append(f"{name}: gone")
            continue
        total = [
            max(sum(s["rss_kib"].get(name, {}).values()) for s in part) for part in (head, tail)
        ]
        failures += _grew(f"{name} (all processes)", *total, limit)
        for pid in pids:
            if pid not in last[name]:
                failures.append(f"{name} pid {pid}: gone")
                continue
            peaks = [
                max(s["rss_kib"].get(name, {}).get(pid, 0) for s in part) for part in (head, tail)
            ]
            failures += _grew(f"{name} pid {pid}", *peaks, limit)
    used = [max(s["redis_used_memory"] for s in part) for part in (head, tail)]
    return failures + _grew("redis used_memory", *used, limit, "B")


def _grew(what: str, before: int, after: int, limit: float, unit: str = "KiB") -> list[str]:
    if before > 0 and after < before * (1 + limit):
        return []
    return [f"{what}: {before} -> {after} {unit} ({(after - before) / max(before, 1):+.1%})"]


def _all_warm(system: System) -> bool:
    return all(item.warm for item in sync.statuses(system.store, SYMBOLS).values())


def _run(
    system: System,
) -> tuple[list[Sample], UpdateCheck, list[float], Counter[int], list[WsClient]]:
    key = auth.create_key(system.store, "soak", "read", rate_limit="1000000/minute").key
    # A client with no frame for twice the stale age fails (at 1,000 symbols the minute's bar
    # closes can hold a symbol's next update for more than test_load's 5 s on a busy machine).
    timeout = 2 * monitoring.stale_after(system.settings)
    clients = [
        WsClient(f"soak{i}", SYMBOLS if i < FULL_CLIENTS else SYMBOLS[2 * i % 100 :][:2], timeout)
        for i in range(CLIENTS)
    ]
    stop, statuses = threading.Event(), Counter[int]()
    threads = [threading.Thread(target=_follow, args=(c, system, key, stop)) for c in clients]
    threads += [
        threading.Thread(target=_rest_load, args=(system, key, stop, statuses))
        for _ in range(REST_THREADS)
    ]
    for thread in threads:
        thread.start()
    check, ages, samples = UpdateCheck(system, clients), list[float](), list[Sample]()
    start = time.monotonic()
    try:
        while len(samples) <= MINUTES:
            if time.monotonic() >= start + SAMPLE_EVERY * len(samples):
                samples.append(_sample(system, len(samples), start, check))
                print(_row(samples[-1]), flush=True)
            check.check()
            ages.append(_max_age(system))
            time.sleep(CHECK_EVERY)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    check.check()
    return samples, check, ages, statuses, clients


def _follow(client: WsClient, system: System, key: str, stop: threading.Event) -> None:
    # WsClient.run, noting when a client stopped before the end (an error says why).
    client.run(system, key, stop)
    if not stop.is_set():
        client.errors.append(f"ended at {time.strftime('%H:%M:%S')}, before the soak did")


class UpdateCheck:
    """Compares each client's frames with the updates stream, window by window.

    The stream is capped, so the frames are checked (and forgotten) every few seconds: a
    client's frames up to its last one must be exactly the stream's entries for its symbols
    since the previous window.
    """

    def __init__(self, system: System, clients: list[WsClient]) -> None:
        """Check ``clients`` of ``system``, from each one's first frame on."""
        self.system, self.clients = system, clients
        self.next_seq: dict[str, int] = {}
        self.frames = 0
        self.failures: list[str] = []

    def check(self) -> None:
        """Take every client's frames so far and compare them with the stream."""
        taken = {c.name: _take(c.seqs) for c in self.clients}
        spans = {
            name: (self.next_seq.get(name, got[0]), got[-1]) for name, got in taken.items() if got
        }
        if not spans:
            return
        low, high = min(lo for lo, _ in spans.values()), max(hi for _, hi in spans.values())
        entries = self.system.store.stream_range(keys.UPDATES, keys.seq_id(low), keys.seq_id(high))
        rows = [(int(i.split("-")[0]), f.get("symbol")) for i, f in entries]
        if not rows or rows[0][0] > low:
            self.failures.append(f"the updates stream was trimmed past seq {low} before a check")
        for client in self.clients:
            if client.name in spans:
                self._compare(client, taken[client.name], spans[client.name], rows)

    def _compare(
        self,
        client: WsClient,
        got: list[int],
        span: tuple[int, int],
        rows: list[tuple[int, str | None]],
    ) -> None:
        wanted = set(client.symbols)
        expected = [seq for seq, symbol in rows if span[0] <= seq <= span[1] and symbol in wanted]
        if got != expected:
            missing = sorted(set(expected) - set(got))
            extra = len(got) - len(set(got)) + len(set(got) - set(expected))
            self.failures.append(
                f"{client.name}: seq {span[0]}-{span[1]}: {len(missing)} missing"
                f" (first {missing[:3]}), {extra} duplicate or unexpected"
            )
        self.frames += len(got)
        self.next_seq[client.name] = span[1] + 1


def _take(seqs: list[int]) -> list[int]:
    # The client thread appends meanwhile: copy and delete the same prefix (each step atomic).
    count = len(seqs)
    got = seqs[:count]
    del seqs[:count]
    return got


def _max_age(system: System) -> float:
    now = time.time()
    times = system.store.pipeline_reads([("hget", (keys.live(s), "time")) for s in SYMBOLS])
    return max(now - float(t) if t is not None else math.inf for t in times)


def _sample(system: System, minute: int, start: float, check: UpdateCheck) -> Sample:
    client = system.store.client
    streams = [keys.bars(s, tf) for s in SYMBOLS for tf in system.settings.timeframes]
    lengths = system.store.pipeline_reads([("xlen", (name,)) for name in streams])
    signals = system.store.pipeline_reads([("xlen", (keys.symbol_signals(s),)) for s in SYMBOLS])
    memory = client.info("memory")
    return {
        "minute": minute,
        "elapsed_s": round(time.monotonic() - start, 1),
        "rss_kib": {name: rss_tree_kib(proc.pid) for name, proc in system.procs.items()},
        "redis_used_memory": int(memory["used_memory"]),
        "redis_rss": int(memory["used_memory_rss"]),
        "redis_keys": int(client.dbsize()),
        "bars_below_cap": sum(1 for n in lengths if n < MAXLEN),
        "bars_len_min": min(lengths),
        "bars_len_max": max(lengths),
        "signals_below_cap": sum(1 for n in signals if n < SIGNALS_MAXLEN),
        "updates_len": int(client.xlen(keys.UPDATES)),
        "max_symbol_age_s": round(_max_age(system), 2),
        "queued": int(client.llen("celery")),
        "ticks_missed": int(client.hget(keys.STATS, "ticks_missed") or 0),
        "ws_frames_checked": check.frames,
        "ws_clients_failed": sum(1 for c in check.clients if c.errors),
        "update_check_failures": len(check.failures),
    }


def _row(sample: Sample) -> str:
    rss = "  ".join(
        f"{name} {sum(pids.values()) / 1024:7.1f}" for name, pids in sample["rss_kib"].items()
    )
    return (
        f"min {sample['minute']:3d}  RSS MiB: {rss}  redis {sample['redis_used_memory'] / 2**20:7.1f}"
        f"  bars {sample['bars_len_min']}-{sample['bars_len_max']}"
        f"  signals below cap {sample['signals_below_cap']}  updates {sample['updates_len']}"
        f"  age {sample['max_symbol_age_s']:5.1f} s  frames {sample['ws_frames_checked']}"
        f"  lost {sample['update_check_failures']}  ws failed {sample['ws_clients_failed']}"
        f"  queued {sample['queued']}"
        f"  ticks missed {sample['ticks_missed']}"
    )


def _record(directory: Path, samples: list[Sample]) -> None:
    (directory / "soak.json").write_text(json.dumps(samples, indent=1))
    with (directory / "soak.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["minute", "process", "pid", "rss_kib", "redis_used_memory"])
        for sample in samples:
            for name, pids in sample["rss_kib"].items():
                for pid, kib in pids.items():
                    writer.writerow([sample["minute"], name, pid, kib, sample["redis_used_memory"]])
    print(f"soak: samples in {directory / 'soak.json'} and {directory / 'soak.csv'}")
