"""The csv provider replays real files on a scaled clock."""

from __future__ import annotations

import itertools
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wagehood.csvio import Row, read_rows
from wagehood.errors import ConfigError
from wagehood.providers.base import BarSource, QuoteSource
from wagehood.providers.csv import CsvProvider
from wagehood.types import Timeframe

DATA = Path(__file__).parent.parent / "data"
ORIGIN = 1_000_000.0
DAY_AT_60X = 86400 / 60  # wall seconds per data day at speed 60


def epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.fixture
def replay_dir(tmp_path: Path) -> Path:
    for name in ("GOOG.csv", "EURUSD.csv"):
        shutil.copy(DATA / name, tmp_path / name)
    shutil.copy(DATA / "yahoo" / "AAPL.csv", tmp_path / "aapl.csv")
    (tmp_path / "BROKEN.csv").write_text("Date,Open,High,Low,Close,Volume\n2024-01-02,1,1,1,x,1\n")
    (tmp_path / "not a symbol.csv").write_text("ignored")
    return tmp_path


def test_csv_provider_satisfies_the_port(replay_dir: Path) -> None:
    assert isinstance(CsvProvider(replay_dir, 60, ORIGIN), QuoteSource)


def test_at_the_origin_each_file_is_at_its_first_bar(replay_dir: Path) -> None:
    result = CsvProvider(replay_dir, 60, ORIGIN).get_quotes(["GOOG", "EURUSD"], ORIGIN)

    goog, eurusd = result.quotes
    assert (goog.time, goog.price, goog.volume) == (epoch("2004-08-19"), 100.34, 22351900)
    assert (eurusd.time, eurusd.price) == (epoch("2017-04-19 09:00:00"), 1.07219)


def test_data_clock_runs_speed_times_faster(replay_dir: Path) -> None:
    provider = CsvProvider(replay_dir, 60, ORIGIN)

    before = provider.get_quotes(["GOOG"], ORIGIN + DAY_AT_60X - 0.1).quotes[0]
    after = provider.get_quotes(["GOOG"], ORIGIN + DAY_AT_60X).quotes[0]

    assert before.time == epoch("2004-08-19")
    assert (after.time, after.price) == (epoch("2004-08-20"), 108.31)


def test_weekend_data_time_quotes_fridays_bar(replay_dir: Path) -> None:
    saturday_noon = 2.5 * DAY_AT_60X  # Thursday 2004-08-19 + 2.5 days

    quote = (
        CsvProvider(replay_dir, 60, ORIGIN).get_quotes(["GOOG"], ORIGIN + saturday_noon).quotes[0]
    )

    assert quote.time == epoch("2004-08-20")


def test_hourly_file_at_one_hour_per_second(replay_dir: Path) -> None:
    provider = CsvProvider(replay_dir, 3600, ORIGIN)

    quotes = [provider.get_quotes(["EURUSD"], ORIGIN + s).quotes[0] for s in range(3)]

    assert [q.time for q in quotes] == [epoch(f"2017-04-19 {h:02d}:00:00") for h in (9, 10, 11)]
    assert [q.volume for q in quotes] == [1413, 1241, quotes[2].volume]


def test_bar_volume_is_reported_once(replay_dir: Path) -> None:
    provider = CsvProvider(replay_dir, 60, ORIGIN)

    first = provider.get_quotes(["GOOG"], ORIGIN + 1).quotes[0]
    again = provider.get_quotes(["GOOG"], ORIGIN + 2).quotes[0]

    assert (first.volume, again.volume) == (22351900, 0)
    assert first.price == again.price


def test_skipped_bars_volumes_are_added(replay_dir: Path) -> None:
    provider = CsvProvider(replay_dir, 60, ORIGIN)
    provider.get_quotes(["GOOG"], ORIGIN)  # 2004-08-19

    jumped = provider.get_quotes(["GOOG"], ORIGIN + 6 * DAY_AT_60X).quotes[0]

    assert jumped.time == epoch("2004-08-25")
    assert jumped.volume == 11428600 + 9137200 + 7631300 + 4598900  # 20th, 23rd, 24th, 25th


def test_after_the_last_bar_the_feed_stays_on_it(replay_dir: Path) -> None:
    quote = CsvProvider(replay_dir, 60, ORIGIN).get_quotes(["GOOG"], ORIGIN + 10**9).quotes[0]

    assert (quote.time, quote.price) == (epoch("2013-03-01"), 806.19)


def test_file_names_match_case_insensitively(replay_dir: Path) -> None:
    quote = CsvProvider(replay_dir, 60, ORIGIN).get_quotes(["aapl"], ORIGIN).quotes[0]

    assert (quote.symbol, quote.price) == ("AAPL", 185.64)


def test_missing_broken_and_invalid_symbols_fail_with_reasons(replay_dir: Path) -> None:
    result = CsvProvider(replay_dir, 60, ORIGIN).get_quotes(
        ["GOOG", "MSFT", "BROKEN", "a b"], ORIGIN
    )

    assert [q.symbol for q in result.quotes] == ["GOOG"]
    assert result.failed["MSFT"] == f"csv: MSFT: no file MSFT.csv in {replay_dir}"
    assert result.failed["BROKEN"].endswith("BROKEN.csv:2: close 'x' is not a number")
    assert "invalid symbol" in result.failed["a b"]


def test_a_file_added_later_is_found(replay_dir: Path) -> None:
    provider = CsvProvider(replay_dir, 60, ORIGIN)
    assert "BTCUSD" in provider.get_quotes(["BTCUSD"], ORIGIN).failed

    shutil.copy(DATA / "BTCUSD.csv", replay_dir / "BTCUSD.csv")

    assert provider.get_quotes(["BTCUSD"], ORIGIN).quotes[0].price == 5.55


def test_before_the_origin_nothing_is_quoted(replay_dir: Path) -> None:
    result = CsvProvider(replay_dir, 60, ORIGIN).get_quotes(["GOOG"], ORIGIN - 60)

    assert result.quotes == []
    assert "has not started" in result.failed["GOOG"]


def test_default_origin_is_the_start_of_the_utc_day(replay_dir: Path) -> None:
    provider = CsvProvider(replay_dir)

    assert provider.origin % 86400 == 0
    assert provider.speed == 60


@pytest.mark.parametrize("speed", [0, -1, float("nan")])
def test_speed_must_be_positive(replay_dir: Path, speed: float) -> None:
    with pytest.raises(ConfigError, match="CSV_PROVIDER_SPEED"):
        CsvProvider(replay_dir, speed)


# History: the file's bars before the replay clock.

EURUSD_START = epoch("2017-04-19 09:00:00")
HOUR = 3600


def eurusd_rows(count: int) -> list[Row]:
    return list(itertools.islice(read_rows(DATA / "EURUSD.csv"), count))


def test_history_is_the_files_complete_bars_before_the_replay_clock(replay_dir: Path) -> None:
    # Ten data hours after the origin the replay is at 19:00; that bar is still forming.
    provider = CsvProvider(replay_dir, 3600, ORIGIN, clock=lambda: ORIGIN + 10.5)
    assert isinstance(provider, BarSource)

    result = provider.get_bars(["EURUSD"], Timeframe.H1, 0, 2_000_000_000)

    bars = result.bars["EURUSD"]
    assert [b.time for b in bars] == [EURUSD_START + h * HOUR for h in range(10)]
    assert [(b.open, b.high, b.low, b.close, b.volume) for b in bars] == [
        (r.open, r.high, r.low, r.close, r.volume) for r in eurusd_rows(10)
    ]
    assert all(b.closed and b.timeframe is Timeframe.H1 for b in bars)


def test_history_aggregates_a_finer_file_to_the_timeframe(replay_dir: Path) -> None:
    provider = CsvProvider(replay_dir, 3600, ORIGIN, clock=lambda: ORIGIN + 10.5)
    rows = eurusd_rows(7)  # 09:00 .. 15:00

    bars = provider.get_bars(["EURUSD"], Timeframe.H4, 0, 2_000_000_000).bars["EURUSD"]

    # 08:00 holds 09-11, 12:00 holds 12-15; 16:00 is forming (the replay is at 19:00).
    assert [b.time for b in bars] == [EURUSD_START - HOUR, EURUSD_START + 3 * HOUR]
    first, second = bars
    assert (first.open, first.close) == (rows[0].open, rows[2].close)
    assert first.high == max(r.high for r in rows[:3])
    assert first.low == min(r.low for r in rows[:3])
    assert first.volume == sum(r.volume for r in rows[:3])
    assert (second.open, second.close) == (rows[3].open, rows[6].close)


def test_history_honours_the_range_and_skips_a_partial_first_bar(replay_dir: Path) -> None:
    provider = CsvProvider(replay_dir, 3600, ORIGIN, clock=lambda: ORIGIN + 10.5)
    start = int(EURUSD_START) + 2 * HOUR

    inside = provider.get_bars(["EURUSD"], Timeframe.H1, start, start + 3 * HOUR)
    unaligned = provider.get_bars(["EURUSD"], Timeframe.H4, int(EURUSD_START), 2_000_000_000)

    assert [b.time for b in inside.bars["EURUSD"]] == [start, start + HOUR, start + 2 * HOUR]
    assert [b.time for b in unaligned.bars["EURUSD"]] == [EURUSD_START + 3 * HOUR]


def test_history_before_the_origin_is_empty_and_unknown_files_fail(replay_dir: Path) -> None:
    provider = CsvProvider(replay_dir, 60, ORIGIN, clock=lambda: ORIGIN - 60)

    result = provider.get_bars(["GOOG", "MSFT", "BROKEN"], Timeframe.D1, 0, 2_000_000_000)

    assert result.bars == {"GOOG": []}
    assert result.failed["MSFT"] == f"csv: MSFT: no file MSFT.csv in {replay_dir}"
    assert "not a number" in result.failed["BROKEN"]
