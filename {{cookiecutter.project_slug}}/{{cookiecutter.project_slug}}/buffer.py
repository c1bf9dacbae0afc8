"""Read a stream in fixed-size chunks, never holding more than one chunk.

This is the cookbook's ``file_buffer`` done right: it does not ``seek(0)``
(request bodies are not seekable), it stops at end of stream, and it can
enforce a byte limit *while* reading, which is the only way to bound a body
whose length was not declared up front (``Transfer-Encoding: chunked``).
"""

from collections.abc import Iterator
from typing import BinaryIO


class LimitExceeded(Exception):
    """The stream went past the byte limit given to :func:`file_buffer`."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


def file_buffer(stream: BinaryIO, chunk_size: int, limit: int | None = None) -> Iterator[bytes]:
    """Yield the bytes of ``stream`` in chunks of at most ``chunk_size``.

    With a ``limit``, raise :class:`LimitExceeded` as soon as the stream has
    produced more than ``limit`` bytes: we read at most one byte past the
    limit (to tell "exactly at the limit" from "over it"), never the rest.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    remaining = None if limit is None else limit + 1
    while True:
        want = chunk_size if remaining is None else min(chunk_size, remaining)
        chunk = stream.read(want)
        if not chunk:
            return
        if remaining is not None:
            remaining -= len(chunk)
            if remaining == 0:
                raise LimitExceeded(limit)
        yield chunk
