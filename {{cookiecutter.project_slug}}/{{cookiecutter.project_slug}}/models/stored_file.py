"""The record of one stored file: what the catalogue knows about its bytes."""

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, {% if cookiecutter.access == "accounts" %}ForeignKey, {% endif %}Index, String, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base


class UTCDateTime(TypeDecorator):
    """A point in time, always timezone-aware UTC in Python.

    PostgreSQL keeps ``timestamp with time zone``; SQLite has no such type and
    SQLAlchemy stores naive text with microseconds, which sorts like the time
    it names. Either way Python sees an aware UTC ``datetime``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class StoredFile(Base):
    """One stored file. Made by the upload path (``receiving.py``), never by a storage backend.

    ``id`` is 128 random bits in hex, public in URLs. ``storage_key`` names
    the bytes in the storage backend (the same value today, kept apart so a
    backend may one day use another scheme). ``filename`` is the sanitized
    name shown and sent in ``Content-Disposition``; ``original_filename`` is
    what the client sent, kept for the record only. ``size`` is in bytes,
    ``sha256`` the hex digest of the bytes, ``content_type`` the type sniffed
    from them.
{%- if cookiecutter.access == "accounts" %} ``owner`` is the id of the account that uploaded it
    (a foreign key to ``users.id``); files stored before accounts existed
    have none, and only an admin sees them.
{%- else %} ``owner`` is empty: this project has no accounts.
{%- endif %}
    """

    __tablename__ = "stored_file"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    original_filename: Mapped[str] = mapped_column(String(1024))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(255))
    created: Mapped[datetime] = mapped_column(UTCDateTime())
{%- if cookiecutter.access == "accounts" %}
    owner: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
{%- else %}
    owner: Mapped[str | None] = mapped_column(String(255), default=None)
{%- endif %}
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)

    # The listing's keyset order: newest first, the id breaking ties.
{%- if cookiecutter.access == "accounts" %}
    __table_args__ = (
        Index("ix_stored_file_created_id", created.desc(), id.desc()),
        # One owner's listing, in the same order (catalogue.page's owner filter).
        Index("ix_stored_file_owner_created_id", owner, created.desc(), id.desc()),
    )
{%- else %}
    __table_args__ = (Index("ix_stored_file_created_id", created.desc(), id.desc()),)
{%- endif %}

    def __repr__(self) -> str:
        return f"<StoredFile {self.id} {self.filename!r} {self.size} bytes>"
