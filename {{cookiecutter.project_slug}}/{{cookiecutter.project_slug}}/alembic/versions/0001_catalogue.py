"""The catalogue: one record per stored file, and their totals.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from {{ cookiecutter.project_slug }}.models.stored_file import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stored_file",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("original_filename", sa.String(1024), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("owner", sa.String(255), nullable=True),
        sa.Column("storage_key", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_file")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_stored_file_storage_key")),
    )
    op.create_index(
        "ix_stored_file_created_id", "stored_file", [sa.text("created DESC"), sa.text("id DESC")], unique=False
    )
    op.create_table(
        "catalogue_totals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("files", sa.BigInteger(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_catalogue_totals_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_totals")),
    )
    op.execute("INSERT INTO catalogue_totals (id, files, bytes) VALUES (1, 0, 0)")


def downgrade() -> None:
    op.drop_table("catalogue_totals")
    op.drop_index("ix_stored_file_created_id", table_name="stored_file")
    op.drop_table("stored_file")
