"""The rules of the tus 1.0 resumable upload protocol, as pure functions and error values.

tus (https://tus.io/protocols/resumable-upload, version 1.0.0) lets a client
create an upload (``POST``), send its bytes in as many ``PATCH`` requests as
it likes, ask how far the server got (``HEAD``) after a broken connection,
and carry on from there. This module knows the protocol's headers and
statuses and nothing else: no database, no disk, no Pyramid. The upload
state lives in the catalogue and the bytes in the storage backend
(``resumable.py``); the views glue them (``views/tus.py``).

Each refusal is an :class:`errors.UploadRejected` with its status and a
stable machine-readable ``code`` (as tusd's ``ErrorXxx`` values), so a
client may branch on the code and show the sentence.
"""

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from .errors import UploadRejected

TUS_VERSION = "1.0.0"
# Extensions this server implements (protocol section "Protocol Extensions").
EXTENSIONS = (
    "creation",
    "creation-with-upload",
    "creation-defer-length",
    "termination",
    "checksum",
    "expiration",
    "concatenation",
)
CHECKSUM_ALGORITHMS = ("sha1", "sha256")  # sha1 is the one the protocol requires
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
# Upload-Metadata: at most this many bytes of header, and this many pairs.
MAX_METADATA_BYTES = 4096
MAX_METADATA_PAIRS = 32
# Upload-Concat: final of at most this many partial uploads.
MAX_CONCAT_PARTS = 100
# Headers a browser on another origin must be allowed to send and to read (CORS).
REQUEST_HEADERS = (
    "Authorization, Content-Type, Upload-Checksum, Upload-Concat, Upload-Defer-Length, Upload-Length, "
    "Upload-Metadata, Upload-Offset, Tus-Resumable, X-CSRF-Token, X-HTTP-Method-Override, X-Requested-With"
)
EXPOSED_HEADERS = (
    "Location, Upload-Concat, Upload-Defer-Length, Upload-Expires, Upload-File-Location, Upload-Length, "
    "Upload-Metadata, Upload-Offset, Tus-Checksum-Algorithm, Tus-Extension, Tus-Max-Size, Tus-Resumable, Tus-Version"
)
_DIGITS = re.compile(r"[0-9]{1,19}")
_KEY = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # a token (RFC 9110 section 5.6.2), no spaces or commas


class TusError(UploadRejected):
    """A tus request refused; ``code`` is stable, the message is for people."""

    code = "bad_request"


class PreconditionFailed(TusError):
    """``Tus-Resumable`` missing or a version we do not speak (412, protocol "Tus-Resumable")."""

    status_code = 412
    code = "unsupported_version"


class InvalidHeader(TusError):
    status_code = 400
    code = "invalid_header"


class OffsetMismatch(TusError):
    """``Upload-Offset`` is not the upload's offset (409, protocol "PATCH")."""

    status_code = 409
    code = "mismatched_offset"


class WrongContentType(TusError):
    status_code = 415
    code = "invalid_content_type"


class TooLarge(TusError):
    status_code = 413
    code = "max_size_exceeded"


class UploadNotFound(TusError):
    status_code = 404
    code = "not_found"


class UploadGone(TusError):
    """The upload expired, or was finished and is now a stored file (410, "Expiration")."""

    status_code = 410
    code = "upload_gone"


class UploadLocked(TusError):
    """Another request is writing this upload right now (423, as tusd answers)."""

    status_code = 423
    code = "upload_locked"


class ChecksumMismatch(TusError):
    """The chunk's bytes do not match ``Upload-Checksum``; they were discarded (460, "Checksum")."""

    status_code = 460
    code = "checksum_mismatch"


class Forbidden(TusError):
    status_code = 403
    code = "forbidden"


def check_version(value: str | None) -> None:
    """Every request but ``OPTIONS`` names the version it speaks: 412 otherwise."""
    if value != TUS_VERSION:
        raise PreconditionFailed(f"This server speaks tus {TUS_VERSION}: send Tus-Resumable: {TUS_VERSION}")


def parse_count(name: str, value: str | None) -> int | None:
    """A non-negative integer header (``Upload-Offset``, ``Upload-Length``); ``None`` if absent.

    Only ASCII digits, at most 19 of them (a signed 64-bit number, as the
    databases keep it): ``-1``, ``+5``, ``1e3``, ``0x10`` and `` 5`` are 400.
    """
    if value is None:
        return None
    if not _DIGITS.fullmatch(value) or int(value) >= 2**63:
        raise InvalidHeader(f"{name} must be a non-negative whole number, not {value[:40]!r}")
    return int(value)


def parse_metadata(value: str | None) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs (protocol "Upload-Metadata").

    Keys are unique tokens; a value may be absent (an empty string here).
    Values must be base64 of UTF-8 text (the filename, filetype...) since
    this server only reads text values. 400 for anything else, for more
    than :data:`MAX_METADATA_PAIRS` pairs or a header over
    :data:`MAX_METADATA_BYTES` bytes.
    """
    if value is None or value.strip() == "":
        return {}
    if len(value) > MAX_METADATA_BYTES:
        raise InvalidHeader(f"Upload-Metadata is longer than {MAX_METADATA_BYTES} bytes")
    pairs = value.split(",")
    if len(pairs) > MAX_METADATA_PAIRS:
        raise InvalidHeader(f"Upload-Metadata has more than {MAX_METADATA_PAIRS} pairs")
    metadata: dict[str, str] = {}
    for pair in pairs:
        words = pair.strip().split(" ")
        if len(words) > 2 or not _KEY.fullmatch(words[0]):
            raise InvalidHeader("Upload-Metadata must be comma-separated pairs of a key and a base64 value")
        key = words[0]
        if key in metadata:
            raise InvalidHeader(f"Upload-Metadata names {key!r} twice")
        try:
            decoded = base64.b64decode(words[1], validate=True) if len(words) == 2 else b""
            metadata[key] = decoded.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidHeader(f"Upload-Metadata's value for {key!r} is not base64 of UTF-8 text") from None
    return metadata


@dataclass(frozen=True)
class Checksum:
    """An ``Upload-Checksum``: the algorithm and the digest the client computed."""

    algorithm: str
    digest: bytes

    def verifier(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """Pass ``chunks`` through; after the last one, raise :class:`ChecksumMismatch` if they differ.

        Raising from inside the iteration means the storage backend sees an
        error from its chunks, and keeps none of them (protocol "Checksum":
        the server MUST NOT keep the chunk).
        """
        hasher = hashlib.new(self.algorithm)
        for chunk in chunks:
            hasher.update(chunk)
            yield chunk
        if hasher.digest() != self.digest:
            raise ChecksumMismatch(f"The chunk's {self.algorithm} is not the Upload-Checksum sent; it was discarded")


def parse_checksum(value: str | None) -> Checksum | None:
    """``Upload-Checksum: <algorithm> <base64 digest>``; 400 for an unknown algorithm or a bad digest."""
    if value is None:
        return None
    algorithm, _, encoded = value.strip().partition(" ")
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise InvalidHeader(f"Upload-Checksum: {algorithm[:20]!r} is not one of {', '.join(CHECKSUM_ALGORITHMS)}")
    try:
        digest = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        digest = b""
    if len(digest) != hashlib.new(algorithm).digest_size:
        raise InvalidHeader(f"Upload-Checksum's digest is not the base64 of a {algorithm} digest")
    return Checksum(algorithm, digest)


@dataclass(frozen=True)
class Concat:
    """``Upload-Concat``: ``partial``, or ``final`` with the ids of the partial uploads in order."""

    partial: bool
    parts: tuple[str, ...] = ()


def parse_concat(value: str | None, upload_id_of: Callable[[str], str | None]) -> Concat | None:
    """``partial`` or ``final;<url> <url> ...`` (protocol "Concatenation").

    ``upload_id_of`` turns one URL (absolute or a path) into an upload id,
    or ``None`` when it names none of this server's uploads (then 400).
    """
    if value is None:
        return None
    if value == "partial":
        return Concat(partial=True)
    kind, _, urls = value.partition(";")
    if kind != "final":
        raise InvalidHeader("Upload-Concat must be partial or final;<upload URLs>")
    names = urls.split()
    if not names or len(names) > MAX_CONCAT_PARTS:
        raise InvalidHeader(f"Upload-Concat: final names 1 to {MAX_CONCAT_PARTS} partial uploads")
    parts = []
    for url in names:
        upload_id = upload_id_of(url)
        if upload_id is None:
            raise InvalidHeader(f"Upload-Concat: {url[:80]!r} is not an upload of this server")
        parts.append(upload_id)
    return Concat(partial=False, parts=tuple(parts))


def encode_metadata(metadata: dict[str, str]) -> str:
    """The ``Upload-Metadata`` header for ``metadata`` (what HEAD sends back)."""
    return ",".join(
        f"{key} {base64.b64encode(value.encode('utf-8')).decode('ascii')}" if value else key
        for key, value in metadata.items()
    )
