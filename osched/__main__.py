"""``python -m osched`` runs the ``osched`` command."""

from osched.launch import main

main()
