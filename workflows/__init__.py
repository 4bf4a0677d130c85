"""The workflow definitions that ship with Vanthu (YAML files beside this module)."""

from pathlib import Path

DEFINITIONS_DIR = Path(__file__).parent

__all__ = ["DEFINITIONS_DIR"]
