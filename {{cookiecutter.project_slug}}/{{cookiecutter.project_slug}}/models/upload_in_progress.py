"""The record of one tus upload still in progress: how far it got, and who may continue it.

Kept in the catalogue, not in a process, so that a ``HEAD`` or ``PATCH``
may land on any instance of the service and a restart loses nothing. The
row goes when the upload is finished (it becomes a :class:`StoredFile`),
terminated (``DELETE``) or expired (cleaning).
"""

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, {% if cookiecutter.access == "accounts" %}ForeignKey, {% endif %}Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base
from .stored_file import UTCDateTime


class UploadInProgress(Base):
    """One unfinished tus upload (``resumable.py`` makes and changes it).

    ``id`` is 128 random bits in hex, the last segment of the upload's URL,
    and becomes the stored file's id when the upload is finished.
    ``offset`` counts the bytes the backend holds durably under
    ``storage_key``; ``length`` is ``None`` until a client that deferred
    it declares it. ``metadata_header`` is the ``Upload-Metadata`` sent at
    creation, sent back on ``HEAD``; ``filename`` is its ``filename``
    through the sanitizer, ``content_type`` what the first bytes were
    sniffed as (``None`` until they arrived). ``owner`` is
    ``request.authenticated_userid`` at creation (a foreign key to
    ``users.id``; ``None`` without accounts): only the owner may continue
    or end the upload.
    ``partial`` marks a partial upload of the concatenation extension,
    which never becomes a stored file by itself.

    ``locked_by`` and ``locked_until`` are a lease: a ``PATCH`` takes it by
    a compare-and-set ``UPDATE`` (``resumable.acquire``) so that two
    ``PATCH`` requests never write one upload at once, whichever instances
    they reach; the last ``PATCH`` keeps it until the upload is a stored
    file. ``offset`` = ``length`` (not partial) means every byte arrived:
    the upload is being stored, or storing it failed and the next ``HEAD``
    or ``PATCH`` tries again. ``locked_by`` is ``host:pid`` of the holder
    (and a token per request), so that a process restarted after a crash
    can take back the leases of the dead one at once instead of waiting for
    ``locked_until``.
    """

    __tablename__ = "upload_in_progress"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    length: Mapped[int | None] = mapped_column(BigInteger, default=None)
    metadata_header: Mapped[str] = mapped_column(Text, default="")
    filename: Mapped[str] = mapped_column(String(255))
    original_filename: Mapped[str] = mapped_column(String(1024))
    content_type: Mapped[str | None] = mapped_column(String(255), default=None)
    partial: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    expires: Mapped[datetime] = mapped_column(UTCDateTime())
{%- if cookiecutter.access == "accounts" %}
    owner: Mapped[str | None] = mapped_column(ForeignKey("users.id"), default=None)
{%- else %}
    owner: Mapped[str | None] = mapped_column(String(255), default=None)
{%- endif %}
    locked_by: Mapped[str | None] = mapped_column(String(255), default=None)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    # Cleaning finds expired uploads by this index.
    __table_args__ = (Index("ix_upload_in_progress_expires", expires),)

    def __repr__(self) -> str:
        return f"<UploadInProgress {self.id} {self.offset}/{self.length}>"
