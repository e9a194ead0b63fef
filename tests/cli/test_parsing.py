"""CliRunner tests: parsing, config precedence, output formats and error exit codes (no server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from pytest_httpserver import HTTPServer

from cli import clicfg
from cli.main import cli
from cli.params import TIME

UNREACHABLE = "http://127.0.0.1:1"


def write_config(home: Path, **values: object) -> Path:
    path = home / ".wagehood" / "cli_config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(values))
    return path


def test_unreachable_api_exits_3_with_one_line(runner: CliRunner) -> None:
    result = runner.invoke(
        cli, ["--api-url", UNREACHABLE, "--retries", "0", "data", "latest", "SPY"]
    )
    assert result.exit_code == 3
    assert result.stderr.strip().splitlines() == [
        f"Error: cannot reach the API at {UNREACHABLE}: [Errno 111] Connection refused"
    ]
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [["data", "latest"], ["data", "latest", "not a symbol!"], ["data", "indicators", "SPY",
     "--timeframe", "7q"], ["data", "signals", "SPY", "--since", "yesterday"], ["nope"]],
)  # fmt: skip
def test_bad_arguments_exit_2(runner: CliRunner, args: list[str]) -> None:
    result = runner.invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_config_file_then_environment_then_flag(runner: CliRunner, home: Path) -> None:
    write_config(home, api_url="http://127.0.0.1:1", retries=0)
    args = ["data", "latest", "SPY"]
    assert "127.0.0.1:1:" in runner.invoke(cli, args).stderr
    env = {"WAGEHOOD_API_URL": "http://127.0.0.1:2"}
    assert "127.0.0.1:2:" in runner.invoke(cli, args, env=env).stderr
    flagged = runner.invoke(cli, ["--api-url", "http://127.0.0.1:3", *args], env=env)
    assert "127.0.0.1:3:" in flagged.stderr


def test_default_url_uses_api_port(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--retries", "0", "monitor", "stats"], env={"API_PORT": "9"})
    assert "http://127.0.0.1:9:" in result.stderr


def test_config_file_path_from_environment(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    path.write_text("api_url: http://127.0.0.1:4\nretries: 0\n")
    result = runner.invoke(cli, ["data", "latest", "SPY"], env={"WAGEHOOD_CLI_CONFIG": str(path)})
    assert "127.0.0.1:4:" in result.stderr


def test_unknown_config_key_is_a_usage_error_naming_it(runner: CliRunner, home: Path) -> None:
    write_config(home, api_ulr="http://x")
    result = runner.invoke(cli, ["data", "latest", "SPY"])
    assert result.exit_code == 2
    assert "unknown key 'api_ulr'" in result.stderr


def test_bad_config_value_names_the_key(runner: CliRunner, home: Path) -> None:
    write_config(home, timeout=-1)
    result = runner.invoke(cli, ["monitor", "stats"])
    assert result.exit_code == 2
    assert "timeout: must be > 0" in result.stderr


def test_resolve_merges_every_key_over_defaults(tmp_path: Path) -> None:
    path = write_config(tmp_path, timeout=3, output_format="csv", color=False, stream_buffer=5,
                        reconnect_delay=0.5, retries=1)  # fmt: skip
    config = clicfg.resolve({"timeout": 7.0, "retries": None}, path)
    assert (config.timeout, config.retries, config.output_format) == (7.0, 1, "csv")
    assert (config.color, config.stream_buffer, config.reconnect_delay) == ("never", 5, 0.5)
    assert clicfg.resolve({}, tmp_path / "missing.yaml") == clicfg.CliConfig()


def test_config_repr_hides_the_key() -> None:
    assert "secret" not in repr(clicfg.CliConfig(api_key="secret"))


def test_time_accepts_epoch_and_iso() -> None:
    assert TIME.convert("1717200000", None, None) == 1717200000
    assert TIME.convert("2024-06-01", None, None) == 1717200000
    assert TIME.convert("2024-06-01T00:01:00Z", None, None) == 1717200060


@pytest.fixture
def api(httpserver: HTTPServer) -> HTTPServer:
    return httpserver


def invoke(runner: CliRunner, api: HTTPServer, *args: str, key: str = "wh_secret") -> Result:
    base = ["--api-url", api.url_for("/").rstrip("/"), "--api-key", key, "--retries", "1"]
    return runner.invoke(cli, [*base, *args])


@pytest.mark.parametrize(
    ("status", "code"), [(401, 4), (403, 4), (404, 5), (409, 2), (422, 2), (500, 1), (503, 3)]
)
def test_http_errors_map_to_exit_codes(
    runner: CliRunner, api: HTTPServer, status: int, code: int
) -> None:
    error = {"error": {"type": "validation_error", "message": "bad limit", "field": "limit"}}
    api.expect_request("/api/v1/realtime/data/latest/SPY").respond_with_json(error, status=status)
    result = invoke(runner, api, "data", "latest", "SPY")
    assert result.exit_code == code
    line = result.stderr.strip()
    assert line.startswith(f"Error: {status} validation_error: bad limit (field: limit)")
    assert "wh_secret" not in result.output


def test_503_is_retried_then_answered(runner: CliRunner, api: HTTPServer) -> None:
    path = "/api/v1/realtime/monitor/stats"
    api.expect_ordered_request(path).respond_with_json({"error": {}}, status=503)
    api.expect_ordered_request(path).respond_with_json({"counters": {"bars": 3}})
    result = invoke(runner, api, "monitor", "stats", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"counters": {"bars": 3}}


def test_key_is_sent_as_bearer(runner: CliRunner, api: HTTPServer) -> None:
    api.expect_request(
        "/api/v1/realtime/monitor/alerts", headers={"Authorization": "Bearer wh_k"}
    ).respond_with_json({"count": 0, "alerts": []})
    result = invoke(runner, api, "monitor", "alerts", "--format", "csv", key="wh_k")
    assert result.exit_code == 0


LATEST = {"symbol": "SPY", "price": 501.25, "timestamp": "2024-06-01T00:00:00Z",
          "bar": {"open": 500.0, "close": 501.25}}  # fmt: skip


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_latest_in_each_format(runner: CliRunner, api: HTTPServer, fmt: str) -> None:
    api.expect_request("/api/v1/realtime/data/latest/SPY").respond_with_json(LATEST)
    result = invoke(runner, api, "data", "latest", "SPY", "--format", fmt)
    out = result.stdout
    if fmt == "json":
        assert json.loads(out) == [LATEST]
    elif fmt == "csv":
        assert out.splitlines() == [
            "symbol,price,timestamp,bar.open,bar.close",
            "SPY,501.25,2024-06-01T00:00:00Z,500.0,501.25",
        ]
    else:
        header, row = out.splitlines()
        assert header.split() == ["SYMBOL", "PRICE", "TIMESTAMP", "BAR.OPEN", "BAR.CLOSE"]
        assert row.index("501.25") + len("501.25") == header.index("TIMESTAMP") - 2
        assert "\x1b[" not in out


def test_format_default_comes_from_the_config_file(
    runner: CliRunner, api: HTTPServer, home: Path
) -> None:
    write_config(home, output_format="csv")
    api.expect_request("/api/v1/realtime/data/latest/SPY").respond_with_json(LATEST)
    result = invoke(runner, api, "data", "latest", "SPY")
    assert result.stdout.startswith("symbol,price")


def test_colour_always_styles_the_header_unless_never(runner: CliRunner, api: HTTPServer) -> None:
    api.expect_request("/api/v1/realtime/data/latest/SPY").respond_with_json(LATEST)
    coloured = invoke(
        runner, api, "--color", "always", "data", "latest", "SPY", "--format", "table"
    )
    assert "\x1b[1m" in coloured.stdout


def test_unexpected_error_is_one_line_without_debug(runner: CliRunner, api: HTTPServer) -> None:
    api.expect_request("/api/v1/realtime/monitor/stats").respond_with_data("not json")
    result = invoke(runner, api, "monitor", "stats")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: internal error: JSONDecodeError")
    debug = invoke(runner, api, "--debug", "monitor", "stats")
    assert debug.exception is not None


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(runner: CliRunner, shell: str) -> None:
    result = runner.invoke(cli, ["completion", shell])
    assert result.exit_code == 0
    assert "_WAGEHOOD_COMPLETE" in result.stdout
