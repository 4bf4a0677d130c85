"""Where each automated step and special action lives: the composition of the journeys.

The workflow definitions name steps (``run: convert_to_pdf``) and actions (``sign``); this is
the one place that says which function does each. Functions are given by name and imported the
first time they run (lazy, for start-up speed: a command that runs no step never loads pyHanko).
``test_registry`` imports every one of them, so a wrong name cannot wait for production.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from engine.core.config import Settings
from engine.core.definitions import WorkflowDefinition, load_definitions
from engine.core.workspace import Plugins, Workspace
from engine.core.workspace import open_workspace as open_with

PLUGINS = Plugins(
    steps=MappingProxyType(
        {
            "convert_to_pdf": "engine.outgoing.issuing:convert_to_pdf",
            "assign_number": "engine.outgoing.issuing:assign_number",
            "apply_seal": "engine.outgoing.issuing:apply_seal",
            "verify_incoming": "engine.incoming.steps:verify_incoming",
            "register_incoming": "engine.incoming.steps:register_incoming",
            "archive_document": "engine.archive.archiving:archive_document",
            "dispose_records": "engine.archive.disposal:dispose_records",
            "send_to_recipients": "engine.exchange.delivery:send_to_recipients",
            "number_result": "engine.onestop.results:number_result",
            "seal_result": "engine.onestop.results:seal_result",
        }
    ),
    actions=MappingProxyType({"sign": "engine.outgoing.signature:sign"}),
    hooks=MappingProxyType(
        {
            "report_status": "engine.exchange.reporting:report_status",
            "after_steps": "engine.exchange.delivery:deliver_pending",
            "tracked": "engine.onestop.views:dossier_tracked",
            "form_layout": "engine.outgoing.conversion:find_form_layout",
            "signer_box": "engine.outgoing.conversion:find_signer_box",
        }
    ),
)


def open_workspace(settings: Settings, *, migrate: bool = True) -> Workspace:
    """Open the agency in ``settings.home`` with every journey plugged in."""
    return open_with(settings, PLUGINS, migrate=migrate)


def check_definitions(directory: Path) -> list[WorkflowDefinition]:
    """Read and check every definition in ``directory`` against the steps plugged in."""
    return list(load_definitions(directory, automated_steps=PLUGINS.steps.keys()).values())
