"""classified documents (văn bản mật): a document's secrecy, secret registers

Revision ID: 0013
Revises: 0012

Decree 30 Art. 15.2: documents classified Mật, Tối mật or Tuyệt mật are registered and numbered
in a series of their own. A register marked ``secret`` holds them (one per direction; created
for an agency the first time it needs one, see engine.core.registers.register_for).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("register", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("secret", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("secrecy", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_column("secrecy")
    with op.batch_alter_table("register", schema=None) as batch_op:
        batch_op.drop_column("secret")
