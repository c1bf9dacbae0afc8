"""Resumable uploads (tus): their state in the catalogue, their bytes in the backend.

The order of every ``PATCH`` is what makes it safe to repeat after any
failure, on any instance:

1. take the upload's lease (a compare-and-set ``UPDATE``: two ``PATCH``
   requests to one upload never interleave, whichever instances they reach;
   the second is answered 423);
2. check the offset against the catalogue's, which counts durable bytes only;
3. append the body to the backend, checking the checksum and the sniffed type
   on the way; the backend makes it durable before it returns (``fsync`` on
   disk; on S3, the store's answer to each part and to the tail);
4. only then record the new offset, and give the lease back.

A crash between 3 and 4 leaves bytes past the recorded offset, which the
next append drops: the offset a ``HEAD`` reports never counts bytes a crash
could lose. The last ``PATCH`` makes the bytes an ordinary stored file (the
same record as a form upload, made by :func:`receiving.new_record`).

Completion happens under the lease too: the last ``PATCH`` records the
offset (now the length) but keeps the lease until the stored file is
recorded, in the transaction that deletes the upload's row. Meanwhile a
``DELETE``, a ``PATCH`` or a ``HEAD`` of that upload is answered 423, on
any instance: nothing can remove the bytes being hashed and committed. If
completion fails (the store or the database down), the lease is given back
and the upload stays at offset = length, *awaiting completion*; the next
``HEAD`` (what tus clients send to resume) or ``PATCH`` at that offset
completes it. Each step of :meth:`Resumable._complete` can be repeated:
bytes committed by an attempt whose record failed are kept (cleaning
leaves a key an upload in progress names) and found again by the next.

The SHA-256 of the file is computed as the chunks arrive when this process
saw every byte (its running state is kept in memory per upload); when a
chunk went to another instance, or the process restarted, the bytes are
read and hashed once at the end (``benchmarks/tus.py`` measures both).

Each step uses its own short transaction (``session_factory``), never one
held open while a body is read: on SQLite a write transaction locks the
whole database.
"""

import contextlib
import hashlib
import logging
import os
import secrets
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import BinaryIO

from pyramid.config import Configurator
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from . import catalogue, tus
from .buffer import LimitExceeded, file_buffer
from .errors import StorageFailed, UnsupportedType, UploadRejected
from .hashing import BackgroundSha256
from .models import StoredFile, UploadInProgress, begin_write
from .receiving import Measured, new_record
from .sanitizer import extension_of, secure_filename
from .settings import UploadSettings
from .sizes import format_size
from .sniffing import SNIFF_BYTES, media_type_of, sniff_type, type_allowed
from .storage import NotFound, ResumableStorage, supports_resumable

log = logging.getLogger(__name__)

# A PATCH holds its upload's lease this long at most; a holder that died on
# another host lets go when it runs out (on this host, at once: see acquire).
LEASE = timedelta(minutes=10)
# Bytes read from a request body at a time.
READ_BYTES = 1024 * 1024
# Running hashes kept in memory (a few hundred bytes each).
MAX_HASHES = 10_000
# The leases this process holds now, by holder: one whose holder names this
# process but is not here was left by a request that could not give it back
# (the database was down), and is taken over at once (see _acquire).
_HELD: set[str] = set()


def holder_name() -> str:
    """``host:pid`` of this process: who holds a lease."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _holder_dead(holder: str) -> bool:
    """Whether ``holder`` names a process of this host that no longer runs."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False  # another thread of ours: alive
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class RunningHashes:
    """SHA-256 states of the uploads this process received every byte of, by upload id."""

    def __init__(self) -> None:
        self._states: OrderedDict[str, tuple[int, object]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, upload_id: str, offset: int) -> "hashlib._Hash | None":
        """The state covering exactly the first ``offset`` bytes, removed from the cache; or ``None``."""
        if offset == 0:
            return hashlib.sha256()
        with self._lock:
            state = self._states.pop(upload_id, None)
        if state is None or state[0] != offset:
            return None
        return state[1]

    def put(self, upload_id: str, offset: int, hasher: object) -> None:
        with self._lock:
            self._states[upload_id] = (offset, hasher)
            while len(self._states) > MAX_HASHES:
                self._states.popitem(last=False)

    def forget(self, upload_id: str) -> None:
        with self._lock:
            self._states.pop(upload_id, None)


@dataclass(frozen=True)
class Finished:
    """A ``PATCH`` answered: the new offset, the new expiry, and the stored file if it was the last."""

    upload: UploadInProgress
    stored: StoredFile | None = None


class Resumable:
    """The tus uploads of one application: create, inspect, append, terminate, concatenate, expire.

    ``clock`` gives the current time (tests pass their own to expire
    uploads without waiting).
    """

    def __init__(
        self,
        storage: ResumableStorage,
        session_factory: sessionmaker[Session],
        upload_settings: UploadSettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.storage = storage
        self.session_factory = session_factory
        self.settings = upload_settings
        self.clock = clock
        self.hashes = RunningHashes()

    # -- creation ---------------------------------------------------------

    def create(
        self,
        *,
        length: int | None,
        metadata_header: str,
        metadata: dict[str, str],
        owner: str | None,
        partial: bool = False,
    ) -> UploadInProgress:
        """A new upload of ``length`` bytes (``None``: deferred); 413 over ``uploads.max_size``, 415 for the name."""
        if length is not None and length > self.settings.max_size:
            raise tus.TooLarge(f"Upload-Length is over the limit of {format_size(self.settings.max_size)}")
        original = metadata.get("filename", "")
        filename = secure_filename(original)
        self._check_extension(filename)
        key = secrets.token_hex(16)  # the upload's id, its key in the store, and the stored file's id
        now = self.clock()
        upload = UploadInProgress(
            id=key,
            storage_key=key,
            offset=0,
            length=length,
            metadata_header=metadata_header,
            filename=filename,
            original_filename=original[:1024],
            content_type=None,
            partial=partial,
            created=now,
            expires=now + timedelta(seconds=self.settings.tus_expire_after),
            owner=owner,
        )
        self.storage.start_resumable(key)
        try:
            with self.session_factory() as dbsession, dbsession.begin():
                begin_write(dbsession)
                dbsession.add(upload)
        except BaseException:
            self.storage.abort_resumable(key)
            raise
        return upload

    # -- state ------------------------------------------------------------

    def get(self, upload_id: str, owner: str | None) -> UploadInProgress | StoredFile:
        """The upload in progress, or the stored file it became; 404 (unknown, or not the owner's), 410 (expired)."""
        with self.session_factory() as dbsession:
            upload = dbsession.get(UploadInProgress, upload_id) if len(upload_id) <= 64 else None
            if upload is None:
                stored = dbsession.get(StoredFile, upload_id) if len(upload_id) <= 64 else None
                if stored is None:
                    raise tus.UploadNotFound("No upload has this id")
                _check_owner(stored.owner, owner)
                return stored
        _check_owner(upload.owner, owner)
        if upload.expires <= self.clock():
            raise tus.UploadGone("This upload expired; start it again")
        return upload

    # -- PATCH ------------------------------------------------------------

    def append(
        self,
        upload_id: str,
        owner: str | None,
        offset: int,
        body: BinaryIO,
        declared: int | None,
        *,
        length: int | None = None,
        checksum: tus.Checksum | None = None,
    ) -> Finished:
        """Append ``body`` (``declared`` bytes, if the request said) at ``offset``; see the module docstring.

        ``length`` is an ``Upload-Length`` sent with this ``PATCH`` by a
        client that deferred it. Errors: 404/410 as :meth:`get`, 409 for
        the offset, 423 while another request writes, 413 past the length or
        the chunk limit, 460 for the checksum, 415 for the type (the upload
        is then removed).
        """
        found = self.get(upload_id, owner)
        if isinstance(found, StoredFile):
            raise tus.UploadGone("This upload is finished: it is a stored file now")
        if declared is not None and declared > self.settings.tus_max_chunk:
            raise tus.TooLarge(
                f"A PATCH body may be at most {format_size(self.settings.tus_max_chunk)} (uploads.tus_max_chunk):"
                " send smaller chunks"
            )
        holder = self._acquire(upload_id)
        released = False
        try:
            upload = self._locked_row(upload_id)
            if upload.offset != offset:
                raise tus.OffsetMismatch(f"Upload-Offset is {offset}, but the upload is at {upload.offset}")
            length = self._settle_length(upload, length)
            limit = (length if length is not None else self.settings.max_size) - offset
            if declared is not None and declared > limit:
                raise tus.TooLarge("The chunk goes past the upload's Upload-Length")
            if _awaits_completion(upload):  # an earlier completion failed: this PATCH completes it
                if declared is None and body.read(1):
                    raise tus.TooLarge("The upload has all its bytes: send this PATCH with an empty body")
                released = True  # _complete gives the lease back, however it ends
                return Finished(upload, self._complete(upload, holder))
            finished = self._append_locked(upload, body, limit, length, checksum, holder)
            released = True  # with the new offset, in the same transaction (or by _complete)
            return finished
        finally:
            if not released:
                self._release(upload_id, holder)

    def _append_locked(
        self,
        upload: UploadInProgress,
        body: BinaryIO,
        limit: int,
        length: int | None,
        checksum: tus.Checksum | None,
        holder: str,
    ) -> Finished:
        offset = upload.offset
        chunks: Iterator[bytes] = file_buffer(body, READ_BYTES, limit=limit)
        if checksum is not None:
            chunks = checksum.verifier(chunks)
        content_type = upload.content_type
        if offset < SNIFF_BYTES and (upload.content_type is None or offset == 0):
            content_type, chunks = self._sniffed(upload, chunks, length)
        state = self.hashes.take(upload.id, offset)
        hasher = None if state is None else BackgroundSha256(state=state)  # overlaps the disk writes
        if hasher is not None:
            chunks = _hashed(chunks, hasher)
        try:
            new_offset = self.storage.append(
                upload.storage_key, offset, chunks, content_type or "application/octet-stream"
            )
        except LimitExceeded:
            raise tus.TooLarge("The chunk goes past the upload's Upload-Length (or uploads.max_size)") from None
        except UnsupportedType:
            self.terminate(upload.id, upload.owner, lease_held=holder)
            raise
        finally:
            state = None if hasher is None else hasher.finish()  # also ends its thread on errors
        now = self.clock()
        expires = now + timedelta(seconds=self.settings.tus_expire_after)
        upload.offset, upload.length, upload.content_type, upload.expires = new_offset, length, content_type, expires
        last = _awaits_completion(upload)
        # The lease ends with the chunk (one transaction, not two), unless this
        # was the last one: then it covers the completion too (module docstring).
        lease = {"locked_until": now + LEASE} if last else {"locked_by": None, "locked_until": None}
        with self.session_factory() as dbsession, dbsession.begin():
            begin_write(dbsession)
            dbsession.execute(
                update(UploadInProgress)
                .where(UploadInProgress.id == upload.id, UploadInProgress.locked_by == holder)
                .values(offset=new_offset, length=length, content_type=content_type, expires=expires, **lease)
            )
        if state is not None:
            self.hashes.put(upload.id, new_offset, state)
        if not last:
            _HELD.discard(holder)
            return Finished(upload)
        return Finished(upload, self._complete(upload, holder))

    def _sniffed(
        self, upload: UploadInProgress, chunks: Iterator[bytes], length: int | None
    ) -> tuple[str | None, Iterator[bytes]]:
        """The type of the first bytes (those stored and this body's), checked before any is kept."""
        wanted = SNIFF_BYTES if length is None else min(SNIFF_BYTES, length)
        before = b"".join(self.storage.read_resumable(upload.storage_key, upload.offset)) if upload.offset else b""
        taken: list[bytes] = []
        have = len(before)
        for chunk in chunks:
            taken.append(chunk)
            have += len(chunk)
            if have >= wanted:
                break
        head = (before + b"".join(taken))[:SNIFF_BYTES]
        rest = chain(taken, chunks)
        if not head:
            return upload.content_type, rest
        content_type = sniff_type(head)
        allowed = self.settings.allowed_types
        if allowed and not type_allowed(content_type, allowed):

            def refused() -> Iterator[bytes]:
                raise UnsupportedType(
                    f"The file {upload.filename} is {media_type_of(content_type)}, which is not accepted;"
                    f" allowed: {', '.join(allowed)}"
                )
                yield b""  # a generator: the backend sees the error as its chunks' own

            return content_type, refused()
        return content_type, rest

    def _settle_length(self, upload: UploadInProgress, length: int | None) -> int | None:
        if length is None:
            return upload.length
        if upload.length is not None and upload.length != length:
            raise tus.InvalidHeader("Upload-Length cannot change once it is set")
        if length < upload.offset:
            raise tus.InvalidHeader("Upload-Length is smaller than the bytes already received")
        if length > self.settings.max_size:
            raise tus.TooLarge(f"Upload-Length is over the limit of {format_size(self.settings.max_size)}")
        return length

    # -- completion -------------------------------------------------------

    def inspect(self, upload_id: str, owner: str | None) -> UploadInProgress | StoredFile:
        """``HEAD``: as :meth:`get`, but an upload awaiting completion is completed now.

        A tus client resumes with a ``HEAD``; when it reads offset = length
        it takes the upload as done (tus-js-client sends no more ``PATCH``),
        so the ``HEAD`` is where a completion that failed is tried again.
        423 while another request completes the upload, and when completing
        fails again (the store or the database still down): both clients
        retry a 423 after a delay, where on a 5xx tus-js-client would start
        the upload again from zero.
        """
        found = self.get(upload_id, owner)
        if isinstance(found, StoredFile) or not _awaits_completion(found):
            return found
        try:
            holder = self._acquire(upload_id)
        except tus.UploadNotFound:  # completed (or terminated) by another request meanwhile
            return self.get(upload_id, owner)
        except tus.UploadLocked:
            raise tus.UploadLocked("This upload has all its bytes and is being stored now; ask again soon") from None
        try:
            return self._complete(self._locked_row(upload_id), holder)
        except (UploadRejected, SQLAlchemyError) as error:
            if isinstance(error, UploadRejected) and error.status_code < 500:
                raise  # not a failure of the store or the database (423: another request took over)
            log.warning("upload %s: completing it failed again: %s", upload_id, error)
            raise tus.UploadLocked("This upload has all its bytes, but storing them failed; ask again later") from error

    def _complete(self, upload: UploadInProgress, holder: str) -> StoredFile:
        """Turn the finished upload into a stored file: hash, commit the bytes, record, forget the upload.

        Called with the upload's lease (``holder``), which it gives back
        however it ends: on success with the upload's row, deleted in the
        transaction that records the stored file. Every step may be
        repeated after a failure (module docstring). Errors: those of the
        backend (503 :class:`StoreUnavailable`, 500 :class:`StorageFailed`)
        and of the database; the upload then awaits completion.
        """
        started = time.perf_counter()
        whole = None  # the hash of every byte, once known
        try:
            try:
                # Completed first: a backend may read its bytes back only then (S3
                # cannot read the parts of an unfinished multipart upload).
                staged = self.storage.complete_resumable(upload.storage_key, upload.offset)
            except NotFound:  # committed by an earlier attempt, whose record failed
                staged = None
            hasher = self.hashes.take(upload.id, upload.offset) if staged is not None else None
            hashed_now = hasher is None
            if hashed_now:  # a chunk went elsewhere, we restarted, or an earlier attempt failed: hash now
                hasher = hashlib.sha256()
                size = 0
                for chunk in self._finished_bytes(upload, committed=staged is None):
                    hasher.update(chunk)
                    size += len(chunk)
                if size != upload.offset:
                    raise StorageFailed(f"The store holds {size} bytes of this upload of {upload.offset}")
            whole = hasher
            content_type = upload.content_type or sniff_type(b"")
            record = new_record(
                upload.id,
                upload.filename,
                upload.original_filename,
                upload.offset,
                whole.hexdigest(),
                content_type,
                owner=upload.owner,
            )
            if staged is not None:
                self.storage.commit(staged)
            # From here on the bytes are under their key: a failure keeps them
            # for the next attempt (cleaning leaves keys an upload names).
            with self.session_factory() as dbsession, dbsession.begin():
                begin_write(dbsession)
                mine = dbsession.execute(
                    delete(UploadInProgress).where(
                        UploadInProgress.id == upload.id, UploadInProgress.locked_by == holder
                    )
                ).rowcount
                if not mine:  # our lease ran out and another request took the completion over
                    raise tus.UploadLocked("Another request is storing this upload now; ask again soon")
                dbsession.add(record)
                dbsession.flush()
                catalogue.count(dbsession, 1, record.size)  # the page's "N files, S in all"
        except BaseException:
            if whole is not None:  # for the next attempt, if it comes to this process
                self.hashes.put(upload.id, upload.offset, whole)
            self._release(upload.id, holder)
            raise
        _HELD.discard(holder)
        self.hashes.forget(upload.id)
        log.info(
            "upload %s complete: %d bytes%s, stored in %.2f s",
            upload.id,
            upload.offset,
            ", hashed at the end" if hashed_now else "",
            time.perf_counter() - started,
        )
        return record

    def _finished_bytes(self, upload: UploadInProgress, *, committed: bool) -> Iterator[bytes]:
        """The bytes of a finished upload: completed and not yet committed, or committed (a retry)."""
        if not committed:
            yield from self.storage.read_resumable(upload.storage_key, upload.offset)
            return
        try:
            file = self.storage.open(upload.storage_key)
        except NotFound:
            raise StorageFailed("The bytes of this upload are missing from the store") from None
        with contextlib.closing(file):
            while chunk := file.read(READ_BYTES):
                yield chunk

    def concatenate(
        self, parts: Iterable[str], *, metadata_header: str, metadata: dict[str, str], owner: str | None
    ) -> StoredFile:
        """A final upload (concatenation): the finished partial uploads ``parts``, in order, as one stored file."""
        uploads = []
        for part in parts:
            upload = self.get(part, owner)
            if isinstance(upload, StoredFile) or not upload.partial:
                raise tus.InvalidHeader("Upload-Concat: final may name only partial uploads")
            if upload.length is None or upload.offset != upload.length:
                raise tus.InvalidHeader("Upload-Concat: every partial upload must be finished first")
            uploads.append(upload)
        size = sum(upload.offset for upload in uploads)
        if size > self.settings.max_size:
            raise tus.TooLarge(f"The uploads together are over the limit of {format_size(self.settings.max_size)}")
        original = metadata.get("filename", "")
        filename = secure_filename(original)
        self._check_extension(filename)
        for upload in uploads:  # finished: their bytes become readable (S3 reads no parts before completion)
            self.storage.complete_resumable(upload.storage_key, upload.offset)
        chunks = chain.from_iterable(self.storage.read_resumable(u.storage_key, u.offset) for u in uploads)
        head = b""
        for u in uploads:
            head += b"".join(self.storage.read_resumable(u.storage_key, min(u.offset, SNIFF_BYTES - len(head))))
            if len(head) >= SNIFF_BYTES:
                break
        content_type = sniff_type(head)
        if self.settings.allowed_types and not type_allowed(content_type, self.settings.allowed_types):
            raise UnsupportedType(f"The file {filename} is {media_type_of(content_type)}, which is not accepted")
        key = secrets.token_hex(16)
        measured = Measured(chunks)
        staged = self.storage.stage(key, measured)
        record = new_record(key, filename, original[:1024], measured.size, measured.sha256(), content_type, owner)
        try:
            self.storage.commit(staged)
            with self.session_factory() as dbsession, dbsession.begin():
                begin_write(dbsession)
                dbsession.add(record)
                dbsession.flush()
                catalogue.count(dbsession, 1, record.size)
                dbsession.execute(delete(UploadInProgress).where(UploadInProgress.id.in_([u.id for u in uploads])))
        except BaseException:
            self.storage.discard(staged)
            with contextlib.suppress(NotFound):
                self.storage.delete(key)
            raise
        for upload in uploads:
            self.storage.abort_resumable(upload.storage_key)
        return record

    # -- termination and expiry ------------------------------------------

    def terminate(self, upload_id: str, owner: str | None, *, lease_held: str | None = None) -> None:
        """Remove an upload in progress and its bytes (``DELETE``, termination extension)."""
        upload = self.get(upload_id, owner)
        if isinstance(upload, StoredFile):
            raise tus.UploadGone("This upload is finished: delete the stored file instead")
        holder = lease_held or self._acquire(upload_id)  # 423 while a PATCH appends or completes
        try:
            with self.session_factory() as dbsession, dbsession.begin():
                begin_write(dbsession)
                dbsession.execute(
                    delete(UploadInProgress).where(
                        UploadInProgress.id == upload_id, UploadInProgress.locked_by == holder
                    )
                )
        except BaseException:
            self._release(upload_id, holder)
            raise
        _HELD.discard(holder)
        self.hashes.forget(upload_id)
        self._remove_bytes(upload.storage_key, finished=_awaits_completion(upload))

    def expire(self) -> list[str]:
        """Remove every upload whose expiry has passed, with its bytes; their ids."""
        now = self.clock()
        with self.session_factory() as dbsession, dbsession.begin():
            begin_write(dbsession)
            expired = dbsession.execute(
                delete(UploadInProgress)
                .where(
                    UploadInProgress.expires <= now,
                    or_(UploadInProgress.locked_until.is_(None), UploadInProgress.locked_until < now),
                )
                .returning(
                    UploadInProgress.id,
                    UploadInProgress.storage_key,
                    UploadInProgress.offset,
                    UploadInProgress.length,
                    UploadInProgress.partial,
                )
            ).all()
        for upload_id, key, offset, length, partial in expired:
            self.hashes.forget(upload_id)
            self._remove_bytes(key, finished=offset == length and not partial)
        return [upload_id for upload_id, *_ in expired]

    def _remove_bytes(self, key: str, *, finished: bool) -> None:
        """The bytes of an upload whose row is gone; a finished one's may be committed already (a failed completion)."""
        self.storage.abort_resumable(key)
        if finished:
            with contextlib.suppress(NotFound):
                self.storage.delete(key)

    def orphans(self, older_than: float) -> list[str]:
        """Remove resumable bytes no upload record names (a crash at creation), older than ``older_than`` s."""
        candidates = [stored for stored in self.storage.list_resumable() if stored.age >= older_than]
        if not candidates:
            return []
        with self.session_factory() as dbsession:
            known = set(
                dbsession.scalars(
                    select(UploadInProgress.storage_key).where(
                        UploadInProgress.storage_key.in_([stored.key for stored in candidates])
                    )
                )
            )
        removed = [stored.key for stored in candidates if stored.key not in known]
        for key in removed:
            self.storage.abort_resumable(key)
        return removed

    # -- the lease --------------------------------------------------------

    def _acquire(self, upload_id: str) -> str:
        """Take the upload's lease for this request, or answer 423 (compare-and-set on ``locked_until``)."""
        holder = f"{holder_name()}:{secrets.token_hex(4)}"
        now = self.clock()
        with self.session_factory() as dbsession, dbsession.begin():
            begin_write(dbsession)
            taken = dbsession.execute(
                update(UploadInProgress)
                .where(
                    UploadInProgress.id == upload_id,
                    or_(UploadInProgress.locked_by.is_(None), UploadInProgress.locked_until < now),
                )
                .values(locked_by=holder, locked_until=now + LEASE)
            ).rowcount
            if taken:
                _HELD.add(holder)
                return holder
            current = dbsession.scalar(select(UploadInProgress.locked_by).where(UploadInProgress.id == upload_id))
            if current is None:
                raise tus.UploadNotFound("No upload has this id")
            # A holder that was SIGKILLed on this host gives its leases back at once,
            # and so does a request of ours that could not give its lease back.
            if _holder_dead(current.rpartition(":")[0]) or _abandoned(current):
                dbsession.execute(
                    update(UploadInProgress)
                    .where(UploadInProgress.id == upload_id, UploadInProgress.locked_by == current)
                    .values(locked_by=holder, locked_until=now + LEASE)
                )
                _HELD.add(holder)
                return holder
        raise tus.UploadLocked("Another request is writing this upload now; try again when it is done")

    def _locked_row(self, upload_id: str) -> UploadInProgress:
        with self.session_factory() as dbsession:
            upload = dbsession.get(UploadInProgress, upload_id)
        if upload is None:
            raise tus.UploadNotFound("No upload has this id")
        return upload

    def _release(self, upload_id: str, holder: str) -> None:
        """Give the lease back; if the database is down, it is taken over by the next request (``_abandoned``)."""
        _HELD.discard(holder)
        try:
            with self.session_factory() as dbsession, dbsession.begin():
                begin_write(dbsession)
                dbsession.execute(
                    update(UploadInProgress)
                    .where(UploadInProgress.id == upload_id, UploadInProgress.locked_by == holder)
                    .values(locked_by=None, locked_until=None)
                )
        except SQLAlchemyError as error:  # not raised: the request's own error is the one to answer
            log.warning("upload %s: could not give its lease back: %s", upload_id, error)

    def _check_extension(self, filename: str) -> None:
        allowed = self.settings.allowed_extensions
        extension = extension_of(filename)
        if allowed and extension not in allowed:
            shown = f"Files of type .{extension}" if extension else "Files without an extension"
            raise UnsupportedType(f"{shown} are not accepted ({filename}); allowed: {', '.join(sorted(allowed))}")


def _awaits_completion(upload: UploadInProgress) -> bool:
    """Whether every byte arrived and the upload is not a stored file yet (being completed, or failed to)."""
    return upload.length is not None and upload.offset == upload.length and not upload.partial


def _abandoned(holder: str) -> bool:
    """Whether ``holder`` names a request of this process that ended without giving its lease back."""
    return holder.rpartition(":")[0] == holder_name() and holder not in _HELD


def _check_owner(recorded: str | None, requester: str | None) -> None:
    """Only whoever started an upload may continue or end it (with accounts on; without, both are ``None``).

    To anyone else it does not exist (404, as for an unknown id): upload
    ids, like file ids, leak nothing.
    """
    if recorded != requester:
        raise tus.UploadNotFound("No upload has this id")


def _hashed(chunks: Iterable[bytes], hasher: BackgroundSha256) -> Iterator[bytes]:
    for chunk in chunks:
        hasher.update(chunk)
        yield chunk


def includeme(config: Configurator) -> None:
    """Offer ``request.resumable`` when the backend can keep uploads across requests; expire old ones now.

    After ``.models`` and ``.storage``. With a backend that lacks the
    capability, the tus endpoint answers 501 (``views/tus.py``).
    """
    storage = config.registry["storage"]
    resumable = None
    if supports_resumable(storage):
        upload_settings = config.registry["upload_settings"]
        resumable = Resumable(storage, config.registry["dbsession_factory"], upload_settings)
        expired = resumable.expire()
        orphans = resumable.orphans(upload_settings.clean_after)
        if expired or orphans:
            log.info("removed %d expired uploads in progress and %d orphaned ones", len(expired), len(orphans))
    config.registry["resumable"] = resumable
    config.add_request_method(lambda request: request.registry["resumable"], "resumable", reify=True)
