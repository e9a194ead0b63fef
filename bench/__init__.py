"""Benchmarks: ``python -m bench [--quick] [--write-docs] [--only NAME]``.

Each scenario is a callable ``run(quick) -> dict`` registered in ``bench.__main__.SCENARIOS``;
the runner prints its table, writes ``bench/results/<name>.json`` and, with
``--write-docs``, regenerates that scenario's section of ``docs/benchmarks.md``.

A scenario's result is a dict with ``title``, ``settings`` (dict), ``columns`` (list of
str), ``rows`` (list of lists) and optional ``notes`` (list of str).
"""
