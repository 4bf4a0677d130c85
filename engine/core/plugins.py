"""What the journeys plug into the workflow, by name: automated steps and action handlers.

The workflow runtime knows a step or a special action only by its name; the composition root
(``engine.automation``) says where each lives, as ``"module:function"``. A plugged function is
imported the first time it runs (lazy, for start-up speed: a command that runs no step never
loads pyHanko or LibreOffice's helpers).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from engine.core.models import OutboxItem

if TYPE_CHECKING:  # a type only: the workspace imports this module
    from engine.core.workspace import Workspace

Finisher = Callable[[Session], dict[str, Any]]
"""Records a step's results in the database, inside the transaction that completes it."""
StepFunction = Callable[["Workspace", OutboxItem], Finisher]
"""An automated step: the outside work (conversion, signing, the store) done when called, the
database part returned as a :data:`Finisher`."""


ActionHandler = Callable[..., Any]
"""An action that does outside work before it is recorded (the leader's signature):
``handler(ws, document_id, username, *, comment) -> engine.workflow.Move``."""


@dataclass(frozen=True)
class Plugins:
    """Where the automated steps and the special actions live, by name."""

    steps: Mapping[str, str]
    """Step name (the ``run:`` of a definition) → ``"module:function"``."""
    actions: Mapping[str, str] = field(default_factory=dict)
    """Action name → ``"module:function"`` for actions that are more than a move."""

    def step(self, name: str) -> StepFunction:
        function: StepFunction = _load(self.steps[name])
        return function

    def action(self, name: str) -> ActionHandler | None:
        target = self.actions.get(name)
        if target is None:
            return None
        handler: ActionHandler = _load(target)
        return handler


_loaded: dict[str, Any] = {}


def _load(target: str) -> Any:
    if target not in _loaded:
        module, _, name = target.partition(":")
        _loaded[target] = getattr(importlib.import_module(module), name)
    return _loaded[target]
