"""Everything an operation needs, opened once: settings, database, store, definitions, and what
the journeys plug into the workflow.

The workflow runtime knows an automated step or a special action only by its name; the
composition root (``engine.automation``) says where each lives, as ``"module:function"``. A
plugged function is imported the first time it runs (lazy, for start-up speed: a command that
runs no step never loads pyHanko).
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from engine.core import db
from engine.core.calendar import load_holidays
from engine.core.config import Settings
from engine.core.definitions import WorkflowDefinition, load_definitions, parse_definition
from engine.core.errors import ConfigError, NotFound
from engine.core.models import DefinitionVersion, OutboxItem, WorkflowInstance
from storage import ObjectStore, open_store

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
    hooks: Mapping[str, str] = field(default_factory=dict)
    """Hook name → ``"module:function"``: what a higher layer does when the workflow moves
    (``report_status``: an action's ``report:``; ``after_steps``: after the outbox ran;
    ``tracked``: more work with deadlines for the on-time report)."""

    def step(self, name: str) -> StepFunction:
        function: StepFunction = _load(self.steps[name])
        return function

    def action(self, name: str) -> ActionHandler | None:
        target = self.actions.get(name)
        if target is None:
            return None
        handler: ActionHandler = _load(target)
        return handler

    def hook(self, name: str) -> Callable[..., Any] | None:
        target = self.hooks.get(name)
        if target is None:
            return None
        function: Callable[..., Any] = _load(target)
        return function


_loaded: dict[str, Any] = {}


def _load(target: str) -> Any:
    if target not in _loaded:
        module, _, name = target.partition(":")
        _loaded[target] = getattr(importlib.import_module(module), name)
    return _loaded[target]


@dataclass
class Workspace:
    """An open agency: the handles every command and automated step works through."""

    settings: Settings
    db: Engine
    store: ObjectStore
    definitions: dict[str, WorkflowDefinition]
    holidays: frozenset[date]
    plugins: Plugins
    """The automated steps and special actions the definitions name."""
    caches: dict[str, object] = field(default_factory=dict)
    """Prepared keys and images, so repeated signatures skip parsing and drawing."""

    def definition(self, name: str) -> WorkflowDefinition:
        """The definition ``name`` as the workflows folder has it now (for new instances)."""
        if name not in self.definitions:
            raise NotFound(
                f"không có quy trình '{name}' trong {self.settings.effective_workflows_dir}",
                f"no workflow '{name}' in {self.settings.effective_workflows_dir}",
                code="workflow.not_found",
            )
        return self.definitions[name]

    def definition_for(
        self, instance: WorkflowInstance, session: Session | None = None
    ) -> WorkflowDefinition:
        """The version ``instance`` started on, by its digest: the file's, while it is
        unchanged; afterwards the YAML kept in the database when the instance started."""
        current = self.definitions.get(instance.definition)
        digest = instance.definition_digest
        if current is not None and current.digest == digest:
            return current
        cached = self.caches.get(f"definition:{digest}")
        if isinstance(cached, WorkflowDefinition):
            return cached
        if session is None:
            with Session(self.db) as own:
                kept = own.get(DefinitionVersion, digest)
        else:
            kept = session.get(DefinitionVersion, digest)
        if kept is None:
            if current is not None:  # started before versions were kept (migration 0008)
                return current
            return self.definition(instance.definition)  # not found: says where it looked
        data = kept.yaml.encode("utf-8")
        if hashlib.sha256(data).hexdigest() != digest:
            raise ConfigError(
                f"bản lưu của quy trình '{kept.name}' (phiên bản {kept.version}) không còn khớp "
                "mã SHA-256 của nó: cơ sở dữ liệu đã bị sửa",
                f"the kept copy of the workflow '{kept.name}' (version {kept.version}) no longer "
                "matches its SHA-256: the database was changed",
                code="workflow.version_altered",
                document_id=instance.document_id,
                digest=digest,
            )
        source = f"{kept.source}@{digest[:12]}"
        found = parse_definition(data, source, automated_steps=self.plugins.steps.keys())
        self.caches[f"definition:{digest}"] = found
        return found


def open_workspace(settings: Settings, plugins: Plugins, *, migrate: bool = True) -> Workspace:
    """Open the agency in ``settings.home``; with ``migrate`` bring its schema up to date."""
    if not settings.home.is_dir():
        raise ConfigError(
            f"chưa có thư mục cơ quan {settings.home} (chạy `vanthu init`)",
            f"no agency folder {settings.home} (run `vanthu init`)",
            code="config.home_missing",
        )
    engine = db.make_engine(settings.effective_database_url)
    try:
        if migrate:
            db.upgrade(engine)
        else:
            engine.connect().close()
    except OperationalError as exc:
        shown = engine.url.render_as_string(hide_password=True)
        reason = " ".join(str(exc.orig).split())
        raise ConfigError(
            f"không kết nối được cơ sở dữ liệu {shown}: {reason}",
            f"cannot connect to the database {shown}: {reason}",
            code="database.unavailable",
            retryable=True,
        ) from exc
    return Workspace(
        settings=settings,
        db=engine,
        store=open_store(settings.effective_store_url),
        definitions=load_definitions(
            settings.effective_workflows_dir, automated_steps=plugins.steps.keys()
        ),
        holidays=load_holidays(),
        plugins=plugins,
    )
