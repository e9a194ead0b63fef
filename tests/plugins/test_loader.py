"""Discovery: PLUGIN_PATHS files (loaded as entry points are), version check, failures, reload."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.indicators.conftest import bars_from_closes
from wagehood.errors import ValidationError
from wagehood.indicators.registry import IndicatorSet, build
from wagehood.plugins import INTERFACE_VERSION
from wagehood.plugins.loader import CATALOG, check_class
from wagehood.service import plugins
from wagehood.strategies.registry import StrategySet, available, build_strategy


def statuses() -> dict[str, tuple[str, str]]:
    return {info.name: (info.status, info.error) for info in CATALOG.infos()}


def test_plugin_files_give_a_strategy_and_an_indicator(plugin_dir) -> None:
    plugin_dir("donchian_indicator", "donchian_strategy")

    rows = {row["name"]: row for row in plugins.report()}

    assert rows["donchian"] | {"origin": ""} == {
        "name": "donchian",
        "kind": "indicator",
        "package": "file",
        "version": "-",
        "interface": INTERFACE_VERSION,
        "status": "loaded",
        "origin": "",
        "error": "",
    }
    assert rows["donchian_breakout"]["kind"] == "strategy"
    assert repr(build("donchian(14)")) == "Donchian(14)"
    assert IndicatorSet({"dc": "donchian(3)"}).columns == ["dc_upper", "dc_middle", "dc_lower"]
    assert "donchian_breakout" in available()


def test_import_failure_and_other_interface_are_reported_not_fatal(plugin_dir) -> None:
    plugin_dir("broken_import", "future_version", "donchian_strategy", "donchian_indicator")

    found = statuses()

    assert found["broken_import.py"][0] == "failed"
    assert "some_missing_dependency" in found["broken_import.py"][1]
    assert found["from_the_future"] == (
        "refused",
        f"built for wagehood plugin interface 99; this wagehood provides interface "
        f"{INTERFACE_VERSION} (update the plugin or wagehood)",
    )
    assert "from_the_future" not in available()
    assert found["donchian_breakout"] == ("loaded", "")
    assert {p["name"] for p in plugins.problems()} == {"broken_import.py", "from_the_future"}


def test_a_plugin_may_not_take_a_built_in_name() -> None:
    class Imposter:
        name = "ma_crossover"
        interface_version = INTERFACE_VERSION
        indicators: dict[str, str] = {}
        lookback = 1

        def evaluate(self, history: object) -> None:
            return None

    assert check_class(Imposter, "strategy") == "name 'ma_crossover' is a built-in strategy"


def test_parameters_are_validated_by_annotated_type_and_by_the_plugin(plugin_dir) -> None:
    plugin_dir("donchian_indicator", "donchian_strategy")

    with pytest.raises(ValidationError, match="period must be of type integer, was 'x'"):
        build_strategy("donchian_breakout", {"period": "x"})
    with pytest.raises(ValidationError, match="period must be >= 2, was 1"):
        build_strategy("donchian_breakout", {"period": 1})
    with pytest.raises(ValidationError, match="unknown parameter 'size'"):
        build_strategy("donchian_breakout", {"size": 3})
    with pytest.raises(ValidationError, match="period must be an integer"):
        build("donchian(2.5)")
    assert plugins.strategy_schemas()["donchian_breakout"] == {
        "plugin": True,
        "parameters": {
            "period": {"type": "integer", "default": 20},
            "min_confidence": {"type": "number", "default": 0.0},
        },
    }


def test_changed_plugin_files_are_read_again_on_configure(plugin_dir) -> None:
    directory: Path = plugin_dir("donchian_indicator", "donchian_strategy")
    path = directory / "donchian_strategy.py"
    path.write_text(path.read_text().replace("return 3\n", "return 4\n"))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))

    plugin_dir()

    assert StrategySet({"donchian_breakout": {}}).lookback == 4


def test_a_configured_plugin_no_longer_installed_is_ignored_on_load(
    plugin_dir, settings, redis
) -> None:
    from wagehood.service.config import load_config, save_section  # noqa: PLC0415
    from wagehood.storage.redis_store import RedisStore  # noqa: PLC0415

    directory = plugin_dir("donchian_indicator", "donchian_strategy")
    store = RedisStore.from_url(settings.redis_url)
    with_plugin = settings.replace(plugin_paths=(str(directory),))
    save_section(store, with_plugin, "strategies", {"donchian_breakout": {}, "rsi_trend": {}})

    config = load_config(store, settings)  # PLUGIN_PATHS unset: the plugin is gone

    assert [s.name for s in config.strategy_set.strategies] == ["rsi_trend"]
    assert "donchian_breakout" not in config.strategies


def test_a_set_with_a_plugin_indicator_packs_and_continues_exactly(plugin_dir) -> None:
    # The engine stores its set packed (wagehood/indicators/packing.py); a plugin indicator
    # has no __slots__, so it travels as its own to_state() and comes back via from_state().
    plugin_dir("donchian_indicator")
    specs = {"sma": "sma(5)", "dc": "donchian(4)"}
    bars = bars_from_closes([100.0 + (i * 5 % 11) - i * 0.3 for i in range(40)])
    whole, first = IndicatorSet(specs), IndicatorSet(specs)
    expected = [whole.update(b) for b in bars]

    head = [first.update(b) for b in bars[:17]]
    restored = IndicatorSet.unpack(specs, first.pack())
    tail = [restored.update(b) for b in bars[17:]]

    assert head + tail == expected
    assert restored.pack() == whole.pack()
    assert expected[-1]["dc_upper"] is not None
