"""``wagehood replay`` on real daily and hourly files, against TA-Lib, and on bad input."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import talib
from click.testing import CliRunner

from cli.main import cli

DATA = Path(__file__).resolve().parent.parent / "data"
COLUMNS = "time,open,high,low,close,volume,sma_20,sma_50,ema_12,ema_26,rsi_14,macd,macd_signal,macd_hist,bb_upper,bb_middle,bb_lower,atr_14"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def column(rows: list[dict[str, str]], name: str) -> np.ndarray:
    return np.array([float(r[name]) if r[name] else np.nan for r in rows])


def assert_close(ours: np.ndarray, reference: np.ndarray, level: float) -> None:
    assert np.array_equal(np.isnan(ours), np.isnan(reference))
    finite = ~np.isnan(reference)
    assert np.all(
        np.abs(ours[finite] - reference[finite])
        <= 1e-9 * np.maximum(np.abs(reference[finite]), level)
    )


def test_daily_file_prints_every_row_with_talib_values() -> None:
    code, out, _ = run("replay", str(DATA / "GOOG.csv"))
    assert code == 0
    assert out.splitlines()[0] == COLUMNS
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 2148
    assert rows[0]["time"] == "2004-08-19T00:00:00Z"
    close = column(rows, "close")
    high, low = column(rows, "high"), column(rows, "low")
    level = float(np.median(close))
    assert_close(column(rows, "sma_20"), talib.SMA(close, 20), level)
    assert_close(column(rows, "ema_26"), talib.EMA(close, 26), level)
    assert_close(column(rows, "rsi_14"), talib.RSI(close, 14), level)
    macd, _signal, hist = talib.MACD(close, 12, 26, 9)
    assert_close(column(rows, "macd"), macd, level)
    assert_close(column(rows, "macd_hist"), hist, level)
    _upper, _middle, lower = talib.BBANDS(close, 20, 2.0, 2.0, 0)
    assert_close(column(rows, "bb_lower"), lower, level)
    assert_close(column(rows, "atr_14"), talib.ATR(high, low, close, 14), level)
    assert rows[0]["sma_20"] == ""
    assert rows[19]["sma_20"] != ""


def test_hourly_file_with_weekend_gaps_keeps_every_row() -> None:
    code, out, _ = run("replay", str(DATA / "EURUSD.csv"), "--symbol", "EURUSD", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == 5000
    assert rows[-1]["macd"] is not None


def test_signals_come_from_the_strategies() -> None:
    code, out, _ = run("replay", str(DATA / "GOOG.csv"), "--signals")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["strategy"] for r in rows} >= {"macd_rsi", "rsi_trend"}
    assert all(
        r["signal_type"] in {"BUY", "SELL"} and 0 <= float(r["confidence"]) <= 1 for r in rows
    )


def test_malformed_file_is_one_line_naming_file_and_line_with_exit_6() -> None:
    code, out, err = run("replay", str(DATA / "malformed.csv"))
    assert code == 6
    assert out == ""
    assert err.strip().splitlines() == [
        "Error: " + str(DATA / "malformed.csv") + ":3: close 'abc' is not a number"
    ]


def test_yahoo_export_with_adj_close_is_read(tmp_path: Path) -> None:
    path = tmp_path / "msft.csv"
    path.write_text(
        "Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,10,11,9,10.5,10.4,100\n2024-01-03,10.5,12,10,11.5,11.4,200.5\n"
    )
    code, out, _ = run("replay", str(path))
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["close"] for r in rows] == ["10.5", "11.5"]
    assert rows[1]["volume"] == "200.5"
