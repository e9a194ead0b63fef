"""``wagehood alerts`` against the real API (a threaded server on the test Redis)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli.main import cli
from tests.api.conftest import Keys
from tests.cli.conftest import home, runner  # noqa: F401 - fixtures
from wagehood.service import delivery
from wagehood.settings import Settings
from wagehood.storage.redis_store import RedisStore


@pytest.fixture
def run(runner: CliRunner, live_server: str, keys: Keys, home: Path):  # noqa: F811
    env = {"WAGEHOOD_API_URL": f"http://{live_server}", "WAGEHOOD_API_KEY": keys.admin}

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, ["--retries", "0", *args], env=env, catch_exceptions=False)

    return invoke


def test_rules_add_list_pause_update_delete(run) -> None:
    added = run(
        "alerts", "rules", "add", "dip", "rsi_14 < 30", "--cooldown", "600", "--format", "json"
    )
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["cooldown"] == 600
    assert run("alerts", "rules", "pause", "dip", "--format", "json").exit_code == 0
    listed = run("alerts", "rules", "list", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(listed)))
    assert [(r["name"], r["condition"], r["enabled"]) for r in rows] == [
        ("dip", "rsi_14 < 30", "False")
    ]
    updated = run(
        "alerts", "rules", "update", "dip", "--condition", "rsi_14 < 25", "--format", "json"
    )
    assert json.loads(updated.stdout)["condition"] == "rsi_14 < 25"
    table = run("alerts", "rules", "list", "--format", "table").stdout
    assert table.splitlines()[0].split()[:3] == ["NAME", "CONDITION", "TIMEFRAME"]
    assert run("alerts", "rules", "delete", "dip", "--format", "json").exit_code == 0
    assert run("alerts", "rules", "show", "dip").exit_code == 5


def test_bad_condition_exits_2_naming_the_position(run) -> None:
    result = run("alerts", "rules", "add", "bad", "rsi_14 < )")
    assert result.exit_code == 2
    assert "position 10: expected a number or indicator name, got ')'" in result.stderr


def test_loopback_channel_is_refused_without_the_operator_flag(run) -> None:
    result = run("alerts", "channels", "add", "local", "http://127.0.0.1:9000/hook")
    assert result.exit_code == 2
    assert "WEBHOOK_ALLOW_PRIVATE" in result.stderr


def test_channels_list_log_redeliver_and_deadletters(
    run,
    store: RedisStore,
    settings: Settings,
) -> None:
    allowed = settings.replace(webhook_allow_private=True)
    delivery.create_channel(store, allowed, {"name": "ops", "url": "http://127.0.0.1:9/t/TOKEN"})
    listed = run("alerts", "channels", "list", "--format", "json")
    assert "TOKEN" not in listed.stdout
    assert json.loads(listed.stdout)["channels"][0]["name"] == "ops"
    paused = run("alerts", "channels", "update", "ops", "--symbol", "AAPL", "--events", "alerts",
                 "--format", "json")  # fmt: skip
    assert json.loads(paused.stdout)["events"] == ["alerts"]
    log = run("alerts", "channels", "log", "ops", "--format", "csv")
    assert log.stdout.splitlines()[0].startswith("event_id,status,attempts,latency_ms")
    redeliver = run("alerts", "channels", "redeliver", "ops", "--format", "json")
    assert json.loads(redeliver.stdout) == {"channel": "ops", "replayed": 0}
    old_name = run("alerts", "channels", "replay", "ops", "--format", "json")  # hidden alias
    assert old_name.stdout == redeliver.stdout
    listed_commands = run("alerts", "channels", "--help").stdout
    assert "redeliver" in listed_commands
    assert "replay" not in listed_commands
    assert json.loads(run("alerts", "deadletters", "--format", "json").stdout)["count"] == 0
    assert run("alerts", "channels", "delete", "ops", "--format", "json").exit_code == 0
