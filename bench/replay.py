"""End to end: `wagehood replay` vs the equivalent talipp script on the same 200k-bar CSV."""

from __future__ import annotations

import math
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().parent / "scripts" / "talipp_replay.py"
REPEATS = 3


def write_csv(path: Path, n: int, seed: int = 11) -> None:
    """Write ``n`` hourly OHLCV rows of a random walk (epoch-second times)."""
    rng = random.Random(seed)
    price, start = 300.0, 1_500_000_000
    with path.open("w") as out:
        out.write("Date,Open,High,Low,Close,Volume\n")
        for i in range(n):
            opened = price
            price = min(800.0, max(100.0, price * math.exp(rng.gauss(0.0, 0.01))))
            high, low = max(opened, price) * 1.002, min(opened, price) * 0.998
            out.write(
                f"{start + 3600 * i},{opened:.4f},{high:.4f},{low:.4f},{price:.4f},{rng.randint(100, 99999)}\n"
            )


def timed(args: list[str], output: Path) -> float:
    """Return the wall time of running ``args`` with stdout to ``output``."""
    started = time.perf_counter()
    with output.open("w") as out:
        subprocess.run(args, stdout=out, check=True)
    return time.perf_counter() - started


def run(quick: bool) -> dict[str, Any]:
    """Time both end to end (process start, CSV in, CSV out), best of interleaved repeats."""
    n = 50_000 if quick else 200_000
    wagehood = [sys.executable, "-m", "cli", "replay"]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "BENCH.csv"
        write_csv(data, n)
        ours = baseline = float("inf")
        for _ in range(REPEATS):
            ours = min(
                ours, timed([*wagehood, str(data), "--timeframe", "1h"], Path(tmp) / "ours.csv")
            )
            baseline = min(
                baseline, timed([sys.executable, str(SCRIPT), str(data)], Path(tmp) / "talipp.csv")
            )
        same_rows = _lines(Path(tmp) / "ours.csv") == _lines(Path(tmp) / "talipp.csv")
    return {
        "title": "Replay: `wagehood replay` vs an equivalent talipp script, end to end",
        "settings": {"bars": n, "repeats": f"best of {REPEATS}, interleaved", "timeframe": "1h"},
        "columns": ["program", "bars", "seconds", "us/bar", "x wagehood"],
        "rows": [
            ["wagehood replay", n, ours, ours / n * 1e6, 1.0],
            [
                "talipp script (bench/scripts/talipp_replay.py)",
                n,
                baseline,
                baseline / n * 1e6,
                baseline / ours,
            ],
        ],
        "notes": [
            "Both read the same CSV and write time, OHLCV and the default indicator columns.",
            f"Same number of output rows: {same_rows} (values differ where talipp's EMA/RSI seeding differs from TA-Lib's).",
        ],
    }


def _lines(path: Path) -> int:
    with path.open() as handle:
        return sum(1 for _ in handle)
