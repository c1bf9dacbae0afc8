"""Uploads in progress: the state of tus resumable uploads.

Revision ID: 0002_uploads_in_progress
Revises: 0001
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from {{ cookiecutter.project_slug }}.models.stored_file import UTCDateTime

revision = "0002_uploads_in_progress"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upload_in_progress",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("storage_key", sa.String(255), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=True),
        sa.Column("metadata_header", sa.Text(), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("original_filename", sa.String(1024), nullable=False),
        sa.Column("content_type", sa.String(255), nullable=True),
        sa.Column("partial", sa.Boolean(), nullable=False),
        sa.Column("created", UTCDateTime(), nullable=False),
        sa.Column("expires", UTCDateTime(), nullable=False),
        sa.Column("owner", sa.String(255), nullable=True),
        sa.Column("locked_by", sa.String(255), nullable=True),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upload_in_progress")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_upload_in_progress_storage_key")),
    )
    op.create_index("ix_upload_in_progress_expires", "upload_in_progress", ["expires"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_upload_in_progress_expires", table_name="upload_in_progress")
    op.drop_table("upload_in_progress")
