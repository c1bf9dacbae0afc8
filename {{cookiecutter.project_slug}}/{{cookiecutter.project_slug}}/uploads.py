"""Receive the files of one upload request: stream, check, stage, commit.

This is the upload path end to end, kept out of the view so it reads top to
bottom: the body is read in ``chunk_size`` pieces (never through
``request.POST``), split into parts as it arrives, each ``file`` part is
sniffed, checked and written straight to its temp file, and nothing becomes
visible until the closing boundary has been seen. Any refusal, at any
point, leaves nothing behind.
"""

from collections.abc import Iterator

from pyramid.request import Request

from .buffer import LimitExceeded, file_buffer
from .errors import BadRequest, TooLarge, UnsupportedType
from .multipart import Part, boundary_of, iter_parts
from .sanitizer import extension_of, secure_filename
from .security import CSRF_FIELD, csrf_valid, header_csrf_valid
from .settings import UploadSettings
from .sizes import format_size
from .sniffing import media_type_of, peek, sniff_type, type_allowed
from .storage import StagedFile, Storage, StoredFile

FILE_FIELD = "file"
MAX_FIELDS = 50
MAX_FIELD_BYTES = 64 * 1024


def receive_files(request: Request, config: UploadSettings, storage: Storage) -> list[StoredFile]:
    """Store every ``file`` part of ``request``: all of them, or none."""
    boundary = boundary_of(request.headers.get("Content-Type", ""))
    declared = declared_length(request.environ.get("CONTENT_LENGTH", ""))
    if declared is not None and declared > config.max_size:
        raise _too_large(config)

    staged: list[StagedFile] = []
    try:
        chunks = file_buffer(request.body_file, config.chunk_size, limit=config.max_size)
        _stage_parts(request, iter_parts(chunks, boundary), config, storage, staged)
        return _commit_all(staged, storage)
    except LimitExceeded:
        raise _too_large(config) from None
    finally:
        for file in staged:
            storage.discard(file)  # a no-op for files already committed


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
    config: UploadSettings,
    storage: Storage,
    staged: list[StagedFile],
) -> None:
    """Stage the file parts into ``staged`` (the caller cleans up on any error)."""
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
        if part.name != FILE_FIELD or part.filename == "":
            continue  # another file input, or "no file chosen": read past it
        # A part named ``file`` is a file whatever its parameters: without a
        # filename, or with one that sanitizes to nothing, it is "upload".
        if len(staged) == config.max_files:
            raise TooLarge(f"A request may carry at most {config.max_files} files (uploads.max_files)")
        staged.append(_stage(part, config, storage))
    if not csrf_ok:
        raise BadRequest("Missing or wrong CSRF token: reload the page and try again")
    if not staged:
        raise BadRequest("No file: choose at least one file to upload")


def _stage(part: Part, config: UploadSettings, storage: Storage) -> StagedFile:
    original = part.filename or ""
    filename = secure_filename(original)
    extension = extension_of(filename)
    if config.allowed_extensions and extension not in config.allowed_extensions:
        allowed = ", ".join(sorted(config.allowed_extensions))
        shown = f"Files of type .{extension}" if extension else "Files without an extension"
        raise UnsupportedType(f"{shown} are not accepted ({filename}); allowed: {allowed}")
    head, chunks = peek(part.body)
    content_type = sniff_type(head)
    if config.allowed_types and not type_allowed(content_type, config.allowed_types):
        allowed = ", ".join(config.allowed_types)
        shown = media_type_of(content_type)
        raise UnsupportedType(f"The file {filename} is {shown}, which is not accepted; allowed: {allowed}")
    return storage.stage(chunks, filename=filename, original_filename=original, content_type=content_type)


def _commit_all(staged: list[StagedFile], storage: Storage) -> list[StoredFile]:
    committed: list[StoredFile] = []
    try:
        for file in staged:
            committed.append(storage.commit(file))
    except BaseException:
        for info in committed:
            storage.delete(info.id)
        raise
    return committed


def _too_large(config: UploadSettings) -> TooLarge:
    return TooLarge(f"The upload is larger than the limit of {format_size(config.max_size)} (uploads.max_size)")
