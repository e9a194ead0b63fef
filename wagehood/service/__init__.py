"""Use cases shared by the workers, the API and the CLI.

- ``pipeline``: apply quotes and bars to symbol state, evaluate strategies (workers).
- ``config``: the runtime configuration kept in Redis (indicators, strategies, system).
- ``watchlist``: the symbols being watched and their providers.
- ``queries``: read models for latest data, indicators, signals and history.
"""
