"""Receive the files of one upload request: stream, check, stage, commit, record.

This is the upload path end to end, kept out of the view so it reads top to
bottom: the body is read in ``chunk_size`` pieces (never through
``request.POST``), split into parts as it arrives, each ``file`` part is
sniffed, checked, counted, hashed and handed to the storage backend as it
streams, and nothing becomes visible until the closing boundary has been
seen. Then the bytes are committed (durable), and only then are their
records added to the catalogue. Any refusal, at any point, leaves nothing
behind.

The record is made here, in one place: the id and the time are ours, the
size and the SHA-256 are counted and hashed from the very chunks the
backend writes (one pass over the data, the hash on a helper thread:
``hashing.py``). A backend only keeps bytes.
"""

import secrets
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from pyramid.config import Configurator
from pyramid.request import Request
from sqlalchemy.orm import Session

from . import catalogue
from .buffer import LimitExceeded, file_buffer
from .errors import BadRequest, TooLarge, UnsupportedType
from .hashing import BackgroundSha256
from .models import StoredFile
from .multipart import Part, boundary_of, iter_parts
from .sanitizer import extension_of, secure_filename
from .security import CSRF_FIELD, csrf_valid, header_csrf_valid
from .settings import UploadSettings
from .sizes import format_size
from .sniffing import media_type_of, peek, sniff_type, type_allowed
from .storage import Staged, Storage

FILE_FIELD = "file"
MAX_FIELDS = 50
MAX_FIELD_BYTES = 64 * 1024


@dataclass(frozen=True)
class Received:
    """A file part whose bytes are staged in the backend, and the record they will get."""

    staged: Staged
    record: StoredFile
{%- if cookiecutter.access == "accounts" %}


def receive_files(
    request: Request, upload_settings: UploadSettings, storage: Storage, dbsession: Session, owner: str | None = None
) -> list[StoredFile]:
    """Store every ``file`` part of ``request``: all of them, or none; ``owner`` is the uploader's account id."""
{%- else %}


def receive_files(
    request: Request, upload_settings: UploadSettings, storage: Storage, dbsession: Session
) -> list[StoredFile]:
    """Store every ``file`` part of ``request``: all of them, or none."""
{%- endif %}
    boundary = boundary_of(request.headers.get("Content-Type", ""))
    declared = declared_length(request.environ.get("CONTENT_LENGTH", ""))
    if declared is not None and declared > upload_settings.max_size:
        raise _too_large(upload_settings)

    received: list[Received] = []
    try:
        chunks = file_buffer(request.body_file, upload_settings.chunk_size, limit=upload_settings.max_size)
        _stage_parts(request, iter_parts(chunks, boundary), upload_settings, storage, received)
        _commit_all(received, storage)
    except LimitExceeded:
        raise _too_large(upload_settings) from None
    finally:
        for file in received:
            storage.discard(file.staged)  # a no-op for files already committed
    records = [file.record for file in received]
{%- if cookiecutter.access == "accounts" %}
    for record in records:
        record.owner = owner
{%- endif %}
    catalogue.add(dbsession, storage, records)  # the bytes are durable: now the records
    return records


def declared_length(value: str) -> int | None:
    """The ``Content-Length`` as a number, ``None`` if absent (a chunked body)."""
    if value == "":
        return None
    if not value.isascii() or not value.isdigit():
        raise BadRequest("Content-Length must be a non-negative whole number")
    return int(value)


def _stage_parts(
    request: Request,
    parts: Iterator[Part],
    upload_settings: UploadSettings,
    storage: Storage,
    received: list[Received],
) -> None:
    """Stage the file parts into ``received`` (the caller cleans up on any error)."""
    csrf_ok = header_csrf_valid(request)
    fields = 0
    for part in parts:
        if part.filename is None and part.name != FILE_FIELD:
            fields += 1
            if fields > MAX_FIELDS:
                raise TooLarge(f"A request may carry at most {MAX_FIELDS} form fields")
            value = part.read(MAX_FIELD_BYTES)
            if part.name == CSRF_FIELD and not csrf_ok:
                csrf_ok = csrf_valid(request, value)
            continue
        if not csrf_ok:
            # Checked before the first byte of any file is kept.
            raise BadRequest("Missing or wrong CSRF token: reload the page and try again")
        if part.name != FILE_FIELD:
            continue  # another file input: read past it
        if part.filename == "":
            # What a browser sends for a file input with no file chosen: an
            # empty filename and no bytes (WHATWG HTML, "multipart/form-data
            # encoding algorithm"). With bytes, it is a file named "upload".
            first, part.body = peek(part.body, 1)
            if not first:
                continue
        # A part named ``file`` is a file whatever its parameters: without a
        # filename, or with one that sanitizes to nothing, it is "upload".
        if len(received) == upload_settings.max_files:
            raise TooLarge(f"A request may carry at most {upload_settings.max_files} files (uploads.max_files)")
        received.append(_stage(part, upload_settings, storage))
    if not csrf_ok:
        raise BadRequest("Missing or wrong CSRF token: reload the page and try again")
    if not received:
        raise BadRequest("No file: choose at least one file to upload")


def _stage(part: Part, upload_settings: UploadSettings, storage: Storage) -> Received:
    original = part.filename or ""
    filename = secure_filename(original)
    extension = extension_of(filename)
    if upload_settings.allowed_extensions and extension not in upload_settings.allowed_extensions:
        allowed = ", ".join(sorted(upload_settings.allowed_extensions))
        shown = f"Files of type .{extension}" if extension else "Files without an extension"
        raise UnsupportedType(f"{shown} are not accepted ({filename}); allowed: {allowed}")
    head, chunks = peek(part.body)
    content_type = sniff_type(head)
    if upload_settings.allowed_types and not type_allowed(content_type, upload_settings.allowed_types):
        allowed = ", ".join(upload_settings.allowed_types)
        shown = media_type_of(content_type)
        raise UnsupportedType(f"The file {filename} is {shown}, which is not accepted; allowed: {allowed}")
    key = secrets.token_hex(16)  # 128 random bits: the file's id, and its key in the store
    measured = Measured(chunks)
    try:
        staged = storage.stage(key, measured, content_type)
    finally:
        sha256 = measured.sha256()  # also ends the hashing thread when staging failed
    record = new_record(key, filename, original, measured.size, sha256, content_type)
    return Received(staged, record)


def new_record(
    key: str, filename: str, original: str, size: int, sha256: str, content_type: str, owner: str | None = None
) -> StoredFile:
    """The record of bytes stored under ``key``: the one place records are made (uploads and tus)."""
    return StoredFile(
        id=key,
        storage_key=key,
        filename=filename,
        original_filename=original,
        size=size,
        sha256=sha256,
        content_type=content_type,
        created=datetime.now(UTC),
        owner=owner,
    )


class Measured:
    """The chunks of one file, passed through unchanged, counted and hashed on the way.

    The backend writes the very chunks that were hashed: what the record
    says is what the store holds, with no second pass over the data.
    """

    def __init__(self, chunks: Iterable[bytes | memoryview]) -> None:
        self.chunks = chunks
        self.size = 0
        self._hasher = BackgroundSha256()

    def __iter__(self) -> Iterator[bytes | memoryview]:
        for chunk in self.chunks:
            self._hasher.update(chunk)
            self.size += len(chunk)
            yield chunk

    def sha256(self) -> str:
        """The hex digest of every chunk passed so far (waits for the hashing thread)."""
        return self._hasher.hexdigest()


def _commit_all(received: list[Received], storage: Storage) -> None:
    committed: list[Received] = []
    try:
        for file in received:
            storage.commit(file.staged)
            committed.append(file)
    except BaseException:
        for file in committed:
            storage.delete(file.record.storage_key)
        raise


def _too_large(upload_settings: UploadSettings) -> TooLarge:
    limit = format_size(upload_settings.max_size)
    return TooLarge(f"The upload is larger than the limit of {limit} (uploads.max_size)")


def includeme(config: Configurator) -> None:
    """Offer ``request.upload_settings``, and keep every byte of a body under ``temp_path``.

    Waitress spools request bodies larger than ``inbuf_overflow`` into an
    anonymous temp file in tempfile's default directory. Pointing that at
    ``uploads.temp_path`` means no byte of an upload ever lands outside the
    configured paths (and the spool sits on the same disk as the files it
    becomes).
    """
    upload_settings = config.registry["upload_settings"]
    tempfile.tempdir = str(upload_settings.temp_path)
    config.add_request_method(lambda request: request.registry["upload_settings"], "upload_settings", reify=True)
