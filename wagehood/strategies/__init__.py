"""See base.py for the port and registry.py for the names."""
