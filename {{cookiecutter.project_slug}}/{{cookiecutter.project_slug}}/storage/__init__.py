"""Where the bytes of stored files live: the interface every backend implements.

A backend keeps bytes and nothing else. The upload path (``receiving.py``)
counts and hashes what it streams, and the catalogue (``models``) holds the
record of every stored file; a backend is told a *key* and some chunks and
never decides what a record says. Storing takes two steps, :meth:`Storage.stage`
then :meth:`Storage.commit`, because one request may carry several files and
must keep all of them or none.

A backend is picked by the ``uploads.storage`` setting: a name from
:data:`BACKENDS` (``local``) or the dotted name of a class. Each backend reads
its own settings in its ``from_settings``, so adding one touches one module.
The conformance suite in ``tests/test_storage_backends.py`` runs against
every backend.

Resumable uploads (tus, ``resumable.py``) need one capability more, as
tusd's optional store interfaces: bytes staged under a key that grow by
appends over many requests, possibly on different instances, before they
are completed into a :class:`Staged` that :meth:`Storage.commit` makes
visible. A backend offers it by implementing :class:`ResumableStorage`.
"""

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import BinaryIO, Protocol, runtime_checkable

from pyramid.config import Configurator
from pyramid.path import DottedNameResolver

from ..settings import SettingsError, UploadSettings

# Keys are made by the upload path: 128 random bits in hex, safe in any path,
# URL or object name. Backends refuse anything else, so a key read from a
# request can never name a file outside the store.
KEY_PATTERN = re.compile(r"[0-9a-f]{32}")

BACKENDS = {
    "local": "{{ cookiecutter.project_slug }}.storage.local.LocalStorage",
    "s3": "{{ cookiecutter.project_slug }}.storage.s3.S3Storage",
}


class NotFound(LookupError):
    """The store holds no bytes under this key."""


@dataclass(frozen=True)
class StoredKey:
    """A key the store holds, with its age in seconds (what cleaning needs)."""

    key: str
    age: float


class Staged(Protocol):
    """A backend's handle on bytes received but not yet committed."""

    key: str


class Storage(Protocol):
    """What the upload path, the views and the cleaning command need from a backend.

    Errors are :class:`errors.OutOfSpace` or :class:`errors.StorageFailed`
    (with a message for people), or :class:`NotFound`.
    """

    @classmethod
    def from_settings(cls, settings: Mapping[str, str], upload_settings: UploadSettings) -> "Storage":
        """Build the backend from Pyramid's settings; :class:`SettingsError` names a bad one."""

    def recover(self) -> None:
        """At start-up: create what is missing, clear what an interrupted process left staged."""

    def stage(self, key: str, chunks: Iterable[bytes | memoryview], content_type: str = ...) -> Staged:
        """Receive ``chunks`` under ``key``, not yet visible; errors of ``chunks`` propagate, nothing kept.

        ``content_type`` is the sniffed media type, for stores that keep one with the bytes.
        """

    def commit(self, staged: Staged) -> None:
        """Make staged bytes durable and readable under their key (never replacing existing bytes)."""

    def discard(self, staged: Staged) -> None:
        """Forget staged bytes; harmless after :meth:`commit` and when called twice."""

    def open(self, key: str, start: int = 0, stop: int | None = None) -> BinaryIO:
        """A readable stream of bytes ``start`` to ``stop`` (exclusive; ``None``: to the end)."""

    def delete(self, key: str) -> None:
        """Remove the bytes under ``key``; :class:`NotFound` if there are none."""

    def list_keys(self) -> Iterator[StoredKey]:
        """Every committed key with its age, in no particular order (for cleaning)."""


@runtime_checkable
class AbortsStale(Protocol):
    """A backend whose staged bytes outlive a killed process (S3 multipart uploads): cleaning aborts them."""

    def abort_stale(self, older_than: float) -> list[str]:
        """Abort what was staged more than ``older_than`` seconds ago; the keys aborted."""


@runtime_checkable
class ServesDirectly(Protocol):
    """A backend that can let clients fetch bytes from the store itself (a presigned URL)."""

    redirect_downloads: bool

    def presigned_url(self, key: str, content_type: str, content_disposition: str) -> str:
        """A URL for the bytes of ``key`` that makes the store send these headers."""


class ResumableStorage(Storage, Protocol):
    """A backend that can keep an upload's bytes across requests (the tus capability).

    The handler (``resumable.py``) owns the protocol: it checks offsets and
    lengths, takes the upload's lock, hashes and records. The backend only
    keeps bytes, and keeps them durably: when :meth:`append` returns, a
    crash loses none of them. Keys are made by the handler, as for
    :meth:`Storage.stage`.

    On S3, a resumable upload is a multipart upload: :meth:`append` sends
    parts of at least 5 MiB and keeps a shorter tail (as a small object)
    until the next append or :meth:`complete_resumable`. Its parts cannot be
    read back before completion, so the handler completes finished partial
    uploads before it reads them to concatenate them.
    """

    def start_resumable(self, key: str) -> None:
        """Create an empty resumable upload under ``key``."""

    def append(self, key: str, offset: int, chunks: Iterable[bytes], content_type: str = ...) -> int:
        """Add ``chunks`` at ``offset``; the new size, durable when it returns.

        Bytes past ``offset`` left by an earlier append that failed are
        dropped first. If ``chunks`` raises (a checksum mismatch, a refused
        type, a broken body), none of this append's bytes are kept and the
        error propagates. :class:`NotFound` if there is no such upload.
        ``content_type`` is the sniffed media type, as for :meth:`Storage.stage`.
        """

    def read_resumable(self, key: str, stop: int) -> Iterator[bytes]:
        """The first ``stop`` bytes appended so far (to sniff, hash or concatenate them).

        Also after :meth:`complete_resumable`, until the staged bytes are
        committed: the handler hashes a finished upload there when no
        process saw every chunk.
        """

    def complete_resumable(self, key: str, size: int) -> Staged:
        """End appending; the first ``size`` bytes become a :class:`Staged` for :meth:`Storage.commit`."""

    def abort_resumable(self, key: str) -> None:
        """Forget a resumable upload and its bytes; harmless if there is none."""

    def list_resumable(self) -> Iterator[StoredKey]:
        """Every resumable upload the backend holds, with its age (for cleaning orphans)."""


def supports_resumable(storage: Storage) -> bool:
    """Whether ``storage`` implements :class:`ResumableStorage` (the tus endpoint needs it)."""
    return all(
        callable(getattr(storage, name, None))
        for name in ("start_resumable", "append", "read_resumable", "complete_resumable", "abort_resumable")
    )


def from_settings(settings: Mapping[str, str], upload_settings: UploadSettings) -> Storage:
    """The backend ``uploads.storage`` names, built from the settings."""
    name = upload_settings.storage
    try:
        backend = DottedNameResolver().maybe_resolve(BACKENDS.get(name, name))
    except (ImportError, ValueError):
        known = ", ".join(sorted(BACKENDS))
        raise SettingsError(f"uploads.storage: {name!r} is not one of {known} nor a backend's dotted name") from None
    return backend.from_settings(settings, upload_settings)


def includeme(config: Configurator) -> None:
    """Build the backend, let it recover, and offer it as ``request.storage``."""
    storage = from_settings(config.registry.settings, config.registry["upload_settings"])
    storage.recover()
    config.registry["storage"] = storage
    config.add_request_method(lambda request: request.registry["storage"], "storage", reify=True)
