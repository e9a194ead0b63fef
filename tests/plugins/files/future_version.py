"""A plugin written for a later interface (tests only)."""

from typing import ClassVar


class FromTheFuture:
    name: ClassVar[str] = "from_the_future"
    interface_version: ClassVar[int] = 99
    indicators: ClassVar[dict[str, str]] = {}
    lookback: ClassVar[int] = 1

    def evaluate(self, history: object) -> None:
        return None
