"""Where uploads live: a small storage interface and its local-disk backend.

The views only ever talk to a :class:`Storage`, so an object-store backend
can replace the local one by setting ``uploads.storage``. Storing is split in
two steps, :meth:`Storage.stage` then :meth:`Storage.commit`, because one
request may carry several files and must keep all of them or none: the view
stages every file while the body streams in and commits only once the body
has ended cleanly.

On disk (``LocalStorage``)::

    temp_path/upload-*.part        bytes being received (and waitress's spool)
    storage_path/<id>              the file, under a random id, never the client's name
    storage_path/<id>.json         its metadata, written after the data

A file is visible only when both exist, and both appear by atomic
``os.link``, so a crash at any moment leaves either a complete file with
its metadata or nothing that is listed. :meth:`LocalStorage.recover` clears
what a crash left behind when the application starts.
"""

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from .errors import OutOfSpace, StorageFailed
from .hashing import BackgroundSha256
from .writeback import EarlyWriteback

# 128 random bits in hex: unguessable, and safe in any path or URL.
ID_PATTERN = re.compile(r"[0-9a-f]{32}")
TEMP_PREFIX = "upload-"
INCOMING_PREFIX = ".incoming-"


class NotFound(LookupError):
    """No stored file has this id (or the id is not one we could have made)."""


@dataclass(frozen=True)
class StoredFile:
    """The metadata kept beside every stored file."""

    id: str
    filename: str
    original_filename: str
    size: int
    sha256: str
    content_type: str
    created: str  # ISO 8601, UTC, microseconds: sorts like the time it names


@dataclass(frozen=True)
class StagedFile:
    """A fully received file that is not yet visible; commit or discard it."""

    temp_path: Path
    info: StoredFile


class Storage(Protocol):
    """What the views need from a storage backend."""

    def stage(self, chunks: Iterable[bytes], *, filename: str, original_filename: str, content_type: str) -> StagedFile:
        """Receive ``chunks`` into a temporary place, hashing as they come."""

    def commit(self, staged: StagedFile) -> StoredFile:
        """Make a staged file durable and visible."""

    def discard(self, staged: StagedFile) -> None:
        """Forget a staged file; harmless after :meth:`commit`."""

    def open(self, file_id: str) -> BinaryIO:
        """The stored bytes, for reading."""

    def metadata(self, file_id: str) -> StoredFile:
        """The metadata of one file; :class:`NotFound` if there is none."""

    def list(self) -> list[StoredFile]:
        """Every stored file, newest first."""

    def delete(self, file_id: str) -> None:
        """Remove a file and its metadata; :class:`NotFound` if there is none."""


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

    def recover(self) -> None:
        """Create the directories and clear what an interrupted server left.

        Call it once at startup, before serving: it removes temp files and
        files that lack their metadata (or metadata that lacks its file),
        none of which any client was ever told had been stored.
        """
        for directory in (self.storage_path, self.temp_path):
            directory.mkdir(parents=True, exist_ok=True)
            directory.chmod(self.dir_mode)  # mkdir's mode is filtered by the umask
        for stale in self.temp_path.glob(TEMP_PREFIX + "*"):
            stale.unlink(missing_ok=True)
        for stale in self.storage_path.glob(INCOMING_PREFIX + "*"):
            stale.unlink(missing_ok=True)
        for path in self.storage_path.iterdir():
            file_id = path.name.removesuffix(".json")
            if not ID_PATTERN.fullmatch(file_id):
                continue
            partner = path.with_name(file_id) if path.suffix else path.with_name(file_id + ".json")
            if not partner.exists():
                path.unlink(missing_ok=True)

    def stage(self, chunks: Iterable[bytes], *, filename: str, original_filename: str, content_type: str) -> StagedFile:
        """Write ``chunks`` to a temp file in ``temp_path``, hashing as they come.

        Errors from ``chunks`` (a malformed body, a size limit) propagate
        unchanged; disk errors (an ``OSError`` reading ``chunks`` too) become :class:`OutOfSpace` or
        :class:`StorageFailed`. Either way the temp file is gone.
        """
        with _disk_errors():
            fd, name = tempfile.mkstemp(dir=self.temp_path, prefix=TEMP_PREFIX, suffix=".part")
        temp = Path(name)
        hasher = BackgroundSha256()
        writeback = EarlyWriteback(fd) if self.fsync else None
        size = 0
        try:
            # The outer _disk_errors maps close(), which flushes what is
            # still buffered: after a failed write it fails again (ENOSPC).
            with _disk_errors(), open(fd, "wb") as out:
                with _disk_errors():
                    os.fchmod(fd, self.file_mode)
                for chunk in chunks:
                    hasher.update(chunk)
                    with _disk_errors():
                        out.write(chunk)
                    size += len(chunk)
                    if writeback is not None:
                        writeback.wrote(len(chunk))
                with _disk_errors():
                    out.flush()
                    if writeback is not None:
                        writeback.close()
                        os.fsync(fd)
        except BaseException:
            hasher.hexdigest()
            if writeback is not None:
                with contextlib.suppress(OSError):
                    writeback.close()
            temp.unlink(missing_ok=True)
            raise
        info = StoredFile(
            id=secrets.token_hex(16),
            filename=filename,
            original_filename=original_filename,
            size=size,
            sha256=hasher.hexdigest(),
            content_type=content_type,
            created=datetime.now(UTC).isoformat(timespec="microseconds"),
        )
        return StagedFile(temp, info)

    def commit(self, staged: StagedFile) -> StoredFile:
        """Link the data, then its metadata, into ``storage_path``."""
        info = staged.info
        data = self.storage_path / info.id
        with _disk_errors():
            self._install(staged.temp_path, data)
            installed = [data]
            try:
                metadata = data.with_name(info.id + ".json")
                self._install(self._write_metadata(info), metadata)
                installed.append(metadata)
                if self.fsync:
                    _fsync_directory(self.storage_path)
            except BaseException:
                # The client will hear that storing failed, so no trace of the
                # file may stay, even once it was visible. Metadata goes first:
                # from that instant the file is no longer listed.
                for path in reversed(installed):
                    path.unlink(missing_ok=True)
                raise
        return info

    def discard(self, staged: StagedFile) -> None:
        staged.temp_path.unlink(missing_ok=True)

    def open(self, file_id: str) -> BinaryIO:
        self.metadata(file_id)  # a file without metadata does not exist
        try:
            return open(self._path(file_id), "rb")
        except FileNotFoundError:
            raise NotFound(file_id) from None

    def metadata(self, file_id: str) -> StoredFile:
        path = self._path(file_id)
        info = self._read_metadata(path.with_name(file_id + ".json"))
        if info is None or not path.exists():
            raise NotFound(file_id)
        return info

    def list(self) -> list[StoredFile]:
        files = []
        for meta in self.storage_path.glob("*.json"):
            if not ID_PATTERN.fullmatch(meta.stem):
                continue
            info = self._read_metadata(meta)
            if info is not None and meta.with_name(meta.stem).exists():
                files.append(info)
        return sorted(files, key=lambda info: info.created, reverse=True)

    def delete(self, file_id: str) -> None:
        path = self._path(file_id)
        try:
            # Metadata first: from this instant on the file is not listed.
            path.with_name(file_id + ".json").unlink()
        except FileNotFoundError:
            raise NotFound(file_id) from None
        with _disk_errors("delete the file"):
            path.unlink(missing_ok=True)
            if self.fsync:
                _fsync_directory(self.storage_path)

    def _path(self, file_id: str) -> Path:
        """The data path of ``file_id``, refusing anything outside ``storage_path``."""
        if not ID_PATTERN.fullmatch(file_id):
            raise NotFound(file_id)
        path = (self.storage_path / file_id).resolve()
        if path.parent != self.storage_path.resolve():
            raise NotFound(file_id)
        return path

    def _write_metadata(self, info: StoredFile) -> Path:
        fd, name = tempfile.mkstemp(dir=self.temp_path, prefix=TEMP_PREFIX, suffix=".json")
        try:
            with open(fd, "w", encoding="utf-8") as out:
                os.fchmod(fd, self.file_mode)
                json.dump(asdict(info), out, ensure_ascii=False, indent=1)
                out.flush()
                if self.fsync:
                    os.fsync(fd)
        except BaseException:
            os.unlink(name)
            raise
        return Path(name)

    @staticmethod
    def _read_metadata(path: Path) -> StoredFile | None:
        try:
            return StoredFile(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None

    def _install(self, source: Path, destination: Path) -> None:
        """Move ``source`` to ``destination`` atomically, never replacing a file.

        ``os.link`` fails if ``destination`` exists (``os.rename`` would
        silently replace it). Across filesystems no link or rename is
        possible, so the bytes are first copied to a hidden file beside the
        destination, and that one is linked: the last step stays atomic.
        """
        try:
            os.link(source, destination)
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise
            self._link_copy(source, destination)
        finally:
            source.unlink(missing_ok=True)

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


BACKENDS = {"local": LocalStorage}
