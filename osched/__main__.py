"""``python -m osched`` runs the ``osched`` command."""

from osched.cli import main

main()
