"""`python -m engine` is the `vanthu` command."""

from engine.cli import main

main()
