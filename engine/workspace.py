"""Everything an operation needs, opened once: settings, database, store, definitions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from engine import db
from engine.calendar import load_holidays
from engine.config import Settings
from engine.definitions import WorkflowDefinition, load_definitions
from engine.errors import ConfigError, NotFound
from storage import ObjectStore, open_store


@dataclass
class Workspace:
    """An open agency: the handles every command and automated step works through."""

    settings: Settings
    db: Engine
    store: ObjectStore
    definitions: dict[str, WorkflowDefinition]
    holidays: frozenset[date]
    caches: dict[str, object] = field(default_factory=dict)
    """Prepared keys and images, so repeated signatures skip parsing and drawing."""

    def definition(self, name: str) -> WorkflowDefinition:
        if name not in self.definitions:
            raise NotFound(
                f"không có quy trình '{name}' trong {self.settings.effective_workflows_dir}"
            )
        return self.definitions[name]


def open_workspace(settings: Settings, *, migrate: bool = True) -> Workspace:
    from engine.steps import STEP_FUNCTIONS

    if not settings.home.is_dir():
        raise ConfigError(f"chưa có thư mục cơ quan {settings.home} (chạy `vanthu init`)")
    engine = db.make_engine(settings.effective_database_url)
    try:
        if migrate:
            db.upgrade(engine)
        else:
            engine.connect().close()
    except OperationalError as exc:
        shown = engine.url.render_as_string(hide_password=True)
        reason = " ".join(str(exc.orig).split())
        raise ConfigError(f"không kết nối được cơ sở dữ liệu {shown}: {reason}") from exc
    return Workspace(
        settings=settings,
        db=engine,
        store=open_store(settings.effective_store_url),
        definitions=load_definitions(
            settings.effective_workflows_dir, automated_steps=STEP_FUNCTIONS.keys()
        ),
        holidays=load_holidays(),
    )
