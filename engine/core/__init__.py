"""What every part of the engine stands on: configuration, the database and its models, the
workflow definitions, the workspace, the audit chain, registers, the calendar, errors and logs.

``engine.core.agency`` sets up an agency; ``engine.core.programs`` runs LibreOffice and poppler.
"""

from engine.core import audit
from engine.core.config import Settings, create_home, load_settings
from engine.core.db import transaction
from engine.core.definitions import ActionName, WorkflowDefinition, load_definitions
from engine.core.errors import (
    ConfigError,
    Conflict,
    ConversionError,
    DefinitionError,
    EngineError,
    InvalidInput,
    NotAllowed,
    NotFound,
)
from engine.core.users import user_named
from engine.core.workspace import Finisher, Plugins, StepFunction, Workspace

__all__ = [
    "ActionName",
    "ConfigError",
    "Conflict",
    "ConversionError",
    "DefinitionError",
    "EngineError",
    "Finisher",
    "InvalidInput",
    "NotAllowed",
    "NotFound",
    "Plugins",
    "Settings",
    "StepFunction",
    "WorkflowDefinition",
    "Workspace",
    "audit",
    "create_home",
    "load_definitions",
    "load_settings",
    "transaction",
    "user_named",
]
