"""Redis-backed storage: key names, state store, and a local server launcher."""
