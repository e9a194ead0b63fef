"""The talipp equivalent of `wagehood replay`: the same CSV in, the same columns out.

Used only by bench/replay.py as the baseline for the end-to-end replay comparison.
"""

from __future__ import annotations

import csv
import sys
from datetime import UTC, datetime

from talipp.indicators import ATR, BB, EMA, MACD, RSI, SMA
from talipp.ohlcv import OHLCV

HEADER = "time,open,high,low,close,volume,sma_20,sma_50,ema_12,ema_26,rsi_14,macd,macd_signal,macd_hist,bb_upper,bb_middle,bb_lower,atr_14"


def cell(value: float | None) -> str:
    return "" if value is None else repr(value)


def main(path: str) -> None:
    rows = csv.reader(open(path, newline=""))  # noqa: SIM115 - read to the end of the script
    next(rows)
    on_close = [SMA(20), SMA(50), EMA(12), EMA(26), RSI(14)]
    macd, bands, atr = MACD(12, 26, 9), BB(20, 2.0), ATR(14)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(HEADER.split(","))
    for row in rows:
        t = int(row[0])
        o, h, low, c, v = (float(x) for x in row[1:6])
        for indicator in (*on_close, macd, bands):
            indicator.add(c)
        atr.add(OHLCV(o, h, low, c, v))
        m, b = macd[-1], bands[-1]
        out.writerow(
            [
                datetime.fromtimestamp(t, tz=UTC).isoformat().replace("+00:00", "Z"),
                o,
                h,
                low,
                c,
                v,
                *(cell(i[-1]) for i in on_close),
                cell(m.macd if m else None),
                cell(m.signal if m else None),
                cell(m.histogram if m else None),
                cell(b.ub if b else None),
                cell(b.cb if b else None),
                cell(b.lb if b else None),
                cell(atr[-1]),
            ]
        )


if __name__ == "__main__":
    main(sys.argv[1])
