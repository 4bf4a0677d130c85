"""The command line: for administrators and scripts (people work in the web office).

A command parses, calls one engine function, and prints; it holds no business rule.
"""

from engine.cli.main import main, run

__all__ = ["main", "run"]
