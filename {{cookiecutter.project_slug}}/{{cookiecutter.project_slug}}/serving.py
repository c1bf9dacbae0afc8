"""Serve a stored file: safe headers, ``Range`` requests, ``wsgi.file_wrapper``.

WebOb does the HTTP bookkeeping (``If-None-Match`` gives 304, ``Range``
gives 206) when a response has ``conditional_response=True``. What it cannot
know is how to read a range cheaply: given a plain iterator it would read
and throw away every byte before the range. So a ranged request gets a
:class:`FileIter` that seeks, and a whole-file request gets the server's
``wsgi.file_wrapper``, which lets waitress send the file without our
thread pushing every chunk through Python.
"""

import unicodedata
from collections.abc import Iterator
from typing import BinaryIO
from urllib.parse import quote

from pyramid.request import Request
from pyramid.response import Response
from webob.byterange import Range

from .models import StoredFile
from .sanitizer import secure_filename
from .security import FILE_POLICY
from .sniffing import served_type

BLOCK_SIZE = 1024 * 1024


class FileIter:
    """A WSGI ``app_iter`` over an open file, with a seeking ``app_iter_range``.

    Given waitress's ``wsgi.file_wrapper``, a range is sent by waitress
    straight from the file too: yielded from here, waitress would spill every
    range past ``outbuf_overflow`` (1 MB) into a temp file and send it from
    there, writing to disk as much as it serves (``benchmarks/RESULTS.md``).
    """

    def __init__(self, file: BinaryIO, block_size: int = BLOCK_SIZE, wrapper: object = None) -> None:
        self.file = file
        self.block_size = block_size
        self.wrapper = wrapper

    def __iter__(self) -> Iterator[bytes]:
        while block := self.file.read(self.block_size):
            yield block

    def app_iter_range(self, start: int, stop: int | None) -> Iterator[bytes]:
        """Yield bytes ``start`` to ``stop`` (exclusive) without reading what precedes."""
        self.file.seek(start)
        if _sends_from_position(self.wrapper):
            # WebOb has set Content-Length to ``stop - start``.
            return self.wrapper(self.file, self.block_size)
        return self._read_range(start, stop)

    def _read_range(self, start: int, stop: int | None) -> Iterator[bytes]:
        remaining = None if stop is None else stop - start
        while remaining is None or remaining > 0:
            block = self.file.read(self.block_size if remaining is None else min(self.block_size, remaining))
            if not block:
                return
            if remaining is not None:
                remaining -= len(block)
            yield block

    def close(self) -> None:
        self.file.close()


def file_response(request: Request, info: StoredFile, file: BinaryIO) -> Response:
    """The response for ``GET /files/{id}``: the bytes as an inert attachment."""
    wrapper = request.environ.get("wsgi.file_wrapper")
    whole = _requested_range(request) is None and wrapper is not None
    app_iter = wrapper(file, BLOCK_SIZE) if whole else FileIter(file, wrapper=wrapper)
    response = Response(
        app_iter=app_iter,
        content_type=served_type(info.content_type),
        content_length=info.size,
        conditional_response=True,
        charset=None,
    )
    response.etag = info.sha256  # the content's own hash: a perfect strong validator
    response.last_modified = info.created
    response.accept_ranges = "bytes"
    response.cache_control = "private, no-cache"
    response.content_disposition = content_disposition(info.filename)
    response.headers["Content-Security-Policy"] = FILE_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _requested_range(request: Request) -> Range | None:
    """The request's ``Range``, or ``None`` when there is none or it cannot be parsed.

    WebOb raises ``ValueError`` on some malformed values (``bytes=--1``),
    here and again when it answers the conditional response. RFC 9110 lets a
    server ignore a Range it does not understand, so the header is dropped
    from the request and the whole file is sent, rather than a 500.
    """
    try:
        return request.range
    except ValueError:
        request.environ.pop("HTTP_RANGE", None)
        return None


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
