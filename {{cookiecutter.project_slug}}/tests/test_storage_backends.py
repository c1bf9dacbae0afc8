"""The storage interface, checked on every backend: what the upload path and the views rely on.

Each backend is built the way the application builds it, from settings
(``storage.from_settings``). A new backend joins by adding its settings to
``BACKEND_SETTINGS`` (and, if it needs a server, a fixture that starts one).
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from {{ cookiecutter.project_slug }}.errors import StorageFailed
from {{ cookiecutter.project_slug }}.settings import load
from {{ cookiecutter.project_slug }}.storage import KEY_PATTERN, NotFound, Storage, from_settings

BACKEND_SETTINGS = {
    "local": {"uploads.storage": "local", "uploads.storage_path": "store", "uploads.temp_path": "tmp"},
}
KEY = "0123456789abcdef0123456789abcdef"
OTHER_KEY = "fedcba9876543210fedcba9876543210"


@pytest.fixture(params=sorted(BACKEND_SETTINGS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    settings = BACKEND_SETTINGS[request.param]
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
