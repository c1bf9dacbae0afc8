"""Bytes in an S3 bucket (AWS S3, Ceph's RADOS Gateway, MinIO, R2...): ``uploads.storage = s3``.

In the bucket::

    <prefix><key>                        committed bytes, under the key the upload path made
    multipart uploads of <prefix><key>   bytes being received (not visible until completed)
    <prefix>tus/<key>                    the marker of a resumable (tus) upload in progress
    <prefix>tus/<key>.tail-<start>       its bytes from <start> that do not fill a part yet
                                         (its whole parts: a multipart upload of <prefix><key>;
                                         see "Resumable uploads" in S3Storage)

Staging a file is one S3 multipart upload, sent part by part while the
request body is read: each part is sent as soon as it is full, and a new one
is filled only while fewer than two are on their way, so at most two parts
of one file are in memory (usually both being sent) and no local copy is
ever made. Committing completes the upload; discarding (any
refusal or failure) aborts it, so afterwards neither ``ListObjectsV2`` nor
``ListMultipartUploads`` shows anything of it.

A process killed mid-upload cannot abort its own multipart upload. Each
upload in flight is therefore noted in a small file in ``uploads.temp_path``
(``s3-upload-<key>``, holding the upload id), which only this instance uses:
at start-up :meth:`S3Storage.recover` aborts exactly the uploads its own
notes name, never another instance's. Uploads that no instance will ever
come back for (a host lost with its disk) are aborted by cleaning once
older than ``uploads.clean_after`` (:meth:`S3Storage.abort_stale`); a
bucket lifecycle rule (``AbortIncompleteMultipartUpload``) is a good second
line of defence.

Credentials come from boto3's standard chain only (``AWS_ACCESS_KEY_ID`` and
``AWS_SECRET_ACCESS_KEY``, ``~/.aws/credentials``, an instance role), never
from the ini files. A store that is down or refuses answers 503
(:class:`errors.StoreUnavailable`) with the cause; the next request tries
again, so the service recovers without a restart.

Ceph 16's ``CompleteMultipartUpload`` answers with an empty ``ETag``:
nothing here relies on it (sizes and hashes are the upload path's own).
"""

import contextlib
import io
import logging
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import StorageFailed, StoreUnavailable
from ..settings import SettingsError, UploadSettings, bool_setting, duration_setting, size_setting
from . import KEY_PATTERN, NotFound, StoredKey

log = logging.getLogger(__name__)

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's minimum for every part but the last
MAX_PARTS = 10_000  # S3's maximum number of parts in one upload
MAX_PARTS_IN_MEMORY = 2  # of one upload: sending, or being filled
SENDER_THREADS = 32  # uploads sending a part at the same moment; more wait their turn
NOTE_PREFIX = "s3-upload-"
ADDRESSING_STYLES = ("auto", "path", "virtual")
# Resumable uploads (tus): their marker and tails, under the prefix (see the section in S3Storage).
RESUMABLE_PREFIX = "tus/"
TAIL_INFIX = ".tail-"
PART_SIZE_METADATA = "part-size"
READ_BYTES = 1024 * 1024
# Error codes that mean "the store will not do it now", as opposed to "no such object".
UNAVAILABLE_CODES = {
    "AccessDenied": "the store refused access (check the credentials and the bucket's policy)",
    "InvalidAccessKeyId": "the store does not know the access key (AWS_ACCESS_KEY_ID)",
    "SignatureDoesNotMatch": "the store refused the secret key (AWS_SECRET_ACCESS_KEY)",
    "NoSuchBucket": "the bucket named by uploads.s3.bucket does not exist",
    "SlowDown": "the store asks to slow down",
    "ServiceUnavailable": "the store is unavailable",
}


@dataclass
class S3Staged:
    """A multipart upload of ``key`` whose parts are all sent, to be completed or aborted."""

    key: str
    upload_id: str
    parts: list[dict[str, Any]]
    note: Path
    done: bool = field(default=False)


@dataclass
class S3ResumableStaged:
    """A resumable upload completed into its object; committing forgets the rest of it."""

    key: str
    done: bool = field(default=False)


@dataclass(frozen=True)
class _ResumableState:
    """What the bucket holds of one resumable upload besides its parts."""

    part_size: int  # of its parts: fixed when it started, whatever uploads.s3.part_size says now
    tails: dict[int, int]  # the start of each tail object, and its size


class S3Storage:
    """Files as objects in one bucket under a prefix; see the module docstring."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        *,
        prefix: str = "",
        part_size: int = 8 * 1024 * 1024,
        temp_path: Path,
        redirect_downloads: bool = False,
        presigned_expiry: float = 300,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.part_size = part_size
        self.temp_path = temp_path
        self.redirect_downloads = redirect_downloads
        self.presigned_expiry = presigned_expiry
        self.endpoint = client.meta.endpoint_url
        # Threads that send parts, shared by every upload (each upload has at
        # most two parts in flight), started once rather than one per upload.
        self._senders = ThreadPoolExecutor(SENDER_THREADS, thread_name_prefix="s3-part")

    @classmethod
    def from_settings(cls, settings: Mapping[str, str], upload_settings: UploadSettings) -> "S3Storage":
        """``uploads.s3.bucket``, ``prefix``, ``endpoint_url``, ``region``, ``part_size``,
        ``addressing_style``, ``redirect_downloads`` and ``presigned_expiry``; credentials from boto3's chain.
        """
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise SettingsError("uploads.storage: s3 needs boto3; install the project with its s3 extra") from None

        def get(name: str, default: str = "") -> str:
            return str(settings.get(f"uploads.s3.{name}", default)).strip()

        bucket = get("bucket")
        if not bucket:
            raise SettingsError("uploads.s3.bucket: must name the bucket that keeps the files")
        part_size = size_setting(get("part_size", "8MiB"), "s3.part_size")
        if part_size < MIN_PART_SIZE:
            raise SettingsError("uploads.s3.part_size: must be at least 5MiB, the S3 minimum for a part")
        if part_size * MAX_PARTS < upload_settings.max_size:
            raise SettingsError("uploads.s3.part_size: too small for uploads.max_size in 10,000 parts (S3's limit)")
        style = get("addressing_style", "auto")
        if style not in ADDRESSING_STYLES:
            raise SettingsError(f"uploads.s3.addressing_style: {style!r} is not one of auto, path, virtual")
        expiry = duration_setting(get("presigned_expiry", "5m"), "s3.presigned_expiry")
        if not 1 <= expiry <= 7 * 86400:
            raise SettingsError("uploads.s3.presigned_expiry: must be between 1 second and 7 days (S3's limit)")
        config = Config(
            s3={"addressing_style": style},
            # A store that is down must answer quickly: one retry, short connect timeout.
            connect_timeout=3,
            read_timeout=60,
            retries={"mode": "standard", "max_attempts": 2},
            # boto3's default checksums stay on: each part carries a CRC32 the
            # store checks, and over HTTPS that spares a SHA-256 of the payload
            # for the signature (over plain HTTP the payload is always signed).
            max_pool_connections=32,
        )
        client = boto3.session.Session().client(
            "s3", endpoint_url=get("endpoint_url") or None, region_name=get("region") or None, config=config
        )
        return cls(
            client,
            bucket,
            prefix=get("prefix"),
            part_size=part_size,
            temp_path=upload_settings.temp_path,
            redirect_downloads=bool_setting(get("redirect_downloads", "false"), "s3.redirect_downloads"),
            presigned_expiry=expiry,
        )

    def recover(self) -> None:
        """Check the bucket, then abort the multipart uploads this instance left in flight.

        Raises :class:`SettingsError` naming ``uploads.s3.bucket`` when the
        bucket does not exist (or ``uploads.s3.endpoint_url`` when the store
        cannot be reached): the server must not start.
        """
        self.temp_path.mkdir(parents=True, exist_ok=True)
        try:
            with _store_errors(missing=LookupError(self.bucket)):
                self.client.head_bucket(Bucket=self.bucket)
        except LookupError:
            raise SettingsError(
                f"uploads.s3.bucket: the bucket {self.bucket!r} does not exist at {self.endpoint}"
            ) from None
        except (StoreUnavailable, StorageFailed) as error:
            raise SettingsError(f"uploads.s3.endpoint_url: cannot use {self.endpoint}: {error}") from None
        for note in self.temp_path.glob(NOTE_PREFIX + "*"):
            key = note.name.removeprefix(NOTE_PREFIX)
            upload_id = note.read_text(encoding="ascii").strip()
            if KEY_PATTERN.fullmatch(key) and upload_id:
                self._abort(self.prefix + key, upload_id)
            note.unlink(missing_ok=True)

    def stage(
        self, key: str, chunks: Iterable[bytes | memoryview], content_type: str = "application/octet-stream"
    ) -> S3Staged:
        """Send ``chunks`` as a multipart upload of ``key``, part by part; not visible until committed.

        Errors of ``chunks`` propagate unchanged; store errors become
        :class:`StoreUnavailable` (503) or :class:`StorageFailed`. Either
        way the multipart upload is aborted.
        """
        name = self._name(key)
        with _store_errors():
            upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=name, ContentType=content_type)[
                "UploadId"
            ]
        note = self.temp_path / f"{NOTE_PREFIX}{key}"
        staged = S3Staged(key, upload_id, [], note)
        try:
            note.write_text(upload_id, encoding="ascii")
            self._send_parts(staged, chunks)
        except BaseException:
            self.discard(staged)
            raise
        return staged

    def _send_parts(self, staged: S3Staged, chunks: Iterable[bytes | memoryview]) -> None:
        """Send each part as soon as it is full: at most two parts in memory, sending or filling.

        Filling (from the request body) is faster than sending, so usually
        two parts are on their way at once: a part is filled only once
        fewer than two are in flight, in the buffer of one already sent.
        """
        # (future, buffer) of each part on its way, oldest first; a buffer
        # whose part is in the store is filled again, so one upload allocates
        # at most two part buffers, whatever its size.
        in_flight: deque[tuple[Future, bytearray]] = deque()
        free: list[bytearray] = []
        cancelled = threading.Event()
        submitted = 0

        def send(number: int, body: bytearray) -> None:
            if cancelled.is_set():
                return
            with _store_errors():
                answer = self.client.upload_part(
                    Bucket=self.bucket, Key=self._name(staged.key), UploadId=staged.upload_id, PartNumber=number,
                    Body=body,
                )  # fmt: skip
            staged.parts.append({"PartNumber": number, "ETag": answer["ETag"]})

        def submit(buffer: bytearray) -> None:
            nonlocal submitted
            submitted += 1
            in_flight.append((self._senders.submit(send, submitted, buffer), buffer))

        def new_part() -> bytearray:
            while len(in_flight) >= MAX_PARTS_IN_MEMORY:
                future, buffer = in_flight.popleft()
                future.result()  # that part is in the store (or its error is raised here)
                free.append(buffer)
            return free.pop() if free else bytearray(self.part_size)

        try:
            # Each part is filled in place (one copy of every byte) and handed
            # to a sender as it is.
            part, filled = new_part(), 0
            for chunk in chunks:
                view = memoryview(chunk).cast("B")
                while view:
                    taken = min(len(view), self.part_size - filled)
                    part[filled : filled + taken] = view[:taken]
                    filled += taken
                    view = view[taken:]
                    if filled == self.part_size:
                        submit(part)
                        part, filled = new_part(), 0
            if filled or not submitted:
                del part[filled:]  # the last part may be short (or empty, for an empty file)
                submit(part)
            while in_flight:
                in_flight.popleft()[0].result()
        except BaseException:
            cancelled.set()
            wait([future for future, _ in in_flight])  # let the parts being sent finish before the abort
            raise

    def commit(self, staged: S3Staged | S3ResumableStaged) -> None:
        """Complete the multipart upload, never replacing an existing object.

        A resumable upload's object is complete already (:meth:`complete_resumable`):
        committing it forgets its tail and marker.
        """
        if isinstance(staged, S3ResumableStaged):
            return self._commit_resumable(staged)
        name = self._name(staged.key)
        with _store_errors():
            if self._exists(name):
                self.discard(staged)
                raise StorageFailed("The server could not store this upload (its key is already taken)")
            parts = sorted(staged.parts, key=lambda part: part["PartNumber"])
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=name, UploadId=staged.upload_id, MultipartUpload={"Parts": parts}
            )
        staged.done = True
        staged.note.unlink(missing_ok=True)

    def discard(self, staged: S3Staged | S3ResumableStaged) -> None:
        if isinstance(staged, S3ResumableStaged):
            return self._discard_resumable(staged)
        if staged.done:
            return
        staged.done = True
        self._abort(self._name(staged.key), staged.upload_id)
        staged.note.unlink(missing_ok=True)

    def open(self, key: str, start: int = 0, stop: int | None = None) -> BinaryIO:
        """A stream of bytes ``start`` to ``stop`` of the object (one ranged ``GetObject``), not seekable.

        Unbuffered: each ``read(n)`` is one read of the store's answer, so
        serving a block costs one copy (from the socket), not three.
        """
        name = self._name(key)
        if stop is not None and stop <= start:
            return io.BytesIO(b"")
        arguments = {"Bucket": self.bucket, "Key": name}
        if start or stop is not None:
            arguments["Range"] = f"bytes={start}-{'' if stop is None else stop - 1}"
        with _store_errors(missing=NotFound(key)):
            body = self.client.get_object(**arguments)["Body"]
        return _ObjectStream(body)

    def presigned_url(self, key: str, content_type: str, content_disposition: str) -> str:
        """A GET URL valid for ``uploads.s3.presigned_expiry`` that makes the store send our headers."""
        with _store_errors():
            return self.client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": self._name(key),
                    "ResponseContentType": content_type,
                    "ResponseContentDisposition": content_disposition,
                    "ResponseCacheControl": "private, no-cache",
                },
                ExpiresIn=int(self.presigned_expiry),
            )

    def delete(self, key: str) -> None:
        name = self._name(key)
        with _store_errors():
            if not self._exists(name):
                raise NotFound(key)
            self.client.delete_object(Bucket=self.bucket, Key=name)

    def list_keys(self) -> Iterator[StoredKey]:
        now = datetime.now(UTC)
        with _store_errors():
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
                for item in page.get("Contents", []):
                    key = item["Key"].removeprefix(self.prefix)
                    if KEY_PATTERN.fullmatch(key):
                        yield StoredKey(key, max(0.0, (now - item["LastModified"]).total_seconds()))

    def abort_stale(self, older_than: float) -> list[str]:
        """Abort multipart uploads under the prefix initiated more than ``older_than`` seconds ago; their keys.

        Those of resumable uploads in progress are not stale however old:
        their expiry removes them (``resumable.py``).
        """
        now = datetime.now(UTC)
        aborted = []
        resumable = {stored.key for stored in self.list_resumable()}  # their expiry decides (resumable.py)
        with _store_errors():
            pages = self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=self.prefix)
            for page in pages:
                for upload in page.get("Uploads", []):
                    if upload["Key"].removeprefix(self.prefix) in resumable:
                        continue
                    if (now - upload["Initiated"]).total_seconds() >= older_than:
                        self._abort(upload["Key"], upload["UploadId"])
                        aborted.append(upload["Key"].removeprefix(self.prefix))
        return aborted

    def _abort(self, name: str, upload_id: str) -> None:
        """Abort one multipart upload; already gone is fine, a failure is logged (cleaning retries)."""
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload_id)
        except Exception as error:
            code = getattr(error, "response", {}).get("Error", {}).get("Code")
            if code != "NoSuchUpload":
                log.warning("could not abort the multipart upload of %s (%s); cleaning will", name, error)

    def _exists(self, name: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=name)
        except Exception as error:
            if getattr(error, "response", {}).get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def _name(self, key: str) -> str:
        """The object name of ``key``, refusing anything that is not a key we make."""
        if not KEY_PATTERN.fullmatch(key):
            raise NotFound(key)
        return self.prefix + key

    # -- Resumable uploads (tus): the storage.ResumableStorage capability ------------------------
    #
    # A resumable upload grows over many requests, possibly on different
    # instances, and every chunk must be durable before it is acknowledged.
    # Its bytes live in three places, all in the bucket (so any instance can
    # take the next chunk, and a restart loses nothing):
    #
    # - whole parts, each exactly the upload's part size, in a multipart
    #   upload of <prefix><key> (created with the first whole part, found
    #   again with ListMultipartUploads on that name: nothing to note down);
    # - the bytes after the last whole part, shorter than a part (S3 refuses
    #   parts under 5 MiB but the last), in a small object, the tail,
    #   <prefix>tus/<key>.tail-<start>, until the next chunk fills a part;
    # - the marker <prefix>tus/<key>, made at the start: the upload exists,
    #   since when, and with which part size (in its metadata).
    #
    # The catalogue's offset says which bytes count: parts 1 to offset //
    # part_size, then the first offset % part_size bytes of the tail that
    # starts there. An append therefore never undoes anything when it fails:
    # the parts it sent lie past the offset (a later append sends them again
    # under the same numbers, or the completion leaves them out) and it
    # writes its tail only at the end. A tail that starts further on is a
    # new object, so the older one stays until the catalogue has moved: a
    # crash after an append and before the catalogue recorded it loses
    # nothing the offset counts. The next append deletes the tails it does
    # not start from. On the last byte, the tail becomes the last part and
    # the multipart upload is completed into <prefix><key> (an upload
    # shorter than one part is one PutObject); committing then deletes the
    # marker and the tail.
    #
    # Only the tails can be read before completion (S3 cannot read parts of
    # an unfinished multipart upload). That is enough: the first bytes (to
    # sniff) are in the first tail, and a finished upload is read (to hash
    # it, or to concatenate partial uploads) once completed.

    def start_resumable(self, key: str) -> None:
        """Put the upload's marker, with the part size its parts will have."""
        with _store_errors():
            self.client.put_object(
                Bucket=self.bucket, Key=self._marker(key), Body=b"", Metadata={PART_SIZE_METADATA: str(self.part_size)}
            )

    def append(
        self, key: str, offset: int, chunks: Iterable[bytes], content_type: str = "application/octet-stream"
    ) -> int:
        """Send ``chunks`` at ``offset``: whole parts to the multipart upload, the rest as the new tail.

        Durable when it returns (each part once ``UploadPart`` answered, the
        tail once ``PutObject`` did). At most two parts are in memory, as in
        :meth:`stage`. ``content_type`` becomes the object's if this append
        starts the multipart upload (or writes the tail of a short one).
        """
        state = self._resumable_state(key)
        part_size = state.part_size
        whole, kept = divmod(offset, part_size)
        start = whole * part_size
        head = self._tail(key, state, start, kept)[0]
        for stale in state.tails.keys() - {start}:  # left by appends the catalogue did not record
            with _store_errors():
                self.client.delete_object(Bucket=self.bucket, Key=self._tail_name(key, stale))
        name = self._name(key)
        upload_id = ""
        in_flight: deque[Future] = deque()
        cancelled = threading.Event()
        sent = received = 0

        def send(number: int, body: bytearray) -> None:
            if cancelled.is_set():
                return
            with _store_errors():
                self.client.upload_part(Bucket=self.bucket, Key=name, UploadId=upload_id, PartNumber=number, Body=body)

        def new_part() -> bytearray:
            while len(in_flight) >= MAX_PARTS_IN_MEMORY:
                in_flight.popleft().result()  # that part is in the store (or its error is raised here)
            return bytearray(part_size)

        try:
            part = new_part()
            part[:kept] = head  # the kept bytes of the tail begin the next part
            filled = kept
            del head
            for chunk in chunks:
                view = memoryview(chunk).cast("B")
                received += len(view)
                while view:
                    taken = min(len(view), part_size - filled)
                    part[filled : filled + taken] = view[:taken]
                    filled += taken
                    view = view[taken:]
                    if filled == part_size:
                        upload_id = upload_id or self._multipart_upload(name, content_type)
                        sent += 1
                        in_flight.append(self._senders.submit(send, whole + sent, part))
                        del part  # the sender holds it now
                        part, filled = new_part(), 0
            while in_flight:
                in_flight.popleft().result()
        except BaseException:
            cancelled.set()
            wait(in_flight)  # let the parts being sent finish (or fail): nothing of this append counts
            raise
        if filled and received:
            del part[filled:]
            with _store_errors():
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=self._tail_name(key, start + sent * part_size),
                    Body=part,
                    ContentType=content_type,
                )
        return offset + received

    def read_resumable(self, key: str, stop: int) -> Iterator[bytes]:
        """The first ``stop`` bytes: from the first tail while they fit in it, else from the completed object."""
        state = self._resumable_state(key)
        if stop <= 0:
            return
        if state.tails.get(0, 0) >= stop:
            yield from self._read(self._tail_name(key, 0), stop)
        else:
            unreadable = StorageFailed("The parts of an upload can be read only once it is complete")
            yield from self._read(self._name(key), stop, missing=unreadable)

    def complete_resumable(self, key: str, size: int) -> S3ResumableStaged:
        """Make the first ``size`` bytes the object ``<prefix><key>``: the tail becomes the last part.

        The object's size is checked with ``HeadObject`` (the answer to
        ``CompleteMultipartUpload`` is not trusted: Ceph 16 leaves its ETag
        empty). Calling it again once completed is harmless.
        """
        state = self._resumable_state(key)
        part_size = state.part_size
        whole, kept = divmod(size, part_size)
        name = self._name(key)
        with _store_errors():
            uploads = self._multipart_uploads(name)
            if whole and not uploads:  # completed already (a retry), or its parts are lost
                if self._size(name) != size:
                    raise StorageFailed("The parts of this upload are missing from the store")
                return S3ResumableStaged(key)
            if kept and kept > state.tails.get(whole * part_size, 0) and self._size(name) == size:
                return S3ResumableStaged(key)  # completed already: the tail went with the marker
            tail, content_type = self._tail(key, state, whole * part_size, kept)
            if not whole:  # shorter than a part: one object, no multipart upload
                self.client.put_object(Bucket=self.bucket, Key=name, Body=tail, ContentType=content_type)
                leftovers = uploads  # parts of appends that failed
            else:
                upload_id, leftovers = uploads[0], uploads[1:]
                parts = self._parts(name, upload_id, whole, part_size)
                if kept:
                    answer = self.client.upload_part(
                        Bucket=self.bucket, Key=name, UploadId=upload_id, PartNumber=whole + 1, Body=tail
                    )
                    parts.append({"PartNumber": whole + 1, "ETag": answer["ETag"]})
                self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=name, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
            for upload_id in leftovers:
                self._abort(name, upload_id)
            if self._size(name) != size:
                raise StorageFailed(f"The store kept {self._size(name)} bytes of an upload of {size}")
        return S3ResumableStaged(key)

    def abort_resumable(self, key: str) -> None:
        """Abort the multipart upload, delete the tails, a completed object never committed, then the marker."""
        name = self._name(key)
        with _store_errors():
            for upload_id in self._multipart_uploads(name):
                self._abort(name, upload_id)
            try:
                state = self._resumable_state(key)
            except NotFound:
                return  # none, or committed (then <prefix><key> is a stored file: not ours to delete)
            # A finished partial upload was completed for concatenation and is never committed.
            self.client.delete_object(Bucket=self.bucket, Key=name)
            for start in state.tails:
                self.client.delete_object(Bucket=self.bucket, Key=self._tail_name(key, start))
            self.client.delete_object(Bucket=self.bucket, Key=self._marker(key))  # last: cleaning finds the rest

    def list_resumable(self) -> Iterator[StoredKey]:
        """Every resumable upload's key (from its marker), with the time since it started."""
        now = datetime.now(UTC)
        with _store_errors():
            markers = self.prefix + RESUMABLE_PREFIX
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=markers):
                for item in page.get("Contents", []):
                    key = item["Key"].removeprefix(markers)
                    if KEY_PATTERN.fullmatch(key):
                        yield StoredKey(key, max(0.0, (now - item["LastModified"]).total_seconds()))

    def _commit_resumable(self, staged: S3ResumableStaged) -> None:
        """The object is complete already: forget the tails and the marker, so it is a stored file's."""
        state = self._resumable_state(staged.key)
        with _store_errors():
            for start in state.tails:
                self.client.delete_object(Bucket=self.bucket, Key=self._tail_name(staged.key, start))
            self.client.delete_object(Bucket=self.bucket, Key=self._marker(staged.key))
        staged.done = True

    def _discard_resumable(self, staged: S3ResumableStaged) -> None:
        if not staged.done:
            staged.done = True
            self.abort_resumable(staged.key)

    def _resumable_state(self, key: str) -> _ResumableState:
        """The marker's part size and the tails; :class:`NotFound` without a marker."""
        marker = self._marker(key)
        with _store_errors(missing=NotFound(key)):
            metadata = self.client.head_object(Bucket=self.bucket, Key=marker)["Metadata"]
        with _store_errors():
            listed = self.client.list_objects_v2(Bucket=self.bucket, Prefix=marker + TAIL_INFIX).get("Contents", [])
        tails = {}
        for item in listed:
            start = item["Key"].removeprefix(marker + TAIL_INFIX)
            if start.isdigit():
                tails[int(start)] = item["Size"]
        return _ResumableState(int(metadata.get(PART_SIZE_METADATA, self.part_size)), tails)

    def _tail(self, key: str, state: _ResumableState, start: int, size: int) -> tuple[bytes, str]:
        """The first ``size`` bytes of the tail at ``start``, and its content type."""
        if not size:
            return b"", "application/octet-stream"
        if state.tails.get(start, 0) < size:
            raise StorageFailed("The bytes of this upload are shorter than its recorded offset")
        with _store_errors():
            answer = self.client.get_object(
                Bucket=self.bucket, Key=self._tail_name(key, start), Range=f"bytes=0-{size - 1}"
            )
            with contextlib.closing(answer["Body"]) as body:
                return body.read(), answer.get("ContentType") or "application/octet-stream"

    def _read(self, name: str, stop: int, missing: Exception | None = None) -> Iterator[bytes]:
        """The first ``stop`` bytes of an object, a megabyte at a time."""
        with _store_errors(missing=missing):
            body = self.client.get_object(Bucket=self.bucket, Key=name, Range=f"bytes=0-{stop - 1}")["Body"]
        with contextlib.closing(body):
            while True:
                with _store_errors():
                    chunk = body.read(READ_BYTES)
                if not chunk:
                    return
                yield chunk

    def _multipart_upload(self, name: str, content_type: str) -> str:
        """The id of the multipart upload of ``name``, started now if there is none."""
        with _store_errors():
            uploads = self._multipart_uploads(name)
            if uploads:
                return uploads[0]
            return self.client.create_multipart_upload(Bucket=self.bucket, Key=name, ContentType=content_type)[
                "UploadId"
            ]

    def _multipart_uploads(self, name: str) -> list[str]:
        """The ids of the multipart uploads of ``name``, oldest first (one, unless something went wrong)."""
        answer = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=name)
        uploads = [upload for upload in answer.get("Uploads", []) if upload["Key"] == name]
        return [upload["UploadId"] for upload in sorted(uploads, key=lambda upload: upload["Initiated"])]

    def _parts(self, name: str, upload_id: str, count: int, part_size: int) -> list[dict[str, Any]]:
        """Parts 1 to ``count`` for ``CompleteMultipartUpload``, checked to be whole (later ones are left out)."""
        parts = {}
        pages = self.client.get_paginator("list_parts").paginate(Bucket=self.bucket, Key=name, UploadId=upload_id)
        for page in pages:
            for part in page.get("Parts", []):
                if part["PartNumber"] <= count:
                    parts[part["PartNumber"]] = part
        if sorted(parts) != list(range(1, count + 1)) or any(part["Size"] != part_size for part in parts.values()):
            raise StorageFailed("The parts of this upload in the store do not match its recorded offset")
        return [{"PartNumber": number, "ETag": parts[number]["ETag"]} for number in range(1, count + 1)]

    def _size(self, name: str) -> int | None:
        """The size of an object (``HeadObject``), or ``None`` if there is none."""
        try:
            return self.client.head_object(Bucket=self.bucket, Key=name)["ContentLength"]
        except Exception as error:
            if getattr(error, "response", {}).get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def _marker(self, key: str) -> str:
        self._name(key)  # refuse a key we could not have made
        return f"{self.prefix}{RESUMABLE_PREFIX}{key}"

    def _tail_name(self, key: str, start: int) -> str:
        return f"{self._marker(key)}{TAIL_INFIX}{start}"


class _ObjectStream(io.RawIOBase):
    """botocore's streaming body as a raw, non-seekable stream (closing it frees the connection)."""

    def __init__(self, body: Any) -> None:
        self.body = body

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all that is left if negative) as botocore reads them: no copy more."""
        with _store_errors():
            return self.body.read(None if size < 0 else size)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):
                self.body.close()
        super().close()


@contextlib.contextmanager
def _store_errors(missing: Exception | None = None) -> Iterator[None]:
    """Turn botocore's errors into refusals: 503 when the store is down or refuses, with the cause.

    ``missing``: what to raise instead for a missing object (``NoSuchKey``, or a 404 without a body);
    a missing bucket (``NoSuchBucket``) is a 503 naming ``uploads.s3.bucket``.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code == "403":  # an answer to HEAD has no body to name the code: a 403 is a refusal
            code = "AccessDenied"
        # A missing bucket is not a missing object: the store is unusable
        # until uploads.s3.bucket names a bucket again (503, not 404).
        if missing is not None and code in ("NoSuchKey", "404", "NotFound"):
            raise missing from None
        if code in UNAVAILABLE_CODES or status >= 500 or status in (401, 403):
            cause = UNAVAILABLE_CODES.get(code, f"the store answered {status} {code}")
            raise StoreUnavailable(f"The file store is unavailable: {cause}") from error
        raise StorageFailed(f"The file store refused the request ({code or status})") from error
    except BotoCoreError as error:
        raise StoreUnavailable(f"The file store is unavailable ({error}); check uploads.s3.endpoint_url") from error
