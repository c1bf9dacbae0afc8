"""Serve a stored file: safe headers, conditional and ``Range`` requests, ``wsgi.file_wrapper``.

``conditional.evaluate`` decides the status from the request's
preconditions and ``Range`` (RFC 9110 sections 13-14; WebOb's
``conditional_response`` gets several of those rules wrong, see that
module). This module sends the answer cheaply: a whole file goes out
through the server's ``wsgi.file_wrapper``, which lets waitress send it
without our thread pushing every chunk through Python, and so does a range,
from the seeked file, when the server is waitress; elsewhere a range is read
by :class:`FileIter`, which seeks rather than reading and throwing away
every byte before the range.
"""

import unicodedata
from collections.abc import Callable, Iterator
from typing import BinaryIO
from urllib.parse import quote

from pyramid.httpexceptions import HTTPPreconditionFailed, HTTPRequestRangeNotSatisfiable
from pyramid.request import Request
from pyramid.response import Response

from .conditional import Validators, evaluate
from .models import StoredFile
from .sanitizer import secure_filename
from .security import FILE_POLICY
from .sniffing import served_type

BLOCK_SIZE = 1024 * 1024


class FileIter:
    """A WSGI ``app_iter`` over bytes ``start`` to ``stop`` (exclusive) of an open file.

    For servers whose ``wsgi.file_wrapper`` cannot send part of a file, and
    for streams that cannot seek (an object store's, opened at ``start``):
    one block at a time, so memory stays flat whatever the size.
    Under waitress a range is sent by its file wrapper too: yielded from
    here, waitress would spill every range past ``outbuf_overflow`` (1 MB)
    into a temp file and send it from there, writing to disk as much as it
    serves (``benchmarks/RESULTS.md``).
    """

    def __init__(self, file: BinaryIO, start: int, stop: int, block_size: int = BLOCK_SIZE) -> None:
        self.file = file
        self.start = start
        self.stop = stop
        self.block_size = block_size

    def __iter__(self) -> Iterator[bytes]:
        if self.file.seekable():  # a stream from an object store starts where it was opened
            self.file.seek(self.start)
        remaining = self.stop - self.start
        while remaining > 0 and (block := self.file.read(min(self.block_size, remaining))):
            remaining -= len(block)
            yield block

    def close(self) -> None:
        self.file.close()


def file_response(
    request: Request,
    info: StoredFile,
    open_range: Callable[[int, int], BinaryIO],
    presign: Callable[[str, str], str] | None = None,
) -> Response:
    """The response for ``GET`` or ``HEAD /files/{id}``: the bytes as an inert attachment.

    ``open_range(start, stop)`` opens bytes ``start`` to ``stop`` (exclusive)
    of the stored file, positioned at ``start``; it is called only when bytes
    are sent (never for ``HEAD``). Answers 200, 206 or 304; raises ``HTTPPreconditionFailed``
    (412) and ``HTTPRequestRangeNotSatisfiable`` (416, with
    ``Content-Range: bytes */length``).

    ``presign(content_type, content_disposition)``, when given, is a URL
    where the store itself serves the bytes with those headers: a 200 or 206
    becomes a 307 to it (preconditions and ranges were checked here first, so
    a 304, 412 or 416 costs the store nothing). 307, not 302 or 303: it keeps
    the method (``HEAD`` stays ``HEAD``) and the client sends its ``Range``
    again to the store, which answers the same 206.
    """
    last_modified = info.created
    answer = evaluate(request.method, request.environ, Validators(info.sha256, last_modified, info.size))
    response = Response(charset=None)
    # Sent with every answer, 304 included: a cache updates the stored
    # response's headers from a 304 (RFC 9111 section 4.3.4), and must keep
    # the file's policy rather than take the pages' default.
    response.etag = info.sha256  # the content's own hash: a perfect strong validator
    response.last_modified = last_modified
    response.cache_control = "private, no-cache"
    response.headers["Content-Security-Policy"] = FILE_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    if answer.status == 412:
        raise HTTPPreconditionFailed("The file does not meet the request's If-Match or If-Unmodified-Since")
    if answer.status == 416:
        # The error view renders the body (JSON or the page); a response
        # callback adds the length a 416 must state (RFC 9110 section 15.5.17).
        content_range = {"Content-Range": f"bytes */{info.size}"}
        request.add_response_callback(lambda _request, error: error.headers.update(content_range))
        raise HTTPRequestRangeNotSatisfiable(f"No requested range starts inside the file of {info.size} bytes")
    if answer.status == 304:
        # No body, and none of the body's headers (RFC 9110 section 15.4.5).
        response.status = 304
        for name in ("Content-Type", "Content-Length"):
            response.headers.pop(name, None)
        return response
    if presign is not None:
        # The presigned URL expires: no cache may keep this answer.
        response.status = 307
        response.location = presign(served_type(info.content_type), content_disposition(info.filename))
        response.cache_control = "private, no-store"
        return response
    response.status = answer.status
    response.accept_ranges = "bytes"
    response.content_type = served_type(info.content_type)
    response.content_disposition = content_disposition(info.filename)
    if request.method == "HEAD":
        # The record knows every header: the store is not asked (no GetObject
        # on S3, no open file here), and the server sends no body anyway.
        response.app_iter = ()
    else:
        file = open_range(answer.start, answer.stop)
        response.app_iter = _body(request, file, answer.start, answer.stop, whole=answer.status == 200)
    response.content_length = answer.stop - answer.start  # after app_iter, whose setter clears it
    if answer.status == 206:
        response.content_range = (answer.start, answer.stop, info.size)
    return response


def _body(request: Request, file: BinaryIO, start: int, stop: int, *, whole: bool) -> object:
    """The ``app_iter`` for bytes ``start`` to ``stop`` of ``file``: the server's file wrapper where it can."""
    wrapper = request.environ.get("wsgi.file_wrapper")
    if wrapper is not None and file.seekable() and (whole or _sends_from_position(wrapper)):
        file.seek(start)  # Content-Length tells waitress where to stop
        return wrapper(file, BLOCK_SIZE)
    return FileIter(file, start, stop)


def _sends_from_position(wrapper: object) -> bool:
    """Whether ``wrapper`` sends a file from its current position, no more than Content-Length.

    Waitress's ``ReadOnlyFileBasedBuffer`` does (its ``prepare(size)``). PEP
    3333 does not promise it of every server's wrapper (wsgiref's sends to the
    end of the file), so any other server gets the reading iterator.
    """
    return isinstance(wrapper, type) and callable(getattr(wrapper, "prepare", None))


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII ``filename=`` and the real name in ``filename*``.

    RFC 6266: clients that understand ``filename*`` (all current browsers)
    use the UTF-8 name; older ones fall back to the ASCII approximation.

    The approximation is sanitized again, stem and extension apart: folding
    to ASCII turns the fullwidth full stop, solidus and letters (U+FF0E,
    U+FF0F, U+FF23...) of a harmless name into ``.``, ``/`` and ``CON``, and
    a stem with no ASCII at all (``音乐.mp3``) would leave a hidden ``.mp3``;
    that one becomes ``download.mp3``.
    """
    filename = secure_filename(filename)  # idempotent; metadata is data on disk, not a promise
    stem, dot, extension = filename.rpartition(".")
    if not dot:
        stem, extension = extension, ""
    ascii_stem, ascii_extension = _ascii(stem), _ascii(extension)
    if not ascii_stem.strip("._- "):
        ascii_stem = "download"
    ascii_name = secure_filename(ascii_stem + ("." + ascii_extension if ascii_extension else ""))
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _ascii(text: str) -> str:
    """``text`` without accents or non-ASCII characters; ``%`` (some clients decode it) and slashes made ``_``."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(char if char.isprintable() and char not in "%/\\" else "_" for char in folded)
