"""Bytes on the local disk: the default backend.

On disk::

    temp_path/upload-*.part        bytes being received (and waitress's spool)
    temp_path/tus-<key>.part       a resumable upload's bytes so far (kept across restarts)
    storage_path/<key>             committed bytes, under the key the upload path made

A file appears under its key by an atomic ``os.link`` after its bytes were
made durable (``fsync``), and the directory entry is made durable too, so a
crash at any moment leaves either complete bytes or none under a key. Bytes
whose record never reached the catalogue (a crash between the two) are
removed by cleaning (``cleaning.py``), once they are older than
``uploads.clean_after``. :meth:`LocalStorage.recover` clears what a crash
left in ``temp_path`` when the application starts.
"""

import contextlib
import errno
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import OutOfSpace, StorageFailed
from ..settings import UploadSettings
from ..writeback import EarlyWriteback
from . import KEY_PATTERN, NotFound, StoredKey

TEMP_PREFIX = "upload-"
RESUMABLE_PREFIX = "tus-"
READ_BYTES = 1024 * 1024
# A resumable chunk is at most uploads.tus_max_chunk (64 MiB): sync it in smaller steps.
RESUMABLE_WRITEBACK_EVERY = 8 * 1024 * 1024
INCOMING_PREFIX = ".incoming-"


@dataclass(frozen=True)
class LocalStaged:
    """Bytes received into ``temp_path``, to be linked under ``key``."""

    key: str
    temp_path: Path


class LocalStorage:
    """Files on the local disk; see the module docstring for the layout."""

    def __init__(
        self,
        storage_path: Path,
        temp_path: Path,
        *,
        fsync: bool = True,
        file_mode: int = 0o640,
        dir_mode: int = 0o750,
    ) -> None:
        self.storage_path = storage_path
        self.temp_path = temp_path
        self.fsync = fsync
        self.file_mode = file_mode
        self.dir_mode = dir_mode

    @classmethod
    def from_settings(cls, settings: Mapping[str, str], upload_settings: UploadSettings) -> "LocalStorage":
        """``uploads.storage_path``, ``temp_path``, ``fsync``, ``file_mode`` and ``dir_mode``."""
        return cls(
            upload_settings.storage_path,
            upload_settings.temp_path,
            fsync=upload_settings.fsync,
            file_mode=upload_settings.file_mode,
            dir_mode=upload_settings.dir_mode,
        )

    def recover(self) -> None:
        """Create the directories and clear the temp files an interrupted server left.

        Call it once at startup, before serving: no client was ever told
        that the bytes of a temp file had been stored.
        """
        for directory in (self.storage_path, self.temp_path):
            directory.mkdir(parents=True, exist_ok=True)
            directory.chmod(self.dir_mode)  # mkdir's mode is filtered by the umask
        for stale in self.temp_path.glob(TEMP_PREFIX + "*"):
            stale.unlink(missing_ok=True)
        for stale in self.storage_path.glob(INCOMING_PREFIX + "*"):
            stale.unlink(missing_ok=True)

    def stage(
        self, key: str, chunks: Iterable[bytes | memoryview], content_type: str = "application/octet-stream"
    ) -> LocalStaged:
        """Write ``chunks`` to a temp file in ``temp_path``, durable when it returns.

        Errors from ``chunks`` (a malformed body, a size limit) propagate
        unchanged; disk errors (an ``OSError`` reading ``chunks`` too) become
        :class:`OutOfSpace` or :class:`StorageFailed`. Either way the temp
        file is gone.
        """
        self._path(key)  # refuse a key we could not have made
        with _disk_errors():
            fd, name = tempfile.mkstemp(dir=self.temp_path, prefix=TEMP_PREFIX, suffix=".part")
        temp = Path(name)
        writeback = EarlyWriteback(fd) if self.fsync else None
        try:
            # The outer _disk_errors maps close(), which flushes what is
            # still buffered: after a failed write it fails again (ENOSPC).
            with _disk_errors(), open(fd, "wb") as out:
                with _disk_errors():
                    os.fchmod(fd, self.file_mode)
                for chunk in chunks:
                    with _disk_errors():
                        out.write(chunk)
                    if writeback is not None:
                        writeback.wrote(len(chunk))
                with _disk_errors():
                    out.flush()
                    if writeback is not None:
                        writeback.close()
                        os.fsync(fd)
        except BaseException:
            if writeback is not None:
                with contextlib.suppress(OSError):
                    writeback.close()
            temp.unlink(missing_ok=True)
            raise
        return LocalStaged(key, temp)

    def commit(self, staged: LocalStaged) -> None:
        """Link the bytes under their key in ``storage_path``, durably."""
        destination = self._path(staged.key)
        with _disk_errors():
            self._install(staged.temp_path, destination)
            try:
                if self.fsync:
                    _fsync_directory(self.storage_path)
            except BaseException:
                # The client will hear that storing failed: no trace may stay
                # under the key. The staged bytes stay, for the caller to
                # discard (a form upload) or to commit again (a finished
                # resumable upload, whose client may retry).
                destination.unlink(missing_ok=True)
                raise
        staged.temp_path.unlink(missing_ok=True)

    def discard(self, staged: LocalStaged) -> None:
        staged.temp_path.unlink(missing_ok=True)

    def open(self, key: str, start: int = 0, stop: int | None = None) -> BinaryIO:
        """The file itself, positioned at ``start``: a real file, so ``wsgi.file_wrapper``
        can send it from the kernel (``serving.py``). ``stop`` is the reader's to honour."""
        try:
            # O_NOFOLLOW: a link someone planted under a key leads nowhere.
            fd = os.open(self._path(key), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(key) from None
        except OSError as error:
            if error.errno != errno.ELOOP:
                raise
            raise NotFound(key) from None
        file = open(fd, "rb")  # noqa: SIM115 - the caller closes it
        if start:
            file.seek(start)
        return file

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            raise NotFound(key) from None
        except OSError as error:
            raise StorageFailed(f"The server could not delete the file ({error.strerror})") from error
        if self.fsync:
            with _disk_errors("delete the file"):
                _fsync_directory(self.storage_path)

    def list_keys(self) -> Iterator[StoredKey]:
        now = time.time()
        if not self.storage_path.is_dir():
            return  # nothing stored yet (recover() creates the directory)
        with os.scandir(self.storage_path) as entries:
            for entry in entries:
                if KEY_PATTERN.fullmatch(entry.name):
                    with contextlib.suppress(FileNotFoundError):  # deleted while we look
                        yield StoredKey(entry.name, max(0.0, now - entry.stat().st_mtime))

    # The resumable capability (storage.ResumableStorage): tus uploads.

    def start_resumable(self, key: str) -> None:
        path = self._resumable_path(key)
        with _disk_errors():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, self.file_mode)
            os.close(fd)
            if self.fsync:
                _fsync_directory(self.temp_path)

    def append(
        self, key: str, offset: int, chunks: Iterable[bytes], content_type: str = "application/octet-stream"
    ) -> int:
        """Write ``chunks`` at ``offset`` of ``temp_path/tus-<key>.part``, then ``fsync`` (no type is kept)."""
        path = self._resumable_path(key)
        try:
            fd = os.open(path, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            raise NotFound(key) from None
        try:
            with _disk_errors():
                if os.fstat(fd).st_size < offset:
                    raise StorageFailed("The bytes of this upload are shorter than its recorded offset")
                os.ftruncate(fd, offset)  # drop what a failed append left
                os.lseek(fd, offset, os.SEEK_SET)
            size = offset
            writeback = EarlyWriteback(fd, RESUMABLE_WRITEBACK_EVERY) if self.fsync else None
            try:
                for chunk in chunks:
                    with _disk_errors():
                        view = memoryview(chunk)
                        while view:
                            view = view[os.write(fd, view) :]
                    size += len(chunk)
                    if writeback is not None:
                        writeback.wrote(len(chunk))
                with _disk_errors():
                    if writeback is not None:
                        writeback.close()
                        os.fsync(fd)
            except BaseException:
                if writeback is not None:
                    with contextlib.suppress(OSError):
                        writeback.close()
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, offset)
                raise
        finally:
            os.close(fd)
        return size

    def read_resumable(self, key: str, stop: int) -> Iterator[bytes]:
        try:
            file = open(self._resumable_path(key), "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise NotFound(key) from None
        with file:
            remaining = stop
            while remaining > 0 and (chunk := file.read(min(READ_BYTES, remaining))):
                remaining -= len(chunk)
                yield chunk

    def complete_resumable(self, key: str, size: int) -> LocalStaged:
        """:class:`NotFound` once committed: the bytes are under their key in ``storage_path`` then."""
        path = self._resumable_path(key)
        if not path.exists():
            raise NotFound(key)
        with _disk_errors():
            os.truncate(path, size)
        return LocalStaged(key, path)

    def abort_resumable(self, key: str) -> None:
        self._resumable_path(key).unlink(missing_ok=True)

    def list_resumable(self) -> Iterator[StoredKey]:
        now = time.time()
        for path in self.temp_path.glob(RESUMABLE_PREFIX + "*.part"):
            key = path.name[len(RESUMABLE_PREFIX) : -len(".part")]
            if KEY_PATTERN.fullmatch(key):
                with contextlib.suppress(FileNotFoundError):
                    yield StoredKey(key, max(0.0, now - path.stat().st_mtime))

    def _resumable_path(self, key: str) -> Path:
        if not KEY_PATTERN.fullmatch(key):
            raise NotFound(key)
        return self.temp_path / f"{RESUMABLE_PREFIX}{key}.part"

    def _path(self, key: str) -> Path:
        """The path of ``key``, refusing anything that is not a key we make."""
        if not KEY_PATTERN.fullmatch(key):
            raise NotFound(key)
        return self.storage_path / key

    def _install(self, source: Path, destination: Path) -> None:
        """Give ``source``'s bytes the name ``destination`` atomically, never replacing a file.

        ``os.link`` fails if ``destination`` exists (``os.rename`` would
        silently replace it). Across filesystems no link or rename is
        possible, so the bytes are first copied to a hidden file beside the
        destination, and that one is linked: the last step stays atomic.
        ``source`` stays; :meth:`commit` removes it once the new name is durable.
        """
        try:
            os.link(source, destination)
        except FileExistsError:
            # An earlier commit of these same bytes linked them and stopped
            # (a crash) before removing ``source``: the work is done.
            if not os.path.samefile(source, destination):
                raise
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise
            self._link_copy(source, destination)

    def _link_copy(self, source: Path, destination: Path) -> None:
        fd, name = tempfile.mkstemp(dir=self.storage_path, prefix=INCOMING_PREFIX)
        try:
            with open(source, "rb") as src, open(fd, "wb") as out:
                os.fchmod(fd, self.file_mode)
                shutil.copyfileobj(src, out, 1024 * 1024)
                out.flush()
                if self.fsync:
                    os.fsync(fd)
            os.link(name, destination)
        finally:
            os.unlink(name)


@contextlib.contextmanager
def _disk_errors(action: str = "store this upload") -> Iterator[None]:
    """Turn an ``OSError`` of ours into a refusal with a status and a message."""
    try:
        yield
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise OutOfSpace(f"The server has no space left to {action}") from error
        raise StorageFailed(f"The server could not {action} ({error.strerror})") from error


def _fsync_directory(path: Path) -> None:
    """Make a new or removed directory entry durable, not just the file's bytes."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
