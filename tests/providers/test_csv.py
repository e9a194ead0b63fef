"""The csv provider replays real files on a scaled clock."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wagehood.errors import ConfigError
from wagehood.providers.base import QuoteSource
from wagehood.providers.csv import CsvProvider

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
