"""The Vanthu engine: workflow definitions and runtime, registers, audit, automated steps, CLI.

Callers outside the engine use these names; everything else is internal.
"""

from engine.config import Settings, load_settings
from engine.errors import (
    ConfigError,
    ConversionError,
    DefinitionError,
    EngineError,
    InvalidInput,
    NotAllowed,
    NotFound,
)

__all__ = [
    "ConfigError",
    "ConversionError",
    "DefinitionError",
    "EngineError",
    "InvalidInput",
    "NotAllowed",
    "NotFound",
    "Settings",
    "load_settings",
]
