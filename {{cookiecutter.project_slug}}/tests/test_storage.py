"""``LocalStorage``: stage, commit, discard, read, list, delete, recover, and moving across filesystems."""

import errno
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from {{ cookiecutter.project_slug }}.errors import StorageFailed
from {{ cookiecutter.project_slug }}.storage import (
    ID_PATTERN,
    INCOMING_PREFIX,
    TEMP_PREFIX,
    LocalStorage,
    NotFound,
    StoredFile,
)

SHM = Path("/dev/shm")


@pytest.fixture
def store(tmp_path: Path) -> LocalStorage:
    storage = LocalStorage(tmp_path / "store", tmp_path / "tmp", fsync=True, file_mode=0o640, dir_mode=0o750)
    storage.recover()
    return storage


def put(
    storage: LocalStorage,
    data: bytes,
    filename: str = "song.mp3",
    original: str | None = None,
    content_type: str = "audio/mpeg",
) -> StoredFile:
    chunks = [data[i : i + 1000] for i in range(0, len(data), 1000)]
    staged = storage.stage(chunks, filename=filename, original_filename=original or filename, content_type=content_type)
    return storage.commit(staged)


def entries(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


# -- stage / commit / discard ---------------------------------------------------


def test_stage_writes_into_temp_path_and_is_not_visible(store: LocalStorage) -> None:
    staged = store.stage([b"abc", b"def"], filename="a.txt", original_filename="a.txt", content_type="text/plain")
    assert staged.temp_path.parent == store.temp_path
    assert staged.temp_path.name.startswith(TEMP_PREFIX)
    assert staged.temp_path.read_bytes() == b"abcdef"
    assert entries(store.storage_path) == []
    assert store.list() == []


def test_stage_records_size_and_sha256_of_the_bytes(store: LocalStorage) -> None:
    data = os.urandom(250_000)
    staged = store.stage(
        iter([data[:100_000], data[100_000:]]), filename="x", original_filename="x", content_type="t/t"
    )
    assert staged.info.size == len(data)
    assert staged.info.sha256 == hashlib.sha256(data).hexdigest()


def test_stage_accepts_memoryview_chunks(store: LocalStorage) -> None:
    data = b"0123456789" * 100
    view = memoryview(data)
    staged = store.stage([view[:500], view[500:]], filename="x", original_filename="x", content_type="t/t")
    assert staged.temp_path.read_bytes() == data
    assert staged.info.sha256 == hashlib.sha256(data).hexdigest()


def test_empty_file_can_be_stored(store: LocalStorage) -> None:
    info = put(store, b"")
    assert info.size == 0
    assert info.sha256 == hashlib.sha256(b"").hexdigest()
    with store.open(info.id) as stream:
        assert stream.read() == b""


def test_commit_makes_the_file_and_its_metadata_visible(store: LocalStorage) -> None:
    info = put(store, b"hello world")
    assert entries(store.storage_path) == sorted([info.id, info.id + ".json"])
    assert entries(store.temp_path) == []
    with store.open(info.id) as stream:
        assert stream.read() == b"hello world"
    assert store.metadata(info.id) == info


def test_discard_removes_the_staged_file(store: LocalStorage) -> None:
    staged = store.stage([b"data"], filename="a", original_filename="a", content_type="t/t")
    store.discard(staged)
    assert entries(store.temp_path) == []
    assert entries(store.storage_path) == []


def test_discard_after_commit_is_harmless(store: LocalStorage) -> None:
    staged = store.stage([b"data"], filename="a", original_filename="a", content_type="t/t")
    info = store.commit(staged)
    store.discard(staged)
    with store.open(info.id) as stream:
        assert stream.read() == b"data"


def test_stored_files_get_file_mode(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "s", tmp_path / "t", file_mode=0o604)
    storage.recover()
    info = put(storage, b"x")
    assert stat.S_IMODE((storage.storage_path / info.id).stat().st_mode) == 0o604
    assert stat.S_IMODE((storage.storage_path / (info.id + ".json")).stat().st_mode) == 0o604


def test_exception_in_the_middle_of_the_stream_removes_the_temp_file(store: LocalStorage) -> None:
    class Interrupted(Exception):
        pass

    def chunks() -> Iterator[bytes]:
        yield b"first part of the file"
        yield b"x" * 100_000
        raise Interrupted

    with pytest.raises(Interrupted):
        store.stage(chunks(), filename="a", original_filename="a", content_type="t/t")
    assert entries(store.temp_path) == []
    assert entries(store.storage_path) == []


def test_keyboard_interrupt_in_the_middle_of_the_stream_removes_the_temp_file(store: LocalStorage) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"abc"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.stage(chunks(), filename="a", original_filename="a", content_type="t/t")
    assert entries(store.temp_path) == []


def test_failure_while_writing_metadata_removes_the_data_and_all_temp_files(
    store: LocalStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged = store.stage([b"data"], filename="a", original_filename="a", content_type="t/t")

    def broken_dump(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(json, "dump", broken_dump)
    with pytest.raises(StorageFailed):
        store.commit(staged)
    assert entries(store.storage_path) == []
    assert entries(store.temp_path) == []


# -- ids ----------------------------------------------------------------------


def test_ids_are_random_hex_and_not_derived_from_the_name(store: LocalStorage) -> None:
    first = put(store, b"same", filename="same.txt")
    second = put(store, b"same", filename="same.txt")
    assert ID_PATTERN.fullmatch(first.id)
    assert ID_PATTERN.fullmatch(second.id)
    assert first.id != second.id
    assert "same" not in first.id


def test_a_hostile_client_name_never_becomes_a_path(store: LocalStorage, tmp_path: Path) -> None:
    info = put(store, b"x", filename="passwd", original="../../../../etc/passwd")
    assert entries(store.storage_path) == sorted([info.id, info.id + ".json"])
    assert not (tmp_path / "etc").exists()


def test_never_overwrites_an_existing_file_when_ids_collide(
    store: LocalStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = put(store, b"the original bytes")
    monkeypatch.setattr("secrets.token_hex", lambda nbytes=None: first.id)
    with pytest.raises(StorageFailed):
        put(store, b"an intruder", filename="other.txt")
    with store.open(first.id) as stream:
        assert stream.read() == b"the original bytes"
    assert store.metadata(first.id) == first
    assert entries(store.temp_path) == []


@pytest.mark.parametrize("file_id", ["../store", "..", "", "ABCDEF0123456789abcdef0123456789", "a" * 31, "a" * 33])
def test_ids_that_we_could_not_have_made_are_not_found(store: LocalStorage, file_id: str) -> None:
    with pytest.raises(NotFound):
        store.metadata(file_id)
    with pytest.raises(NotFound):
        store.open(file_id)
    with pytest.raises(NotFound):
        store.delete(file_id)


# -- metadata -------------------------------------------------------------------


def test_metadata_holds_names_size_hash_type_and_creation_time(store: LocalStorage) -> None:
    before = datetime.now().astimezone()
    info = put(store, b"\x00" * 1234, filename="My Song.mp3", original="C:\\music\\My Song.mp3", content_type="audio/x")
    after = datetime.now().astimezone()
    assert info.filename == "My Song.mp3"
    assert info.original_filename == "C:\\music\\My Song.mp3"
    assert info.size == 1234
    assert info.sha256 == hashlib.sha256(b"\x00" * 1234).hexdigest()
    assert info.content_type == "audio/x"
    created = datetime.fromisoformat(info.created)
    assert created.utcoffset().total_seconds() == 0
    assert before <= created <= after


def test_metadata_survives_a_restart(store: LocalStorage) -> None:
    info = put(store, "фото ☃.jpg".encode(), filename="фото ☃.jpg", original="фото ☃.jpg", content_type="image/jpeg")
    restarted = LocalStorage(store.storage_path, store.temp_path)
    restarted.recover()
    assert restarted.metadata(info.id) == info
    assert restarted.list() == [info]
    with restarted.open(info.id) as stream:
        assert stream.read() == "фото ☃.jpg".encode()


def test_file_without_metadata_does_not_exist(store: LocalStorage) -> None:
    info = put(store, b"x")
    (store.storage_path / (info.id + ".json")).unlink()
    with pytest.raises(NotFound):
        store.metadata(info.id)
    with pytest.raises(NotFound):
        store.open(info.id)
    assert store.list() == []


def test_corrupt_metadata_is_not_listed(store: LocalStorage) -> None:
    info = put(store, b"x")
    (store.storage_path / (info.id + ".json")).write_text("{not json", encoding="utf-8")
    assert store.list() == []
    with pytest.raises(NotFound):
        store.metadata(info.id)


# -- list / delete ----------------------------------------------------------------


def test_list_is_newest_first(store: LocalStorage) -> None:
    stored = [put(store, bytes([n]), filename=f"{n}.bin") for n in range(5)]
    assert [info.id for info in store.list()] == [info.id for info in reversed(stored)]


def test_list_ignores_unrelated_files_in_storage_path(store: LocalStorage) -> None:
    info = put(store, b"x")
    (store.storage_path / "README.json").write_text("{}", encoding="utf-8")
    (store.storage_path / "notes.txt").write_text("hello", encoding="utf-8")
    assert store.list() == [info]


def test_delete_removes_the_file_and_its_metadata(store: LocalStorage) -> None:
    keep = put(store, b"keep")
    gone = put(store, b"gone")
    store.delete(gone.id)
    assert entries(store.storage_path) == sorted([keep.id, keep.id + ".json"])
    with pytest.raises(NotFound):
        store.metadata(gone.id)
    assert store.list() == [keep]


def test_delete_of_an_unknown_id_is_not_found(store: LocalStorage) -> None:
    with pytest.raises(NotFound):
        store.delete("0" * 32)


def test_delete_twice_is_not_found_the_second_time(store: LocalStorage) -> None:
    info = put(store, b"x")
    store.delete(info.id)
    with pytest.raises(NotFound):
        store.delete(info.id)


# -- recover ------------------------------------------------------------------------


def test_recover_creates_missing_directories_with_dir_mode(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "a" / "store", tmp_path / "b" / "tmp", dir_mode=0o711)
    storage.recover()
    assert stat.S_IMODE(storage.storage_path.stat().st_mode) == 0o711
    assert stat.S_IMODE(storage.temp_path.stat().st_mode) == 0o711


def test_recover_removes_stale_temp_files(store: LocalStorage) -> None:
    (store.temp_path / f"{TEMP_PREFIX}abc.part").write_bytes(b"half an upload")
    (store.temp_path / f"{TEMP_PREFIX}def.json").write_bytes(b"{")
    (store.storage_path / f"{INCOMING_PREFIX}xyz").write_bytes(b"half a copy")
    store.recover()
    assert entries(store.temp_path) == []
    assert entries(store.storage_path) == []


def test_recover_removes_data_without_metadata_and_metadata_without_data(store: LocalStorage) -> None:
    keep = put(store, b"complete")
    data_only = put(store, b"data only")
    meta_only = put(store, b"metadata only")
    (store.storage_path / (data_only.id + ".json")).unlink()
    (store.storage_path / meta_only.id).unlink()
    store.recover()
    assert entries(store.storage_path) == sorted([keep.id, keep.id + ".json"])


def test_recover_leaves_files_it_did_not_make_alone(store: LocalStorage) -> None:
    (store.storage_path / "README.txt").write_text("operator's note", encoding="utf-8")
    (store.temp_path / "something-else").write_text("not ours", encoding="utf-8")
    store.recover()
    assert entries(store.storage_path) == ["README.txt"]
    assert entries(store.temp_path) == ["something-else"]


# -- across filesystems ----------------------------------------------------------


@pytest.fixture
def other_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A directory on tmpfs, which is a different filesystem from ``tmp_path``'s disk."""
    with tempfile.TemporaryDirectory(dir=SHM, prefix="uploads-test-") as name:
        path = Path(name)
        if path.stat().st_dev == tmp_path.stat().st_dev:
            pytest.fail(f"{SHM} and {tmp_path} are on the same filesystem: this test cannot prove anything")
        yield path


def test_temp_path_on_another_filesystem_still_links_atomically_into_storage_path(
    tmp_path: Path, other_filesystem: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = LocalStorage(tmp_path / "store", other_filesystem / "tmp")
    storage.recover()
    assert storage.storage_path.stat().st_dev != storage.temp_path.stat().st_dev
    links: list[tuple[Path, Path, str]] = []
    real_link = os.link

    def recording_link(source: os.PathLike, destination: os.PathLike) -> None:
        try:
            real_link(source, destination)
        except OSError as error:
            links.append((Path(source), Path(destination), errno.errorcode[error.errno]))
            raise
        links.append((Path(source), Path(destination), "ok"))

    monkeypatch.setattr(os, "link", recording_link)
    data = os.urandom(300_000)
    info = put(storage, data)

    assert entries(storage.storage_path) == sorted([info.id, info.id + ".json"])
    assert entries(storage.temp_path) == []
    with storage.open(info.id) as stream:
        assert stream.read() == data
    # Every link that succeeded went from a hidden file inside storage_path to its final name.
    successful = [(source, destination) for source, destination, outcome in links if outcome == "ok"]
    assert [destination.name for _, destination in successful] == [info.id, info.id + ".json"]
    for source, destination in successful:
        assert source.parent == storage.storage_path
        assert source.name.startswith(INCOMING_PREFIX)
        assert destination.parent == storage.storage_path
    assert {outcome for *_, outcome in links} == {"ok", "EXDEV"}


def test_cross_device_link_falls_back_to_copy_and_link(store: LocalStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    real_link = os.link

    def link_refusing_temp_path(source: os.PathLike, destination: os.PathLike) -> None:
        if Path(source).parent == store.temp_path:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_link(source, destination)

    monkeypatch.setattr(os, "link", link_refusing_temp_path)
    data = os.urandom(50_000)
    info = put(store, data)
    with store.open(info.id) as stream:
        assert stream.read() == data
    assert store.metadata(info.id) == info
    assert entries(store.storage_path) == sorted([info.id, info.id + ".json"])
    assert entries(store.temp_path) == []


def test_failed_cross_device_copy_leaves_nothing_behind(store: LocalStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    real_link = os.link

    def link(source: os.PathLike, destination: os.PathLike) -> None:
        if Path(source).parent == store.temp_path:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        if Path(source).name.startswith(INCOMING_PREFIX):
            raise OSError(errno.EIO, "Input/output error")
        real_link(source, destination)

    monkeypatch.setattr(os, "link", link)
    with pytest.raises(StorageFailed):
        put(store, b"doomed")
    assert entries(store.storage_path) == []
    assert entries(store.temp_path) == []


# -- fsync -------------------------------------------------------------------------


def fsynced_paths(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    synced: list[Path] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(Path(os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    return synced


def test_fsync_true_syncs_data_metadata_and_the_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = LocalStorage(tmp_path / "s", tmp_path / "t", fsync=True)
    storage.recover()
    synced = fsynced_paths(monkeypatch)
    put(storage, b"durable")
    assert storage.storage_path in synced
    assert len([path for path in synced if path.parent == storage.temp_path]) == 2  # data, then metadata


def test_fsync_false_never_syncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = LocalStorage(tmp_path / "s", tmp_path / "t", fsync=False)
    storage.recover()
    synced = fsynced_paths(monkeypatch)
    info = put(storage, b"fast")
    storage.delete(info.id)
    assert synced == []
