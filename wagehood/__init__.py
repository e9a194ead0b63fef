"""Wagehood: real-time market data with incremental indicators and strategies."""

__version__ = "0.1.0"
