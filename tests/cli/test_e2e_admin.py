"""End to end: config, monitor and admin commands of the console script on the live system."""

from __future__ import annotations

import json
from pathlib import Path

from cli.redis_server import free_port
from tests.cli.conftest import LIVE, SEEDED, Live
from tests.cli.test_e2e_data import ok
from tests.processes import wait_for
from wagehood.service import auth

DATA = Path(__file__).resolve().parents[1] / "data"


def test_watchlist_add_remove_set_list(live: Live) -> None:
    added = json.loads(ok(live.run("config", "watchlist", "add", "IBM", "--provider", "mock")))
    assert {"symbol": "IBM", "data_provider": "mock"}.items() <= added["symbols"][0].items()
    csv_out = ok(live.run("config", "watchlist", "remove", "IBM", "--format", "csv"))
    assert csv_out.splitlines() == [
        "symbol,added_at,data_provider,sync",
        csv_out.splitlines()[1],
    ]
    assert csv_out.splitlines()[1].startswith(f"{LIVE},")
    ok(live.run("config", "watchlist", "set", LIVE, "QQQ"))
    listed = json.loads(ok(live.run("config", "watchlist", "list")))
    assert sorted(e["symbol"] for e in listed["symbols"]) == ["QQQ", LIVE]
    ok(live.run("config", "watchlist", "set", LIVE))


def test_indicators_show_and_set(live: Live) -> None:
    shown = json.loads(ok(live.run("config", "indicators", "show")))["indicators"]
    pairs = [f"{name}={spec}" for name, spec in shown.items()]
    changed = json.loads(ok(live.run("config", "indicators", "set", *pairs, "ema_5=ema(5)")))
    assert changed["indicators"]["ema_5"] == "ema(5)"
    table = ok(live.run("config", "indicators", "set", *pairs, "--format", "table"))
    assert table.splitlines()[0].split() == ["NAME", "VALUE"]


def test_strategies_disable_enable_set(live: Live) -> None:
    names = json.loads(ok(live.run("config", "strategies", "show")))["strategies"]
    name = sorted(names)[0]
    off = json.loads(ok(live.run("config", "strategies", "disable", name)))
    assert off["strategies"][name]["enabled"] is False
    on = json.loads(ok(live.run("config", "strategies", "enable", name)))
    assert on["strategies"][name]["enabled"] is True
    unknown = live.run("config", "strategies", "enable", "nope")
    assert unknown.returncode == 5
    bad = live.run("config", "strategies", "set", name, "no_such_param=1")
    assert bad.returncode == 2
    assert bad.stderr.startswith("Error: 4")


def test_system_show_set_summary_validate(live: Live) -> None:
    changed = json.loads(ok(live.run("config", "system", "set", "min_confidence=0.4")))
    assert changed["min_confidence"] == 0.4
    invalid = live.run("config", "system", "set", "min_confidence=5")
    assert invalid.returncode == 2
    assert "min_confidence" in invalid.stderr
    shown = ok(live.run("config", "system", "show", "--format", "csv")).splitlines()
    assert "min_confidence" in shown[0]
    summary = json.loads(ok(live.run("config", "summary")))
    assert summary["watchlist"]["symbols"] == [LIVE]
    assert json.loads(ok(live.run("config", "validate")))["valid"] is True


def test_monitor_health_stats_alerts(live: Live) -> None:
    health = json.loads(ok(live.run("monitor", "health", "--detailed")))
    assert health["status"] in ("ok", "degraded")
    table = ok(live.run("monitor", "health", "--format", "table")).splitlines()
    assert table[1].split()[:2] == ["overall", health["status"]]
    stats = ok(live.run("monitor", "stats", "--format", "table"))
    assert "counters.bars" in stats
    alerts = ok(live.run("monitor", "alerts", "--format", "csv"))
    assert isinstance(alerts, str)


def test_monitor_health_down_when_redis_unreachable_exits_3(live: Live) -> None:
    result = live.run("monitor", "health", env={"WAGEHOOD_API_URL": "http://127.0.0.1:1"})
    assert result.returncode == 3


def test_monitor_watch_bounded_by_iterations(live: Live) -> None:
    out = ok(live.run("monitor", "watch", "--iterations", "2", "--interval", "0.2",
                      "--format", "json"))  # fmt: skip
    views = [json.loads(chunk) for chunk in out.replace("}\n{", "}\x00{").split("\x00")]
    assert len(views) == 2
    assert views[0]["symbols"][0]["symbol"] == LIVE
    assert views[0]["symbols"][0]["age_s"] < 30
    table = ok(live.run("monitor", "watch", SEEDED, "--duration", "0.1", "--format", "table"))
    assert table.splitlines()[0].split()[:3] == ["SYMBOL", "PRICE", "AGE_S"]


def test_admin_keys_create_list_revoke(live: Live) -> None:
    created = json.loads(ok(live.run("admin", "keys", "create", "--name", "bot",
                                     "--permissions", "read,write", "--format", "json")))  # fmt: skip
    assert created["name"] == "bot"
    assert created["permissions"] == ["read", "write"]
    assert auth.verify_key(live.store, created["key"]).name == "bot"
    listed = ok(live.run("admin", "keys", "list", "--format", "csv"))
    assert created["id"] in listed
    assert created["key"] not in listed
    ok(live.run("admin", "keys", "revoke", created["id"]))
    denied = live.run("data", "latest", LIVE, env={"WAGEHOOD_API_KEY": created["key"]})
    assert denied.returncode == 4
    assert live.run("admin", "keys", "revoke", "nope").returncode == 5
    assert (
        live.run("admin", "keys", "create", "--name", "x", "--permissions", "root").returncode == 2
    )


def test_admin_redis_check(live: Live) -> None:
    assert json.loads(ok(live.run("admin", "redis", "check", "--format", "json")))["ok"] is True


def test_admin_backfill_through_the_worker(live: Live) -> None:
    out = ok(live.run("admin", "backfill", "NFLX", "--file", str(DATA / "GOOG.csv"), "--wait",
                      "--format", "json", timeout=120))  # fmt: skip
    assert json.loads(out)["done"] is True
    bars = json.loads(
        ok(live.run("data", "historical", "NFLX", "--timeframe", "1d", "--limit", "5"))
    )
    assert bars["count"] == 5


def test_replay_offline(live: Live) -> None:
    out = ok(live.run("replay", str(DATA / "GOOG.csv"), "--format", "csv")).splitlines()
    assert out[0].startswith("time,")
    assert len(out) == 2149


def test_service_start_api_and_worker_in_background_then_stop(live: Live, tmp_path: Path) -> None:
    port = free_port()
    env = {
        "WAGEHOOD_DATA_DIR": str(tmp_path),
        "API_PORT": str(port),
        "REDIS_URL": live.settings.redis_url,
    }
    ok(live.run("admin", "service", "start-api", "--background", env=env))
    ok(
        live.run(
            "admin", "service", "start-worker", "--background", "--log-level", "warning", env=env
        )
    )
    try:
        url = {"WAGEHOOD_API_URL": f"http://127.0.0.1:{port}"}
        wait_for(lambda: live.run("data", "latest", SEEDED, env=env | url).returncode == 0, 30,
                 "the background API")  # fmt: skip
        status = json.loads(ok(live.run("admin", "service", "status", env=env)))
        running = {row["name"]: row for row in status if row["running"]}
        assert set(running) == {"web", "worker"}
        assert (tmp_path / "web.pid").read_text().split()[0] == str(running["web"]["pid"])
    finally:
        stopped = live.run("admin", "service", "stop", env=env)
    assert "stopped web" in stopped.stderr
    assert "stopped worker" in stopped.stderr
    status = json.loads(ok(live.run("admin", "service", "status", env=env)))
    assert not any(row["running"] for row in status)
    assert (tmp_path / "logs" / "web.log").exists()
