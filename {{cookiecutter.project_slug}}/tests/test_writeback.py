"""Early write-back: a large upload is synced while it is written, and a failure is not lost."""

import errno
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from {{ cookiecutter.project_slug }} import writeback as writeback_module
from {{ cookiecutter.project_slug }}.errors import OutOfSpace
from {{ cookiecutter.project_slug }}.storage.local import LocalStorage
from {{ cookiecutter.project_slug }}.writeback import EarlyWriteback

KEY = "0123456789abcdef0123456789abcdef"  # a key as the upload path makes them

EVERY = 64 * 1024
# Waits end at the event they wait for; this bound only turns a broken
# implementation (an event that never comes) into a failure instead of a hang.
HANG = 120


@dataclass
class Syncs:
    """Every ``os.fdatasync`` made (by any thread), and an event set after the first."""

    fds: list[int] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def wait(self) -> None:
        assert self.done.wait(HANG), "no background sync ran"


@pytest.fixture
def synced(monkeypatch: pytest.MonkeyPatch) -> Syncs:
    """Record every ``os.fdatasync`` (and still do it)."""
    syncs = Syncs()
    real = os.fdatasync

    def recording(fd: int) -> None:
        real(fd)
        syncs.fds.append(fd)
        syncs.done.set()

    monkeypatch.setattr(os, "fdatasync", recording)
    return syncs


def write(writeback: EarlyWriteback, fd: int, nbytes: int) -> None:
    os.write(fd, b"w" * nbytes)
    writeback.wrote(nbytes)


def upload_then_wait(event: threading.Event) -> Iterator[bytes]:
    """Four intervals' worth of chunks, then hold the upload open until ``event`` is set.

    ``close()`` may overtake a background sync that has not started yet (the
    final ``fsync`` covers it), so tests that need one wait for it here.
    """
    yield from [b"s" * EVERY] * 4
    assert event.wait(HANG), "no background sync ran"


def test_a_file_smaller_than_the_interval_is_never_synced_early(tmp_path: Path, synced: Syncs) -> None:
    fd = os.open(tmp_path / "small", os.O_WRONLY | os.O_CREAT)
    writeback = EarlyWriteback(fd, every=EVERY)
    write(writeback, fd, EVERY - 1)
    writeback.close()
    os.close(fd)
    assert synced.fds == []


def test_a_file_growing_past_the_interval_is_synced_in_the_background(tmp_path: Path, synced: Syncs) -> None:
    fd = os.open(tmp_path / "large", os.O_WRONLY | os.O_CREAT)
    writeback = EarlyWriteback(fd, every=EVERY)
    for _ in range(4):
        write(writeback, fd, EVERY)
    # close() may overtake a sync that has not started (the final fsync does
    # that work); wait for the helper thread's sync before closing.
    synced.wait()
    writeback.close()
    os.close(fd)
    assert set(synced.fds) == {fd}


def test_a_failed_background_sync_is_raised_by_close(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    failed = threading.Event()

    def failing(fd: int) -> None:
        failed.set()
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fdatasync", failing)
    fd = os.open(tmp_path / "doomed", os.O_WRONLY | os.O_CREAT)
    writeback = EarlyWriteback(fd, every=EVERY)
    write(writeback, fd, EVERY)
    # close() may overtake a sync that has not started (the final fsync does
    # that work); wait until this one has run and failed.
    assert failed.wait(HANG)
    with pytest.raises(OSError, match="Input/output error"):
        writeback.close()
    os.close(fd)


def test_storage_syncs_a_large_upload_while_writing_it(
    tmp_path: Path, synced: Syncs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writeback_module, "WRITEBACK_EVERY", EVERY)
    storage = LocalStorage(tmp_path / "uploads", tmp_path / "tmp")
    storage.recover()
    staged = storage.stage(KEY, upload_then_wait(synced.done))
    assert synced.fds
    storage.commit(staged)
    assert (tmp_path / "uploads" / KEY).stat().st_size == 4 * EVERY


def test_storage_without_fsync_does_not_sync_early(
    tmp_path: Path, synced: Syncs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writeback_module, "WRITEBACK_EVERY", EVERY)
    storage = LocalStorage(tmp_path / "uploads", tmp_path / "tmp", fsync=False)
    storage.recover()
    storage.stage(KEY, [b"s" * EVERY] * 4)
    assert synced.fds == []


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
        storage.stage(KEY, upload_then_wait(failed))
    assert list((tmp_path / "tmp").iterdir()) == []
    assert list((tmp_path / "uploads").iterdir()) == []
