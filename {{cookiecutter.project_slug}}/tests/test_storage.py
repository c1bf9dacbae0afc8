"""``LocalStorage``: its layout on disk, modes, recovery, fsync, and moving across filesystems.

What every backend must do is checked in ``test_storage_backends.py``.
"""

import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from {{ cookiecutter.project_slug }}.errors import StorageFailed
from {{ cookiecutter.project_slug }}.storage.local import INCOMING_PREFIX, TEMP_PREFIX, LocalStorage

SHM = Path("/dev/shm")
KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def store(tmp_path: Path) -> LocalStorage:
    storage = LocalStorage(tmp_path / "store", tmp_path / "tmp", fsync=True, file_mode=0o640, dir_mode=0o750)
    storage.recover()
    return storage


def put(storage: LocalStorage, data: bytes, key: str = KEY) -> str:
    storage.commit(storage.stage(key, [data[i : i + 1000] for i in range(0, len(data), 1000)]))
    return key


def read(storage: LocalStorage, key: str) -> bytes:
    with storage.open(key) as stream:
        return stream.read()


def entries(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def test_stage_writes_into_temp_path(store: LocalStorage) -> None:
    staged = store.stage(KEY, [b"abc", b"def"])
    assert staged.temp_path.parent == store.temp_path
    assert staged.temp_path.name.startswith(TEMP_PREFIX)
    assert staged.temp_path.read_bytes() == b"abcdef"
    assert entries(store.storage_path) == []


def test_commit_links_the_bytes_under_their_key_and_empties_temp_path(store: LocalStorage) -> None:
    put(store, b"hello world")
    assert entries(store.storage_path) == [KEY]
    assert entries(store.temp_path) == []


def test_stored_files_get_file_mode(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "s", tmp_path / "t", file_mode=0o604)
    storage.recover()
    put(storage, b"x")
    assert stat.S_IMODE((storage.storage_path / KEY).stat().st_mode) == 0o604


def test_keyboard_interrupt_in_the_middle_of_the_stream_removes_the_temp_file(store: LocalStorage) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"abc"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.stage(KEY, chunks())
    assert entries(store.temp_path) == []


def test_open_returns_a_real_file_for_the_servers_file_wrapper(store: LocalStorage) -> None:
    put(store, b"0123456789")
    with store.open(KEY, 4) as stream:
        assert stream.fileno() >= 0
        assert stream.tell() == 4
        assert stream.read() == b"456789"


def test_list_keys_ignores_files_that_are_not_keys(store: LocalStorage) -> None:
    put(store, b"x")
    (store.storage_path / "README.txt").write_text("operator's note", encoding="utf-8")
    (store.storage_path / (KEY + ".json")).write_text("{}", encoding="utf-8")
    assert [stored.key for stored in store.list_keys()] == [KEY]


# -- recover ------------------------------------------------------------------------


def test_recover_creates_missing_directories_with_dir_mode(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "a" / "store", tmp_path / "b" / "tmp", dir_mode=0o711)
    storage.recover()
    assert stat.S_IMODE(storage.storage_path.stat().st_mode) == 0o711
    assert stat.S_IMODE(storage.temp_path.stat().st_mode) == 0o711


def test_recover_removes_stale_temp_files(store: LocalStorage) -> None:
    (store.temp_path / f"{TEMP_PREFIX}abc.part").write_bytes(b"half an upload")
    (store.storage_path / f"{INCOMING_PREFIX}xyz").write_bytes(b"half a copy")
    store.recover()
    assert entries(store.temp_path) == []
    assert entries(store.storage_path) == []


def test_recover_leaves_committed_bytes_and_files_it_did_not_make_alone(store: LocalStorage) -> None:
    """Bytes without a record are cleaning's business (``cleaning.py``), never recovery's."""
    put(store, b"committed")
    (store.storage_path / "README.txt").write_text("operator's note", encoding="utf-8")
    (store.temp_path / "something-else").write_text("not ours", encoding="utf-8")
    store.recover()
    assert entries(store.storage_path) == sorted([KEY, "README.txt"])
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
    put(storage, data)

    assert entries(storage.storage_path) == [KEY]
    assert entries(storage.temp_path) == []
    assert read(storage, KEY) == data
    # Every link that succeeded went from a hidden file inside storage_path to its final name.
    successful = [(source, destination) for source, destination, outcome in links if outcome == "ok"]
    assert [destination.name for _, destination in successful] == [KEY]
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
    put(store, data)
    assert read(store, KEY) == data
    assert entries(store.storage_path) == [KEY]
    assert entries(store.temp_path) == []


def test_failed_cross_device_copy_leaves_nothing_under_the_key_and_the_staged_bytes_for_the_caller(
    store: LocalStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller discards them (a form upload) or commits them again (a finished resumable upload)."""
    real_link = os.link

    def link(source: os.PathLike, destination: os.PathLike) -> None:
        if Path(source).parent == store.temp_path:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        if Path(source).name.startswith(INCOMING_PREFIX):
            raise OSError(errno.EIO, "Input/output error")
        real_link(source, destination)

    monkeypatch.setattr(os, "link", link)
    staged = store.stage(KEY, [b"doomed"])
    with pytest.raises(StorageFailed):
        store.commit(staged)
    assert entries(store.storage_path) == []
    assert staged.temp_path.read_bytes() == b"doomed"
    store.discard(staged)
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


def test_fsync_true_syncs_the_data_and_the_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = LocalStorage(tmp_path / "s", tmp_path / "t", fsync=True)
    storage.recover()
    synced = fsynced_paths(monkeypatch)
    put(storage, b"durable")
    assert storage.storage_path in synced
    assert len([path for path in synced if path.parent == storage.temp_path]) == 1


def test_fsync_false_never_syncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = LocalStorage(tmp_path / "s", tmp_path / "t", fsync=False)
    storage.recover()
    synced = fsynced_paths(monkeypatch)
    put(storage, b"fast")
    storage.delete(KEY)
    assert synced == []
