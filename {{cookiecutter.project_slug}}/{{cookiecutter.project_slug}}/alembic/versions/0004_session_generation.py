"""A new password or a disabled account ends the account's sessions: ``users.session_generation``.

A session cookie carries the generation it was signed in under; changing
the password or disabling the account adds one, and the security policy
refuses a cookie whose number is no longer the account's. Existing
accounts start at 0, which is also what a cookie from before this
migration is taken to carry: nobody is signed out by upgrading.

Revision ID: 0004_session_generation
Revises: 0003_owner_foreign_keys
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_session_generation"
# The last migration: a project baked with access=open has none of the accounts' migrations.
down_revision = "0003_owner_foreign_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_generation")
