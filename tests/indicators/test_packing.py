"""The packed state of an indicator set restores it exactly, for every registered kind."""

from __future__ import annotations

import base64
import json
import pickle
from typing import Any

import pytest

from tests.indicators.conftest import bars_from_closes
from tests.indicators.test_contract import ALL_SPECS, SPECS
from wagehood.indicators.registry import INDICATORS, IndicatorSet

EVERY_KIND = {f"c{i}": spec for i, spec in enumerate(ALL_SPECS)}


def test_every_registered_kind_is_packed() -> None:
    assert set(SPECS) == set(INDICATORS)


@pytest.mark.parametrize("cut", [0, 1, 4, 19, 40, 149])
def test_unpacked_set_continues_identically_mid_stream(cut: int) -> None:
    bars = bars_from_closes([300.0 + (i * 7 % 23) + i * 0.37 for i in range(150)])
    whole, first = IndicatorSet(EVERY_KIND), IndicatorSet(EVERY_KIND)
    expected = [whole.update(b) for b in bars]

    head = [first.update(b) for b in bars[:cut]]
    restored = IndicatorSet.unpack(EVERY_KIND, first.pack())
    tail = [restored.update(b) for b in bars[cut:]]

    assert head + tail == expected
    assert restored.to_state() == whole.to_state()
    assert restored.pack() == whole.pack()


def test_unpack_rejects_state_packed_for_other_parameters() -> None:
    packed = IndicatorSet({"fast": "sma(10)"}).pack()

    with pytest.raises(ValueError, match="SMA\\(10\\), spec is SMA\\(20\\)"):
        IndicatorSet.unpack({"fast": "sma(20)"}, packed)


def test_unpack_rejects_state_of_other_columns() -> None:
    packed = IndicatorSet({"fast": "sma(10)"}).pack()

    with pytest.raises(ValueError, match="slow"):
        IndicatorSet.unpack({"slow": "sma(10)"}, packed)


def version_1(packed: str) -> str:
    """Return ``packed`` as version 1 wrote it: JSON, windows as base64 text (frozen copy)."""

    def old(value: Any) -> Any:
        if isinstance(value, bytes):
            return base64.b64encode(value).decode("ascii")
        if isinstance(value, list | tuple):
            return [old(v) for v in value]
        if isinstance(value, dict):
            return {k: old(v) for k, v in value.items()}
        return value

    _, columns = pickle.loads(packed.encode("latin-1"))
    return json.dumps({"v": 1, "set": old(columns)}, separators=(",", ":"), sort_keys=True)


@pytest.mark.parametrize("cut", [0, 19, 149])
def test_a_version_1_state_is_read_and_continues_identically(cut: int) -> None:
    bars = bars_from_closes([300.0 + (i * 7 % 23) + i * 0.37 for i in range(150)])
    whole, first = IndicatorSet(EVERY_KIND), IndicatorSet(EVERY_KIND)
    expected = [whole.update(b) for b in bars]
    head = [first.update(b) for b in bars[:cut]]
    text = version_1(first.pack())
    assert text.startswith('{"set":')

    restored = IndicatorSet.unpack(EVERY_KIND, text)

    assert head + [restored.update(b) for b in bars[cut:]] == expected
    assert restored.pack() == whole.pack()


class Boom:
    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (print, ("ran",))


@pytest.mark.parametrize(
    "text",
    [
        pickle.dumps((2, {"fast": Boom()}), protocol=5).decode("latin-1"),  # names a function
        pickle.dumps((2, {"fast": [1.0]}), protocol=5).decode("latin-1")[:-3],  # truncated
        pickle.dumps((3, {"fast": []}), protocol=5).decode("latin-1"),  # another version
        "\u0100 not latin-1",
        '{"v": 1}',
    ],
)
def test_unpack_refuses_what_pack_never_writes(text: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(ValueError, match="not a packed state"):
        IndicatorSet.unpack({"fast": "sma(10)"}, text)
    assert capsys.readouterr().out == ""


def test_a_packed_state_is_plain_data() -> None:
    bars = bars_from_closes([300.0 + (i * 7 % 23) + i * 0.37 for i in range(60)])
    indicators = IndicatorSet(EVERY_KIND)
    for bar in bars:
        indicators.update(bar)

    version, columns = pickle.loads(indicators.pack().encode("latin-1"))

    def types(value: Any) -> set[type]:
        if isinstance(value, list | tuple):
            return {type(value)}.union(*(types(v) for v in value))
        if isinstance(value, dict):
            return {dict}.union(*(types(v) for v in value.values()))
        return {type(value)}

    assert version == 2
    assert set(columns) == set(EVERY_KIND)
    assert types(columns) <= {dict, list, tuple, float, int, bool, str, bytes, type(None)}
    assert bytes in types(columns)  # the windows
