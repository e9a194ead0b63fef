"""Reading OHLCV CSV: header variants, time formats, real daily/hourly/monthly files, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wagehood.csvio import infer_timeframe, read_bars, read_bars_text, symbol_from_path
from wagehood.errors import DataError, ValidationError
from wagehood.types import Bar, Timeframe

DATA = Path(__file__).parent / "data"
D1 = Timeframe.D1


def epoch(text: str) -> int:
    moment = datetime.fromisoformat(text)
    return int(moment.replace(tzinfo=moment.tzinfo or UTC).timestamp())


def parse(text: str, timeframe: Timeframe = D1) -> list[Bar]:
    return list(read_bars_text(text, "prices.csv", "TEST", timeframe))


@pytest.mark.parametrize(
    "header",
    [
        ",Open,High,Low,Close,Volume",
        "Date,Open,High,Low,Close,Volume",
        "Datetime,Open,High,Low,Close,Volume",
        "time,open,high,low,close,volume",
        "Timestamp,Open,High,Low,Close,Volume",
        "DATE,OPEN,HIGH,LOW,CLOSE,VOLUME",
        " Date , Open , High , Low , Close , Volume ",
    ],
)
def test_header_variants_are_recognised(header: str) -> None:
    bars = parse(f"{header}\n2024-01-02,10,11,9,10.5,100\n")

    assert bars == [Bar("TEST", D1, epoch("2024-01-02"), 10.0, 11.0, 9.0, 10.5, 100.0)]


def test_columns_are_matched_by_name_not_position() -> None:
    bars = parse("Volume,Close,Low,High,Open,Date\n100,10.5,9,11,10,2024-01-02\n")

    assert (bars[0].open, bars[0].high, bars[0].low, bars[0].close, bars[0].volume) == (
        10.0,
        11.0,
        9.0,
        10.5,
        100.0,
    )


def test_yahoo_export_uses_close_and_ignores_adj_close() -> None:
    bars = list(read_bars(DATA / "yahoo" / "AAPL.csv", "AAPL", D1))

    assert len(bars) == 10
    assert bars[0] == Bar("AAPL", D1, epoch("2024-01-02"), 187.15, 188.44, 183.89, 185.64, 82488700)
    assert bars[-1].time == epoch("2024-01-16")  # after a weekend and a holiday
    assert all(bar.closed for bar in bars)


def test_date_only_and_naive_datetimes_are_utc() -> None:
    text = "Date,Open,High,Low,Close,Volume\n2024-01-02,1,1,1,1,1\n2024-01-02 15:30:00,1,1,1,1,1\n"

    times = [bar.time for bar in parse(text)]

    assert times == [1704153600, 1704153600 + 15 * 3600 + 30 * 60]


def test_offsets_and_z_suffix_are_converted_to_utc() -> None:
    text = (
        "Datetime,Open,High,Low,Close,Volume\n"
        "2024-01-02T09:30:00-05:00,1,1,1,1,1\n"
        "2024-01-02T15:00:00Z,1,1,1,1,1\n"
        "2024-01-02 17:00:00+01:00,1,1,1,1,1\n"
    )

    times = [bar.time for bar in parse(text)]

    assert times == [
        epoch("2024-01-02T14:30:00"),
        epoch("2024-01-02T15:00:00"),
        epoch("2024-01-02T16:00:00"),
    ]


def test_epoch_seconds_are_accepted() -> None:
    bars = parse(
        "timestamp,open,high,low,close,volume\n1704153600,1,2,1,2,3\n1704153660,2,2,2,2,0\n"
    )

    assert [bar.time for bar in bars] == [1704153600, 1704153660]


def test_fractional_and_empty_volume() -> None:
    bars = parse("Date,Open,High,Low,Close,Volume\n2024-01-02,1,1,1,1,0.25\n2024-01-03,1,1,1,1,\n")

    assert [bar.volume for bar in bars] == [0.25, 0.0]


def test_irregular_spacing_keeps_every_row() -> None:
    days = ["2024-01-02", "2024-01-05", "2024-01-08", "2024-02-01", "2024-06-30"]
    text = "Date,Open,High,Low,Close,Volume\n" + "".join(f"{d},1,1,1,1,1\n" for d in days)

    assert [bar.time for bar in parse(text)] == [epoch(d) for d in days]


def test_blank_lines_are_skipped_and_bom_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "X.csv"
    path.write_text("\ufeffDate,Open,High,Low,Close,Volume\n\n2024-01-02,1,1,1,1,1\n\n", "utf-8")

    assert len(list(read_bars(path, "X", D1))) == 1


def test_real_goog_daily_file_parses_completely() -> None:
    bars = list(read_bars(DATA / "GOOG.csv", "GOOG", D1))

    assert len(bars) == 2148
    assert bars[0] == Bar("GOOG", D1, epoch("2004-08-19"), 100.0, 104.06, 95.96, 100.34, 22351900)
    assert bars[-1] == Bar("GOOG", D1, epoch("2013-03-01"), 797.8, 807.14, 796.15, 806.19, 2175400)
    assert infer_timeframe([bar.time for bar in bars]) is D1


def test_real_eurusd_hourly_file_parses_completely() -> None:
    bars = list(read_bars(DATA / "EURUSD.csv", "EURUSD=X", Timeframe.H1))

    assert len(bars) == 5000
    assert bars[0] == Bar(
        "EURUSD=X",
        Timeframe.H1,
        epoch("2017-04-19T09:00:00"),
        1.0716,
        1.0722,
        1.07083,
        1.07219,
        1413,
    )
    assert bars[-1].time == epoch("2018-02-07T15:00:00")
    assert (bars[-1].open, bars[-1].close, bars[-1].volume) == (1.23427, 1.22904, 6143)
    assert infer_timeframe([bar.time for bar in bars]) is Timeframe.H1


def test_real_btcusd_monthly_file_has_fractional_volume_and_is_daily_or_longer() -> None:
    bars = list(read_bars(DATA / "BTCUSD.csv", "BTCUSD", D1))

    assert len(bars) == 156
    assert bars[0].time == epoch("2012-01-31")
    assert bars[0].volume == pytest.approx(2012.25343589)
    assert bars[-1].close == 93381.0
    assert infer_timeframe([bar.time for bar in bars]) is D1


HEADER = "Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10,100\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEADER + "2024-01-03,10,11,9,abc,100\n", "prices.csv:3: close 'abc' is not a number"),
        (HEADER + "2024-01-03,10,11,9,,100\n", "prices.csv:3: close '' is not a number"),
        (HEADER + "Jan 3 2024,10,11,9,10,100\n", "prices.csv:3: time 'Jan 3 2024' is not a date"),
        (HEADER + "2024-01-03,10,9,11,10,100\n", "prices.csv:3: high 9.0 is below low 11.0"),
        (HEADER + "2024-01-03,-10,11,9,10,100\n", "prices.csv:3: open '-10' must be positive"),
        (HEADER + "2024-01-03,10,11,9,10,-1\n", "prices.csv:3: volume '-1' is negative"),
        (HEADER + "2024-01-03,10,11,9,NaN,100\n", "prices.csv:3: close 'NaN' is not a finite"),
        (HEADER + "2024-01-03,10,11,9,10,inf\n", "prices.csv:3: volume 'inf' is not a finite"),
        (HEADER + "2024-01-02,10,11,9,10,100\n", "prices.csv:3: time '2024-01-02' is not after"),
        (HEADER + "2024-01-01,10,11,9,10,100\n", "prices.csv:3: time '2024-01-01' is not after"),
        (HEADER + "2024-01-03,10,11,9,10\n", "prices.csv:3: expected 6 fields, found 5"),
        ("Date,Open,High,Low,Close\n2024-01-02,1,1,1,1\n", "prices.csv:1: missing column Volume"),
        ("Day,Open,High,Low,Close,Volume\n", "prices.csv:1: no time column"),
        ("", "prices.csv:1: empty file"),
    ],
)
def test_malformed_input_names_file_and_line(text: str, message: str) -> None:
    with pytest.raises(DataError) as caught:
        parse(text)

    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_malformed_file_error_names_the_path_and_line() -> None:
    path = DATA / "malformed.csv"

    with pytest.raises(DataError, match=r"malformed\.csv:3: close 'abc' is not a number"):
        list(read_bars(path, "BAD", D1))


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read"):
        list(read_bars(tmp_path / "NOPE.csv", "NOPE", D1))


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (60, Timeframe.M1),
        (300, Timeframe.M5),
        (900, Timeframe.M15),
        (1800, Timeframe.M30),
        (3600, Timeframe.H1),
        (14400, Timeframe.H4),
        (86400, Timeframe.D1),
        (7 * 86400, Timeframe.D1),
        (31 * 86400, Timeframe.D1),
        (290, Timeframe.M5),
    ],
)
def test_infer_timeframe_picks_closest(step: int, expected: Timeframe) -> None:
    assert infer_timeframe([i * step for i in range(20)]) is expected


def test_infer_timeframe_ignores_weekend_gaps() -> None:
    hours = [h * 3600 for h in range(24)] + [(h + 72) * 3600 for h in range(10)]

    assert infer_timeframe(hours) is Timeframe.H1


@pytest.mark.parametrize("times", [[], [100], [100, 100], [200, 100]])
def test_infer_timeframe_rejects_too_few_or_unordered_times(times: list[int]) -> None:
    with pytest.raises(DataError):
        infer_timeframe(times)


def test_symbol_defaults_to_the_file_name() -> None:
    assert next(read_bars(DATA / "GOOG.csv", None, D1)).symbol == "GOOG"


def test_symbol_from_path_uses_the_validated_stem() -> None:
    assert symbol_from_path("data/goog.csv") == "GOOG"
    assert symbol_from_path(Path("EURUSD=X.csv")) == "EURUSD=X"
    with pytest.raises(ValidationError):
        symbol_from_path("bad name.csv")


prices = st.floats(min_value=0.01, max_value=1e6, allow_nan=False)


@given(
    rows=st.lists(
        st.tuples(st.integers(1, 10**6), prices, prices, prices, st.floats(0, 1e9)),
        min_size=1,
        max_size=30,
    )
)
def test_written_rows_read_back_exactly(rows: list[tuple[int, float, float, float, float]]) -> None:
    lines, time = ["timestamp,open,high,low,close,volume"], 1_600_000_000
    expected = []
    for gap, a, b, c, volume in rows:
        time += gap
        low, mid, high = sorted((a, b, c))
        lines.append(f"{time},{mid!r},{high!r},{low!r},{mid!r},{volume!r}")
        expected.append(Bar("TEST", D1, time, mid, high, low, mid, volume))

    assert parse("\n".join(lines)) == expected
