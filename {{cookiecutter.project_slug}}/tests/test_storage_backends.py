"""The storage interface, checked on every backend: what the upload path and the views rely on.

Each backend is built the way the application builds it, from settings
(``storage.from_settings``). A new backend joins by adding its settings to
``BACKEND_SETTINGS`` (and, if it needs a server, a fixture that starts one:
S3 runs on a real Ceph RADOS Gateway, ``ceph.py``).
"""

import hashlib
import os
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from {{ cookiecutter.project_slug }}.errors import StorageFailed
from {{ cookiecutter.project_slug }}.settings import load
from {{ cookiecutter.project_slug }}.storage import KEY_PATTERN, NotFound, Storage, from_settings, supports_resumable

PATHS = {"uploads.storage_path": "store", "uploads.temp_path": "tmp"}
BACKEND_SETTINGS = {
    "local": {"uploads.storage": "local", **PATHS},
    # And the bucket of the session's Ceph gateway (``s3_settings``); parts of 5 MiB, S3's
    # smallest, so that the resumable tests below cross parts with few bytes.
    "s3": {**PATHS, "uploads.s3.part_size": "5MiB"},
}
MIB = 1024 * 1024
KEY = "0123456789abcdef0123456789abcdef"
OTHER_KEY = "fedcba9876543210fedcba9876543210"


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    settings = BACKEND_SETTINGS[request.param]
    if request.param == "s3":
        settings = {**settings, **request.getfixturevalue("s3_settings")}
    storage = from_settings(settings, load(settings, tmp_path))
    storage.recover()
    return storage


def put(storage: Storage, key: str, data: bytes) -> None:
    storage.commit(storage.stage(key, [data[i : i + 1000] for i in range(0, len(data), 1000)]))


def read(storage: Storage, key: str, start: int = 0, stop: int | None = None) -> bytes:
    with storage.open(key, start, stop) as stream:
        data = stream.read()
    return data if stop is None else data[: stop - start]


def keys(storage: Storage) -> set[str]:
    return {stored.key for stored in storage.list_keys()}


def test_staged_bytes_are_not_readable_until_committed(backend: Storage) -> None:
    staged = backend.stage(KEY, [b"abc", b"def"])
    with pytest.raises(NotFound):
        backend.open(KEY)
    assert keys(backend) == set()
    backend.commit(staged)
    assert read(backend, KEY) == b"abcdef"
    assert keys(backend) == {KEY}


def test_discard_forgets_staged_bytes(backend: Storage) -> None:
    backend.discard(backend.stage(KEY, [b"data"]))
    with pytest.raises(NotFound):
        backend.open(KEY)
    assert keys(backend) == set()


def test_discard_after_commit_and_twice_is_harmless(backend: Storage) -> None:
    staged = backend.stage(KEY, [b"data"])
    backend.commit(staged)
    backend.discard(staged)
    backend.discard(staged)
    assert read(backend, KEY) == b"data"


def test_bytes_come_back_exactly_whatever_the_chunking(backend: Storage) -> None:
    data = os.urandom(300_001)
    view = memoryview(data)
    backend.commit(backend.stage(KEY, [view[:1], view[1:70_000], b"", view[70_000:]]))
    assert read(backend, KEY) == data


def test_an_empty_file_is_kept(backend: Storage) -> None:
    put(backend, KEY, b"")
    assert read(backend, KEY) == b""


def test_open_reads_a_byte_range(backend: Storage) -> None:
    data = bytes(range(256)) * 40
    put(backend, KEY, data)
    assert read(backend, KEY, 1000, 1500) == data[1000:1500]
    assert read(backend, KEY, 10_000) == data[10_000:]


def test_an_error_in_the_stream_propagates_and_keeps_nothing(backend: Storage) -> None:
    class Interrupted(Exception):
        pass

    def chunks() -> Iterator[bytes]:
        yield b"x" * 100_000
        raise Interrupted

    with pytest.raises(Interrupted):
        backend.stage(KEY, chunks())
    assert keys(backend) == set()
    backend.recover()
    assert keys(backend) == set()


def test_commit_never_replaces_bytes_under_an_existing_key(backend: Storage) -> None:
    put(backend, KEY, b"the original")
    with pytest.raises(StorageFailed):
        put(backend, KEY, b"an intruder")
    assert read(backend, KEY) == b"the original"


def test_delete_removes_only_that_key(backend: Storage) -> None:
    put(backend, KEY, b"gone")
    put(backend, OTHER_KEY, b"kept")
    backend.delete(KEY)
    with pytest.raises(NotFound):
        backend.open(KEY)
    assert keys(backend) == {OTHER_KEY}


def test_delete_of_a_missing_key_is_not_found(backend: Storage) -> None:
    with pytest.raises(NotFound):
        backend.delete(KEY)


@pytest.mark.parametrize("key", ["../store", "..", "", "ABCDEF0123456789abcdef0123456789", "a" * 31, "a" * 33])
def test_keys_we_could_not_have_made_are_refused(backend: Storage, key: str) -> None:
    with pytest.raises(NotFound):
        backend.open(key)
    with pytest.raises(NotFound):
        backend.delete(key)
    with pytest.raises(NotFound):
        backend.stage(key, [b"x"])


def test_list_keys_gives_each_committed_key_with_its_age(backend: Storage) -> None:
    put(backend, KEY, b"a")
    put(backend, OTHER_KEY, b"b")
    listed = {stored.key: stored.age for stored in backend.list_keys()}
    assert set(listed) == {KEY, OTHER_KEY}
    assert all(KEY_PATTERN.fullmatch(key) for key in listed)
    assert all(0 <= age < 3600 for age in listed.values())


def test_recover_keeps_committed_bytes(backend: Storage) -> None:
    put(backend, KEY, b"committed")
    backend.stage(OTHER_KEY, [b"staged, never committed"])  # as a crash would leave it
    backend.recover()
    assert read(backend, KEY) == b"committed"
    with pytest.raises(NotFound):
        backend.open(OTHER_KEY)


# -- the resumable capability (tus): every backend that offers it ------------------------------


@pytest.fixture
def resumable(backend: Storage) -> Storage:
    if not supports_resumable(backend):
        pytest.skip("this backend does not keep resumable uploads")
    return backend


def test_appends_grow_an_upload_that_completes_into_committed_bytes(resumable) -> None:
    resumable.start_resumable(KEY)
    assert resumable.append(KEY, 0, [b"abc", b"def"]) == 6
    assert resumable.append(KEY, 6, [b"ghi"]) == 9
    assert b"".join(resumable.read_resumable(KEY, 9)) == b"abcdefghi"
    staged = resumable.complete_resumable(KEY, 9)
    assert b"".join(resumable.read_resumable(KEY, 9)) == b"abcdefghi"  # readable until committed
    resumable.commit(staged)
    assert read(resumable, KEY) == b"abcdefghi"


def test_an_append_whose_chunks_fail_keeps_none_of_them(resumable) -> None:
    resumable.start_resumable(KEY)
    resumable.append(KEY, 0, [b"kept"])

    def broken():
        yield b"lost"
        raise ValueError("the body broke")

    with pytest.raises(ValueError):
        resumable.append(KEY, 4, broken())
    assert resumable.append(KEY, 4, [b"-more"]) == 9
    assert b"".join(resumable.read_resumable(KEY, 9)) == b"kept-more"


def test_an_append_drops_bytes_past_its_offset(resumable) -> None:
    resumable.start_resumable(KEY)
    resumable.append(KEY, 0, [b"abcdef"])  # as if the catalogue's offset had not moved past 3
    assert resumable.append(KEY, 3, [b"XYZ"]) == 6
    assert b"".join(resumable.read_resumable(KEY, 6)) == b"abcXYZ"


def test_abort_forgets_a_resumable_upload_and_is_harmless_twice(resumable) -> None:
    resumable.start_resumable(KEY)
    resumable.append(KEY, 0, [b"x"])
    resumable.abort_resumable(KEY)
    resumable.abort_resumable(KEY)
    with pytest.raises(NotFound):
        resumable.append(KEY, 0, [b"y"])
    assert [stored.key for stored in resumable.list_resumable()] == []


def test_resumable_uploads_survive_recover(resumable) -> None:
    resumable.start_resumable(KEY)
    resumable.append(KEY, 0, [b"before the restart"])
    resumable.recover()
    assert [stored.key for stored in resumable.list_resumable()] == [KEY]
    assert b"".join(resumable.read_resumable(KEY, 18)) == b"before the restart"


# Sizes in MiB: on S3 (5 MiB parts here) appends fill whole parts and leave tails.


def in_pieces(data: bytes, size: int = MIB) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_appends_across_parts_come_back_exactly(resumable) -> None:
    data = os.urandom(13 * MIB + 7)
    resumable.start_resumable(KEY)
    # A tail alone, one byte more, two whole parts and a tail, then the rest.
    for start, stop in pairwise([0, 3 * MIB, 3 * MIB + 1, 11 * MIB, len(data)]):
        assert resumable.append(KEY, start, in_pieces(data[start:stop])) == stop
    staged = resumable.complete_resumable(KEY, len(data))
    digest = hashlib.sha256(b"".join(resumable.read_resumable(KEY, len(data)))).hexdigest()
    assert digest == hashlib.sha256(data).hexdigest()
    resumable.commit(staged)
    assert read(resumable, KEY) == data
    assert list(resumable.list_resumable()) == []


def test_a_failed_append_that_had_sent_whole_parts_keeps_none_of_them(resumable) -> None:
    data = os.urandom(12 * MIB)
    resumable.start_resumable(KEY)
    resumable.append(KEY, 0, [data[: 2 * MIB]])

    def broken() -> Iterator[bytes]:
        yield from in_pieces(os.urandom(9 * MIB))  # a whole part and more, then the body breaks
        raise ValueError("the body broke")

    with pytest.raises(ValueError):
        resumable.append(KEY, 2 * MIB, broken())
    assert resumable.append(KEY, 2 * MIB, in_pieces(data[2 * MIB :])) == len(data)
    resumable.commit(resumable.complete_resumable(KEY, len(data)))
    assert read(resumable, KEY) == data


def test_an_append_the_catalogue_never_recorded_is_replaced_by_the_next_one(resumable) -> None:
    data = os.urandom(12 * MIB)
    resumable.start_resumable(KEY)
    resumable.append(KEY, 0, [data[: 3 * MIB]])
    # A crash after this append returned, before the catalogue recorded its offset of 9 MiB:
    assert resumable.append(KEY, 3 * MIB, in_pieces(os.urandom(6 * MIB))) == 9 * MIB
    # so the client sends the same offset again, with the right bytes.
    assert resumable.append(KEY, 3 * MIB, in_pieces(data[3 * MIB :])) == len(data)
    resumable.commit(resumable.complete_resumable(KEY, len(data)))
    assert read(resumable, KEY) == data


def test_a_completed_upload_never_committed_is_readable_then_forgotten_by_abort(resumable) -> None:
    data = os.urandom(6 * MIB + 1)  # a finished partial upload, as concatenation reads it
    resumable.start_resumable(KEY)
    resumable.append(KEY, 0, in_pieces(data))
    resumable.complete_resumable(KEY, len(data))
    resumable.complete_resumable(KEY, len(data))  # again: harmless
    assert b"".join(resumable.read_resumable(KEY, len(data))) == data
    resumable.abort_resumable(KEY)
    assert keys(resumable) == set()
    assert list(resumable.list_resumable()) == []
