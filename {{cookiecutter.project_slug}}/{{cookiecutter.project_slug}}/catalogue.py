"""Reading and changing the catalogue: pages of records, one record, totals, delete.

The listing is paged by keyset, not by offset: a page is "the ``limit``
newest records older than the last one of the previous page", on the index
``(created DESC, id DESC)``. Each page costs the same however deep it is,
and a file added or deleted meanwhile neither shifts a page nor makes one
repeat a record.

The cursor that names a position is opaque to clients: URL-safe base64 of
``<created in microseconds since 1970, UTC>.<id>``. It is checked strictly
(any other shape answers 400, never 500) but not signed: a well-formed
cursor a client made up only names a position in a listing the client may
read anyway, so a signature would guard nothing, and would need a secret.
"""

import base64
import binascii
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import transaction
import transaction.interfaces
from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.orm import Session

from .errors import BadRequest
from .models import CatalogueTotals, StoredFile, begin_write
from .models.catalogue_totals import THE_ROW
from .storage import NotFound, Storage

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_QUERY = 200  # characters of a search by name
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"(\d{1,19})\.([0-9a-f]{32})")


@dataclass(frozen=True)
class Position:
    """Where a page starts: just after the record with this ``created`` and ``id``."""

    created: datetime
    id: str


@dataclass(frozen=True)
class Page:
    """Some records, newest first, and the cursor of the next page (``None`` at the end)."""

    files: Sequence[StoredFile]
    next_cursor: str | None


def encode_cursor(position: Position) -> str:
    micros = (position.created - _EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(f"{micros}.{position.id}".encode("ascii")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> Position:
    """The position ``cursor`` names; :class:`BadRequest` unless it is exactly as we make them."""
    bad = BadRequest("The cursor is not one this server made: follow the `next` link of a listing")
    if not cursor.isascii() or len(cursor) > 100:
        raise bad
    try:
        match = _CURSOR.fullmatch(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii"))
        if match is None:
            raise bad
        position = Position(_EPOCH + timedelta(microseconds=int(match.group(1))), match.group(2))
    except (binascii.Error, ValueError, OverflowError):
        raise bad from None
    if encode_cursor(position) != cursor:  # one spelling only: no padding, no leading zeros
        raise bad
    return position


def parse_limit(value: str | None) -> int:
    """The ``limit`` query parameter: 1 to :data:`MAX_LIMIT`, :data:`DEFAULT_LIMIT` when absent."""
    if value is None:
        return DEFAULT_LIMIT
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(value)


def parse_query(value: str | None) -> str | None:
    """The ``q`` query parameter (a search by name): ``None`` when absent or blank; 400 past :data:`MAX_QUERY`."""
    if value is None or not value.strip():
        return None
    if len(value) > MAX_QUERY:
        raise BadRequest(f"A search may be at most {MAX_QUERY} characters")
    return value.strip()
{%- if cookiecutter.access == "accounts" %}


def page(
    dbsession: Session,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
    q: str | None = None,
    *,
    owner: str | None = None,
) -> Page:
    """The ``limit`` newest records after ``cursor`` (from the newest when ``None``).

    ``owner``: only that account's files (on the index ``(owner, created
    DESC, id DESC)``); ``None``: everyone's.
{%- else %}


def page(dbsession: Session, cursor: str | None = None, limit: int = DEFAULT_LIMIT, q: str | None = None) -> Page:
    """The ``limit`` newest records after ``cursor`` (from the newest when ``None``).
{%- endif %}

    ``q`` keeps only names that contain it, ignoring case. The search walks
    the listing's index newest first and tests each name (``LIKE
    '%q%'`` can use no B-tree index): a page costs the rows scanned until
    ``limit`` names match, so a common word is as fast as the plain listing
    and a name that matches nothing reads the whole table. Past a few
    hundred thousand files on PostgreSQL, a trigram index (``pg_trgm``,
    ``GIN (lower(filename) gin_trgm_ops)``) makes it an index search.
    """
    query = select(StoredFile).order_by(StoredFile.created.desc(), StoredFile.id.desc()).limit(limit + 1)
{%- if cookiecutter.access == "accounts" %}
    if owner is not None:
        query = query.where(StoredFile.owner == owner)
{%- endif %}
    if q is not None:
        escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(func.lower(StoredFile.filename).like(f"%{escaped}%", escape="\\"))
    if cursor is not None:
        after = decode_cursor(cursor)
        query = query.where(tuple_(StoredFile.created, StoredFile.id) < tuple_(after.created, after.id))
    files = dbsession.scalars(query).all()
    if len(files) <= limit:
        return Page(files, None)
    last = files[limit - 1]
    return Page(files[:limit], encode_cursor(Position(last.created, last.id)))
{%- if cookiecutter.access == "accounts" %}


def totals(dbsession: Session, *, owner: str | None = None) -> tuple[int, int]:
    """How many files are stored, and their total size in bytes: everyone's (one row, kept by
    :func:`count`), or ``owner``'s (counted on the owner's index)."""
    if owner is not None:
        query = select(func.count(), func.coalesce(func.sum(StoredFile.size), 0)).where(StoredFile.owner == owner)
        files, size = dbsession.execute(query).one()
        return int(files), int(size)
{%- else %}


def totals(dbsession: Session) -> tuple[int, int]:
    """How many files are stored, and their total size in bytes (one row, kept by :func:`count`)."""
{%- endif %}
    row = dbsession.get(CatalogueTotals, THE_ROW)
    return (row.files, row.bytes) if row is not None else (0, 0)


def count(dbsession: Session, files: int, size: int) -> None:
    """Add ``files`` records of ``size`` bytes in all to the totals (negative: removed), in this transaction."""
    dbsession.execute(
        update(CatalogueTotals)
        .where(CatalogueTotals.id == THE_ROW)
        .values(files=CatalogueTotals.files + files, bytes=CatalogueTotals.bytes + size)
    )


def get(dbsession: Session, file_id: str) -> StoredFile | None:
    """One record by its id (the primary key), or ``None``."""
    return dbsession.get(StoredFile, file_id) if isinstance(file_id, str) and len(file_id) <= 64 else None


def add(dbsession: Session, storage: Storage, records: Sequence[StoredFile]) -> None:
    """Insert the records of bytes already committed to ``storage``.

    If the request's transaction then fails, the bytes go too: a client is
    never told a file was stored when it was not, and nothing unrecorded
    stays (but for a crash just now, which cleaning deals with).
    """
    keys = [record.storage_key for record in records]

    def remove_bytes_unless_committed(committed: bool) -> None:
        if not committed:
            _delete_bytes(storage, keys)

    current = _transaction(dbsession)
    current.addAfterCommitHook(remove_bytes_unless_committed)
    current.addAfterAbortHook(lambda: _delete_bytes(storage, keys))
    begin_write(dbsession)
    dbsession.add_all(records)
    dbsession.flush()
    count(dbsession, len(records), sum(record.size for record in records))
{%- if cookiecutter.access == "accounts" %}


def remove(dbsession: Session, storage: Storage, *file_ids: str, owner: str | None = None) -> None:
    """Delete records, then (once that is committed) their bytes; :class:`NotFound` if one has none.

    ``owner``: only if it is that account's file; ``None``: whoever's it is.
    Several ids are all or nothing: the request's transaction aborts on
    :class:`NotFound`, which brings back the records removed before it, and
    no bytes are deleted.
    """
    begin_write(dbsession)  # once: the write lock for the whole transaction
    keys = []
    for file_id in file_ids:
        query = delete(StoredFile).where(StoredFile.id == file_id)
        if owner is not None:
            query = query.where(StoredFile.owner == owner)
        removed = dbsession.execute(query.returning(StoredFile.storage_key, StoredFile.size)).one_or_none()
        if removed is None:
            raise NotFound(file_id)
        key, size = removed
        count(dbsession, -1, -size)
        keys.append(key)
{%- else %}


def remove(dbsession: Session, storage: Storage, *file_ids: str) -> None:
    """Delete records, then (once that is committed) their bytes; :class:`NotFound` if one has none.

    Several ids are all or nothing: the request's transaction aborts on
    :class:`NotFound`, which brings back the records removed before it, and
    no bytes are deleted.
    """
    begin_write(dbsession)  # once: the write lock for the whole transaction
    keys = []
    for file_id in file_ids:
        removed = dbsession.execute(
            delete(StoredFile).where(StoredFile.id == file_id).returning(StoredFile.storage_key, StoredFile.size)
        ).one_or_none()
        if removed is None:
            raise NotFound(file_id)
        key, size = removed
        count(dbsession, -1, -size)
        keys.append(key)
{%- endif %}

    def remove_bytes_once_committed(committed: bool) -> None:
        if committed:
            _delete_bytes(storage, keys)

    _transaction(dbsession).addAfterCommitHook(remove_bytes_once_committed)


def _transaction(dbsession: Session) -> transaction.interfaces.ITransaction:
    """The transaction ``dbsession`` takes part in: its request's, or the thread's (scripts)."""
    request = dbsession.info.get("request")
    return request.tm.get() if request is not None else transaction.get()


def _delete_bytes(storage: Storage, keys: Sequence[str]) -> None:
    """Best effort, after the fact: what fails here is unrecorded bytes, which cleaning removes."""
    for key in keys:
        try:
            storage.delete(key)
        except NotFound:
            continue
        except Exception:
            log.exception("could not delete the bytes of %s; the cleaning command will", key)
