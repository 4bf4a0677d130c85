"""Alembic environment: runs on the connection handed over by engine.core.db.upgrade."""

from alembic import context
from sqlmodel import SQLModel

import engine.core.models  # noqa: F401  (registers the tables)
from engine.core.db import include_object
from engine.core.errors import ConfigError

connection = context.config.attributes.get("connection")
if connection is None:
    raise ConfigError(
        "chỉ nâng cấp cơ sở dữ liệu bằng `vanthu db upgrade` (engine.core.db.upgrade)",
        "run migrations through `vanthu db upgrade` (engine.core.db.upgrade)",
        code="database.migration_outside_engine",
    )
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    include_object=include_object,
)
with context.begin_transaction():
    context.run_migrations()
