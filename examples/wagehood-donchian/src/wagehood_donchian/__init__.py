"""Example wagehood plugin: ``donchian(period)`` and the ``donchian_breakout`` strategy."""

__version__ = "0.1.0"
