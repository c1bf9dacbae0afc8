"""Early write-back: a large upload is synced while it is written, and a failure is not lost."""

import errno
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from {{ cookiecutter.project_slug }} import writeback as writeback_module
from {{ cookiecutter.project_slug }}.errors import OutOfSpace
from {{ cookiecutter.project_slug }}.storage.local import LocalStorage
from {{ cookiecutter.project_slug }}.writeback import EarlyWriteback

EVERY = 64 * 1024
KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def synced(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record every ``os.fdatasync`` (and still do it)."""
    calls: list[int] = []
    real = os.fdatasync

    def recording(fd: int) -> None:
        real(fd)
        calls.append(fd)

    monkeypatch.setattr(os, "fdatasync", recording)
    return calls


def write(path: Path, writeback: EarlyWriteback, fd: int, nbytes: int) -> None:
    os.write(fd, b"w" * nbytes)
    writeback.wrote(nbytes)


def upload_then_wait(until: Callable[[], bool]) -> Iterator[bytes]:
    """Four intervals' worth of chunks, then hold the upload open until ``until()``.

    ``close()`` may overtake a background sync that has not started yet (the
    final ``fsync`` covers it), so tests that need one wait for it here.
    """
    yield from [b"s" * EVERY] * 4
    deadline = time.monotonic() + 10
    while not until() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_file_smaller_than_the_interval_is_never_synced_early(tmp_path: Path, synced: list[int]) -> None:
    fd = os.open(tmp_path / "small", os.O_WRONLY | os.O_CREAT)
    writeback = EarlyWriteback(fd, every=EVERY)
    write(tmp_path / "small", writeback, fd, EVERY - 1)
    writeback.close()
    os.close(fd)
    assert synced == []


def test_a_file_growing_past_the_interval_is_synced_in_the_background(tmp_path: Path, synced: list[int]) -> None:
    fd = os.open(tmp_path / "large", os.O_WRONLY | os.O_CREAT)
    writeback = EarlyWriteback(fd, every=EVERY)
    for _ in range(4):
        write(tmp_path / "large", writeback, fd, EVERY)
    writeback.close()
    os.close(fd)
    assert synced
    assert set(synced) == {fd}


def test_a_failed_background_sync_is_raised_by_close(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    failed = threading.Event()

    def failing(fd: int) -> None:
        failed.set()
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fdatasync", failing)
    fd = os.open(tmp_path / "doomed", os.O_WRONLY | os.O_CREAT)
    writeback = EarlyWriteback(fd, every=EVERY)
    write(tmp_path / "doomed", writeback, fd, EVERY)
    # close() may overtake a sync that has not started (the final fsync does
    # that work); wait until this one has run and failed.
    assert failed.wait(timeout=10)
    with pytest.raises(OSError, match="Input/output error"):
        writeback.close()
    os.close(fd)


def test_storage_syncs_a_large_upload_while_writing_it(
    tmp_path: Path, synced: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writeback_module, "WRITEBACK_EVERY", EVERY)
    storage = LocalStorage(tmp_path / "uploads", tmp_path / "tmp")
    storage.recover()
    staged = storage.stage(KEY, upload_then_wait(lambda: bool(synced)))
    assert synced
    storage.commit(staged)
    assert (tmp_path / "uploads" / KEY).stat().st_size == 4 * EVERY


def test_storage_without_fsync_does_not_sync_early(
    tmp_path: Path, synced: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writeback_module, "WRITEBACK_EVERY", EVERY)
    storage = LocalStorage(tmp_path / "uploads", tmp_path / "tmp", fsync=False)
    storage.recover()
    storage.stage(KEY, [b"s" * EVERY] * 4)
    assert synced == []


def test_disk_full_in_a_background_sync_is_out_of_space_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failed = threading.Event()

    def full(fd: int) -> None:
        failed.set()
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(writeback_module, "WRITEBACK_EVERY", EVERY)
    monkeypatch.setattr(os, "fdatasync", full)
    storage = LocalStorage(tmp_path / "uploads", tmp_path / "tmp")
    storage.recover()
    with pytest.raises(OutOfSpace):
        storage.stage(KEY, upload_then_wait(failed.is_set))
    assert list((tmp_path / "tmp").iterdir()) == []
    assert list((tmp_path / "uploads").iterdir()) == []
