"""The ``wagehood`` command line."""
