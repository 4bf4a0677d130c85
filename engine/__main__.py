"""`python -m engine` runs the `vanthu` command."""

from engine.cli import main

main()
