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
from datetime import datetime
from typing import BinaryIO
from urllib.parse import quote

from pyramid.request import Request
from pyramid.response import Response

from .security import FILE_POLICY
from .sniffing import served_type
from .storage import StoredFile

BLOCK_SIZE = 1024 * 1024


class FileIter:
    """A WSGI ``app_iter`` over an open file, with a seeking ``app_iter_range``."""

    def __init__(self, file: BinaryIO, block_size: int = BLOCK_SIZE) -> None:
        self.file = file
        self.block_size = block_size

    def __iter__(self) -> Iterator[bytes]:
        while block := self.file.read(self.block_size):
            yield block

    def app_iter_range(self, start: int, stop: int | None) -> Iterator[bytes]:
        """Yield bytes ``start`` to ``stop`` (exclusive) without reading what precedes."""
        self.file.seek(start)
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
    whole = request.range is None and wrapper is not None
    app_iter = wrapper(file, BLOCK_SIZE) if whole else FileIter(file)
    response = Response(
        app_iter=app_iter,
        content_type=served_type(info.content_type),
        content_length=info.size,
        conditional_response=True,
        charset=None,
    )
    response.etag = info.sha256  # the content's own hash: a perfect strong validator
    response.last_modified = datetime.fromisoformat(info.created)
    response.accept_ranges = "bytes"
    response.cache_control = "private, no-cache"
    response.content_disposition = content_disposition(info.filename)
    response.headers["Content-Security-Policy"] = FILE_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII ``filename=`` and the real name in ``filename*``.

    RFC 6266: clients that understand ``filename*`` (all current browsers)
    use the UTF-8 name; older ones fall back to the ASCII approximation.
    """
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = "".join(char if char.isprintable() and char not in '"\\%' else "_" for char in ascii_name)
    if not ascii_name.strip("._ "):
        ascii_name = "download" + (filename[filename.rfind(".") :] if "." in filename else "")
        ascii_name = ascii_name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
