"""``python -m cli`` runs the ``wagehood`` command."""

from cli.main import main

main()
