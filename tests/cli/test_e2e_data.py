"""End to end: the installed ``wagehood`` script against a real API, worker, beat and Redis."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.cli.conftest import LIVE, SEEDED, Live
from tests.factories import START


def ok(result: object) -> str:
    assert result.returncode == 0, result.stderr  # type: ignore[attr-defined]
    return str(result.stdout)  # type: ignore[attr-defined]


def test_version(live: Live) -> None:
    assert ok(live.run("--version")).startswith("wagehood, version ")


def test_latest_json_is_the_api_body_for_each_symbol(live: Live) -> None:
    bodies = json.loads(ok(live.run("data", "latest", LIVE, SEEDED, "--format", "json")))
    assert [b["symbol"] for b in bodies] == [LIVE, SEEDED]
    assert all(isinstance(b["price"], float) for b in bodies)


def test_latest_is_json_when_piped_and_table_when_asked(live: Live) -> None:
    assert json.loads(ok(live.run("data", "latest", SEEDED)))[0]["symbol"] == SEEDED
    table = ok(live.run("data", "latest", SEEDED, "--format", "table")).splitlines()
    assert table[0].split()[:2] == ["SYMBOL", "PRICE"]
    assert table[1].startswith(SEEDED)


def test_indicators_csv_has_a_header_and_the_values(live: Live) -> None:
    rows = list(csv.DictReader(io.StringIO(ok(live.run("data", "indicators", SEEDED,
                                                       "--timeframe", "1m", "--format", "csv")))))  # fmt: skip
    assert rows[0]["symbol"] == SEEDED
    assert float(rows[0]["indicators.sma_20"]) > 0
    assert int(rows[0]["bars_processed"]) == 3 * 60 - 1


def test_signals_since_and_limit(live: Live) -> None:
    body = json.loads(ok(live.run("data", "signals", SEEDED, "--limit", "3", "--format", "json")))
    assert body["symbol"] == SEEDED
    assert len(body["signals"]) <= 3
    later = str(START + 3600)
    table = ok(live.run("data", "signals", SEEDED, "--since", later, "--format", "table"))
    lines = table.splitlines()
    assert lines[0].split()[:2] == ["TIMESTAMP", "SYMBOL"]
    assert all(line.split()[0] >= "2024-06-01T01:00:00Z" for line in lines[1:])


def test_historical_range_in_iso_and_epoch(live: Live) -> None:
    args = ["data", "historical", SEEDED, "--start", "2024-06-01T00:10:00Z",
            "--end", str(START + 19 * 60), "--limit", "500", "--format", "json"]  # fmt: skip
    body = json.loads(ok(live.run(*args)))
    assert [bar["epoch"] for bar in body["bars"]] == [START + m * 60 for m in range(10, 20)]
    table = ok(live.run(*args[:-1], "table")).splitlines()
    assert len(table) == 11
    assert "INDICATORS.SMA_20" in table[0]


def test_export_waits_and_downloads_what_historical_returns(live: Live, tmp_path: Path) -> None:
    out = tmp_path / "bars.csv"
    status = json.loads(ok(live.run("data", "export", SEEDED, "--what", "bars", "--output",
                                    str(out), "--format", "json", timeout=120)))  # fmt: skip
    assert status["status"] == "done"
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == status["rows"] == 3 * 60 - 1
    history = json.loads(ok(live.run("data", "historical", SEEDED, "--limit", "1000")))
    assert [float(r["close"]) for r in rows] == [b["close"] for b in history["bars"]]


def test_export_without_wait_prints_its_id(live: Live) -> None:
    status = json.loads(ok(live.run("data", "export", SEEDED, "--what", "signals")))
    assert status["id"]
    assert status["status"] in ("pending", "running", "done")


def test_stream_prints_live_frames_in_sequence(live: Live) -> None:
    result = live.run("data", "stream", LIVE, "--indicators", "--duration", "4", "--format", "json")
    frames = [json.loads(line) for line in ok(result).splitlines()]
    assert frames, result.stderr
    assert {f["type"] for f in frames} <= {"bar", "indicators", "signal"}
    seqs = [f["seq"] for f in frames]
    assert seqs == sorted(set(seqs))
    assert all(f["data"]["symbol"] == LIVE for f in frames)
    assert f"last seq {seqs[-1]}" in result.stderr


def test_stream_resumes_after_a_sequence_number(live: Live) -> None:
    first = [json.loads(x) for x in ok(live.run("data", "stream", LIVE, "--duration", "2.5",
                                                 "--format", "json")).splitlines()]  # fmt: skip
    since = first[0]["seq"]
    table = ok(live.run("data", "stream", LIVE, "--since-seq", str(since), "--duration", "1.5",
                        "--format", "table")).splitlines()  # fmt: skip
    assert table[0].split()[:3] == ["SEQ", "TYPE", "SYMBOL"]
    assert int(table[1].split()[0]) == since + 1 or int(table[1].split()[0]) > since


def test_unknown_symbol_exits_5(live: Live) -> None:
    result = live.run("data", "latest", "ZZZZ")
    assert result.returncode == 5
    assert result.stderr.strip() == "Error: 404 not_found: no data for symbol ZZZZ"


def test_wrong_key_exits_4_and_never_shows_it(live: Live) -> None:
    result = live.run("data", "latest", LIVE, env={"WAGEHOOD_API_KEY": "wh_0123456789abcdef_nope"})
    assert result.returncode == 4
    assert "nope" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1


def test_read_key_cannot_write_exits_4(live: Live) -> None:
    result = live.run("config", "watchlist", "add", "IBM", env={"WAGEHOOD_API_KEY": live.read_key})
    assert result.returncode == 4


def test_unreachable_exits_3(live: Live) -> None:
    result = live.run("data", "latest", LIVE, env={"WAGEHOOD_API_URL": "http://127.0.0.1:1",
                                                    "WAGEHOOD_RETRIES": "0"})  # fmt: skip
    assert result.returncode == 3
    assert "cannot reach the API at http://127.0.0.1:1" in result.stderr
    assert "Traceback" not in result.stderr
