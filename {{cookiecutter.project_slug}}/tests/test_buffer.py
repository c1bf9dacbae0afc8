"""``file_buffer``: fixed-size chunks from any stream, and a byte limit enforced while reading."""

import io

import pytest

from {{ cookiecutter.project_slug }}.buffer import LimitExceeded, file_buffer


class RecordingStream(io.RawIOBase):
    """A non-seekable stream that records every ``read`` it is asked for."""

    def __init__(self, data: bytes, max_read: int | None = None) -> None:
        self.data = data
        self.position = 0
        self.max_read = max_read  # like a socket: may return fewer bytes than asked
        self.requests: list[int] = []

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        assert size is not None and size >= 0, "file_buffer must never read 'everything'"
        self.requests.append(size)
        if self.max_read is not None:
            size = min(size, self.max_read)
        chunk = self.data[self.position : self.position + size]
        self.position += len(chunk)
        return chunk

    def seek(self, *args: object) -> int:
        raise io.UnsupportedOperation("request bodies are not seekable")

    @property
    def consumed(self) -> int:
        return self.position


def test_yields_the_whole_stream_in_chunks_of_chunk_size() -> None:
    data = bytes(range(256)) * 40  # 10240 bytes
    chunks = list(file_buffer(io.BytesIO(data), 1000))
    assert [len(chunk) for chunk in chunks] == [1000] * 10 + [240]
    assert b"".join(chunks) == data


def test_an_empty_stream_yields_nothing() -> None:
    assert list(file_buffer(io.BytesIO(b""), 1024)) == []


def test_never_asks_the_stream_for_more_than_one_chunk() -> None:
    stream = RecordingStream(b"x" * 5000)
    list(file_buffer(stream, 512))
    assert stream.requests
    assert max(stream.requests) == 512


def test_holds_one_chunk_at_a_time() -> None:
    stream = RecordingStream(b"abcdefghij" * 100)
    chunks = file_buffer(stream, 100)
    next(chunks)
    # Consuming one chunk has read exactly one chunk from the stream, no read-ahead.
    assert stream.consumed == 100
    next(chunks)
    assert stream.consumed == 200


def test_works_on_streams_that_cannot_seek() -> None:
    stream = RecordingStream(b"payload" * 10)
    assert b"".join(file_buffer(stream, 16)) == b"payload" * 10


def test_passes_on_short_reads_and_keeps_reading_until_end_of_stream() -> None:
    data = bytes(range(200))
    stream = RecordingStream(data, max_read=7)
    assert b"".join(file_buffer(stream, 64)) == data


def test_stream_exactly_at_the_limit_is_accepted() -> None:
    data = b"a" * 1000
    assert b"".join(file_buffer(io.BytesIO(data), 64, limit=1000)) == data


def test_one_byte_over_the_limit_raises_limit_exceeded() -> None:
    with pytest.raises(LimitExceeded) as raised:
        b"".join(file_buffer(io.BytesIO(b"a" * 1001), 64, limit=1000))
    assert raised.value.limit == 1000


def test_limit_is_enforced_when_it_falls_inside_a_chunk() -> None:
    with pytest.raises(LimitExceeded):
        list(file_buffer(io.BytesIO(b"a" * 150), 100, limit=120))


def test_reads_no_more_than_limit_plus_one_byte_of_a_huge_stream() -> None:
    stream = RecordingStream(b"z" * 1_000_000)
    with pytest.raises(LimitExceeded):
        for _ in file_buffer(stream, 4096, limit=10_000):
            pass
    assert stream.consumed == 10_001


def test_raises_before_yielding_the_chunk_that_crosses_the_limit() -> None:
    received = bytearray()
    with pytest.raises(LimitExceeded):
        for chunk in file_buffer(io.BytesIO(b"b" * 300), 100, limit=250):
            received += chunk
    assert len(received) <= 250


def test_limit_of_a_stream_delivered_in_short_reads_is_still_exact() -> None:
    stream = RecordingStream(b"q" * 500, max_read=3)
    with pytest.raises(LimitExceeded):
        list(file_buffer(stream, 64, limit=100))
    assert stream.consumed == 101


def test_chunk_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        list(file_buffer(io.BytesIO(b"data"), 0))
