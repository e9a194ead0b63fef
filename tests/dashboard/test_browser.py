"""The dashboard in headless Chromium against a live worker, beat and API.

Log in, watch SPY update, see its chart fill from history and move with live ticks, add a
symbol whose crafted bars make a strategy fire and see the signal's marker appear, read the
system view, and get a clear error for a read-only key. Screenshots go to
test-artifacts/dashboard/. Every test also checks that the page logged no CSP violation and
no uncaught script error.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.dashboard.conftest import ARTIFACTS, TOKEN_TTL, Live
from tests.factories import context
from wagehood.providers.mock import MockProvider
from wagehood.service.pipeline import BarRef, apply_bars
from wagehood.service.signals import evaluate_strategies
from wagehood.storage import keys
from wagehood.types import Bar, Side, Signal, Timeframe

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

pytestmark = pytest.mark.browser

CRAFTED = "SIG"
WAIT = 20.0


def wait(driver: WebDriver, check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Poll ``check`` (in Python, against the page) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"timeout-{int(time.time())}.png"
    driver.save_screenshot(str(shot))
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (screenshot {shot})")


def js(driver: WebDriver, script: str, *args: Any) -> Any:
    return driver.execute_script(script, *args)


def shown(driver: WebDriver, element_id: str) -> bool:
    script = (
        "const e = document.getElementById(arguments[0]); return !!e && e.offsetParent !== null"
    )
    return bool(js(driver, script, element_id))


def texts(driver: WebDriver, selector: str, pick: str = "e => e.textContent") -> list[str]:
    """Return ``pick`` applied to every element matching ``selector``."""
    return list(
        js(driver, f"return [...document.querySelectorAll(arguments[0])].map({pick})", selector)
    )


def chart(driver: WebDriver) -> dict[str, str]:
    return dict(js(driver, "return {...document.getElementById('chart').dataset}"))


def fresh(driver: WebDriver, live: Live, route: str) -> None:
    """Load the page anew at ``route`` with no session left from an earlier test."""
    driver.get(f"{live.url}/")
    js(driver, "sessionStorage.clear()")
    driver.get("about:blank")
    driver.get(f"{live.url}/{route}")


def log_in(driver: WebDriver, live: Live, key: str) -> None:
    """Open a fresh page and log in with ``key``."""
    fresh(driver, live, "#/watchlist")
    wait(driver, lambda: shown(driver, "api-key"), "the login form")
    field = driver.find_element("id", "api-key")
    field.send_keys(key)
    driver.find_element("css selector", "#login-form button[type=submit]").click()
    wait(driver, lambda: shown(driver, "watchlist-view"), "the watchlist after logging in")


def go(driver: WebDriver, route: str) -> None:
    js(driver, "location.hash = arguments[0]", route)


def row(driver: WebDriver, symbol: str) -> dict[str, str] | None:
    found = js(
        driver,
        """const tr = document.querySelector(`#watchlist-table tr[data-symbol="${arguments[0]}"]`);
        if (!tr) return null;
        const cell = (f) => tr.querySelector(`[data-field="${f}"]`).textContent;
        return {time: tr.dataset.time || '', price: cell('price'), change: cell('change'),
                freshness: cell('freshness'), signal: cell('signal')};""",
        symbol,
    )
    return dict(found) if found else None


@pytest.fixture(autouse=True)
def clean_console(browser: WebDriver) -> Iterator[None]:
    """Fail a test whose page hit a CSP violation or an uncaught error."""
    browser.get_log("browser")
    yield
    bad = [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"] or "Uncaught" in entry["message"]
    ]
    assert bad == []


def test_nothing_is_shown_before_login_and_a_wrong_key_is_refused(
    browser: WebDriver, live: Live, artifacts: Path
) -> None:
    fresh(browser, live, "#/symbol/SPY/1m")
    wait(browser, lambda: shown(browser, "login-view"), "the login view")
    assert not shown(browser, "nav")
    assert not shown(browser, "symbol-view")
    assert texts(browser, "#watchlist-table tbody tr") == []
    browser.find_element("id", "api-key").send_keys("wh_not_a_key")
    browser.find_element("css selector", "#login-form button[type=submit]").click()
    message = wait(browser, lambda: browser.find_element("id", "login-error").text, "an error")
    assert "not accepted" in message
    assert not shown(browser, "watchlist-view")
    browser.save_screenshot(str(artifacts / "login-refused.png"))


def test_watchlist_updates_live(browser: WebDriver, live: Live, artifacts: Path) -> None:
    log_in(browser, live, live.write_key)
    first = wait(browser, lambda: (r := row(browser, "SPY")) and r["time"] and r, "SPY's row")
    assert first["price"] != "—"
    assert "(" in first["change"]
    later = wait(
        browser,
        lambda: (r := row(browser, "SPY")) and float(r["time"]) > float(first["time"]) and r,
        "a live SPY update",
    )
    assert "ago" in later["freshness"] or "just now" in later["freshness"]
    assert js(browser, "return sessionStorage.getItem('wagehood.session')") is not None
    assert live.write_key not in (js(browser, "return JSON.stringify(sessionStorage)") or "")
    browser.save_screenshot(str(artifacts / "watchlist.png"))


def test_chart_fills_from_history_and_updates_live(
    browser: WebDriver, live: Live, artifacts: Path
) -> None:
    log_in(browser, live, live.write_key)
    go(browser, "#/symbol/SPY/1m")
    wait(browser, lambda: int(chart(browser).get("bars", "0")) >= 80, "SPY's history on the chart")
    before = chart(browser)
    after = wait(
        browser,
        lambda: (c := chart(browser)) and int(c["updates"]) >= int(before["updates"]) + 2 and c,
        "live updates on the chart",
    )
    assert int(after["lastTime"]) >= int(before["lastTime"])
    assert int(after["lastTime"]) > time.time() - 120, "the last bar is the live one"
    legend = browser.find_element("id", "chart-legend").text
    assert "rsi_14" in legend
    assert "macd_signal" in legend
    canvases = js(browser, "return document.querySelectorAll('#chart canvas').length")
    assert canvases >= 6, "price, RSI and MACD panes with their scales"
    browser.save_screenshot(str(artifacts / "chart-spy-1m.png"))


def crafted_bars(level: float, end: int, count: int = 40) -> list[Bar]:
    """A quiet series around ``level`` that breaks sharply upward in its last three bars."""
    bars: list[Bar] = []
    for i in range(count):
        close = level * (1 + 0.001 * math.sin(i))
        if i >= count - 3:
            close = level * (1 + 0.02 * (i - count + 4))
        open_ = bars[-1].close if bars else close
        volume = 6000.0 if i >= count - 3 else 1000.0
        high, low = max(open_, close) * 1.0005, min(open_, close) * 0.9995
        time_ = end - (count - 1 - i) * 60
        bars.append(Bar(CRAFTED, Timeframe.M1, time_, open_, high, low, close, volume))
    return bars


def seed_crafted(live: Live) -> list[BarRef]:
    """Apply the crafted closed bars (strategies not evaluated yet) and return their refs."""
    now = int(time.time())
    level = MockProvider(42).get_quotes([CRAFTED], float(now)).quotes[0].price
    bars = crafted_bars(level, now // 60 * 60 - 120)
    return apply_bars(context(live.store, live.settings), CRAFTED, Timeframe.M1, bars)


def test_added_symbol_shows_a_signal_marker_live(
    browser: WebDriver, live: Live, artifacts: Path
) -> None:
    refs = seed_crafted(live)
    log_in(browser, live, live.write_key)
    browser.find_element("id", "add-symbol").send_keys(CRAFTED.lower())
    browser.find_element("css selector", "#add-provider option[value=mock]").click()
    browser.find_element("css selector", "#add-form button[type=submit]").click()
    wait(browser, lambda: row(browser, CRAFTED), "the added symbol's row")
    assert browser.find_element("id", "add-status").text == f"Added {CRAFTED}."
    browser.find_element("link text", CRAFTED).click()
    wait(browser, lambda: int(chart(browser).get("bars", "0")) >= 40, "the crafted bars")

    # The worker may get there first (its first live SIG bar closing evaluates every stored
    # bar); either way the crafted series' signals are stored once and reach the page.
    evaluate_strategies(context(live.store, live.settings), refs)
    assert live.store.client.xlen(keys.symbol_signals(CRAFTED)) >= 1, "a strategy fired"
    wait(browser, lambda: int(chart(browser)["markers"]) >= 1, "a signal marker")
    kinds = texts(browser, "#chart-signals tbody tr", "r => r.dataset.kind")
    assert "signal" in kinds
    browser.save_screenshot(str(artifacts / "chart-signal.png"))
    go(browser, "#/watchlist")
    latest = wait(
        browser, lambda: (r := row(browser, CRAFTED)) and r["signal"] != "none" and r, "its signal"
    )
    assert latest["signal"].split(" ")[0] in {"BUY", "SELL"}


def test_returning_to_the_watchlist_shows_a_signal_it_had_no_frame_for(
    browser: WebDriver, live: Live
) -> None:
    # A signal published before the page followed its symbol (a symbol just added, whose
    # warm-up signalled first) has no frame for the page: coming back to the watchlist reads it.
    log_in(browser, live, live.write_key)
    wait(browser, lambda: row(browser, "SPY"), "SPY's row")
    go(browser, "#/system")
    wait(browser, lambda: shown(browser, "system-view"), "the system view")
    signal = Signal(
        "SPY", Timeframe.M1, int(time.time()) // 60 * 60, "unframed", Side.SELL, 0.9, 1.0, "test"
    )
    data = json.dumps(signal.to_dict(), separators=(",", ":"))
    live.store.client.xadd(keys.symbol_signals("SPY"), {"data": data})  # stored, no frame
    go(browser, "#/watchlist")
    shown_signal = wait(
        browser,
        lambda: (r := row(browser, "SPY")) and "unframed" in r["signal"] and r["signal"],
        "the stored signal",
    )
    assert shown_signal.startswith("SELL")


def test_system_view_shows_health_alerts_and_stats(
    browser: WebDriver, live: Live, artifacts: Path
) -> None:
    log_in(browser, live, live.write_key)
    go(browser, "#/system")
    badge = browser.find_element("id", "health-status")
    status = wait(browser, lambda: (s := badge.text) != "unknown" and s, "the health status")
    assert status in {"ok", "degraded"}
    components = texts(browser, "#health-table tbody th")
    assert {"redis", "broker", "workers"} <= set(components)
    wait(browser, lambda: len(texts(browser, "#stats dt")) >= 5, "the stats")
    assert texts(browser, "#alerts-table tbody tr")
    browser.save_screenshot(str(artifacts / "system.png"))


def test_read_only_key_gets_a_clear_error_when_adding(
    browser: WebDriver, live: Live, artifacts: Path
) -> None:
    log_in(browser, live, live.read_key)
    browser.find_element("id", "add-symbol").send_keys("QQQ")
    browser.find_element("css selector", "#add-form button[type=submit]").click()
    wait(browser, lambda: shown(browser, "notice"), "an error message")
    assert "permission" in browser.find_element("id", "notice-text").text
    assert row(browser, "QQQ") is None
    browser.save_screenshot(str(artifacts / "read-only-add.png"))
    browser.find_element("id", "logout").click()
    wait(browser, lambda: shown(browser, "login-view"), "the login view after logging out")
    assert js(browser, "return sessionStorage.getItem('wagehood.session')") is None


def session_token(driver: WebDriver) -> str:
    return str(js(driver, "return JSON.parse(sessionStorage.getItem('wagehood.session')).token"))


def test_token_is_renewed_before_it_expires(browser: WebDriver, live: Live) -> None:
    log_in(browser, live, live.write_key)
    first, issued = session_token(browser), time.time()
    wait(browser, lambda: session_token(browser) != first, "a renewed token", TOKEN_TTL + 2)
    time.sleep(max(0.0, issued + TOKEN_TTL + 1 - time.time()))  # the first token has expired
    go(browser, "#/system")
    wait(browser, lambda: len(texts(browser, "#stats dt")) >= 5, "stats fetched with the new token")
    assert shown(browser, "nav")
    assert not shown(browser, "notice")
