"""A plugin file whose import fails (tests only)."""

raise ImportError("No module named 'some_missing_dependency'")
