"""Owners are accounts: ``stored_file.owner`` and ``upload_in_progress.owner`` become foreign keys to ``users.id``.

Both stay nullable: a file stored before accounts existed has no owner (only
an admin sees it). An owner that names no account (none can, as accounts are
never deleted, but a database edited by hand might) is set to ``NULL`` first:
nobody could sign in as it, so only an admin saw that file before, as after.

SQLite cannot add a constraint to a table: batch mode copies each table into
a new one (``env.py`` turns SQLite's foreign keys off meanwhile, as SQLite's
own procedure for it says, so that dropping the old ``stored_file`` does not
cascade to its share links). PostgreSQL alters the tables in place.

Revision ID: 0003_owner_foreign_keys
Revises: 0002_accounts
Create Date: 2026-11-30
"""

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "0003_owner_foreign_keys"
down_revision = "0002_accounts"
branch_labels = None
depends_on = None

TABLES = ("stored_file", "upload_in_progress")
# stored_file's listing indexes, newest first: SQLite's batch copy would make them again without the DESC.
LISTING_INDEXES = {
    "ix_stored_file_created_id": [sa.text("created DESC"), sa.text("id DESC")],
    "ix_stored_file_owner_created_id": ["owner", sa.text("created DESC"), sa.text("id DESC")],
}


def upgrade() -> None:
    with listing_indexes_kept():
        for table in TABLES:
            op.execute(
                f"UPDATE {table} SET owner = NULL WHERE owner IS NOT NULL AND owner NOT IN (SELECT id FROM users)"
            )
            with op.batch_alter_table(table) as batch:
                # users.id's type: the constraint's two ends agree.
                batch.alter_column("owner", existing_type=sa.String(255), type_=sa.String(32), existing_nullable=True)
                batch.create_foreign_key(op.f(f"fk_{table}_owner_users"), "users", ["owner"], ["id"])


def downgrade() -> None:
    with listing_indexes_kept():
        for table in TABLES:
            with op.batch_alter_table(table) as batch:
                batch.drop_constraint(op.f(f"fk_{table}_owner_users"), type_="foreignkey")
                batch.alter_column("owner", existing_type=sa.String(32), type_=sa.String(255), existing_nullable=True)


@contextmanager
def listing_indexes_kept() -> Iterator[None]:
    """On SQLite, drop the listing indexes around the table copies and make them again as they were."""
    sqlite = op.get_context().dialect.name == "sqlite"
    if sqlite:
        for name in LISTING_INDEXES:
            op.drop_index(name, table_name="stored_file")
    yield
    if sqlite:
        for name, columns in LISTING_INDEXES.items():
            op.create_index(name, "stored_file", columns, unique=False)
