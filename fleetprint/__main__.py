"""`python -m fleetprint` is the `fleetprint` command."""

from fleetprint.cli import main

main()
