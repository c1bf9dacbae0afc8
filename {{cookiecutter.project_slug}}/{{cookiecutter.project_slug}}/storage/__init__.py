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
"""

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from pyramid.config import Configurator
from pyramid.path import DottedNameResolver

from ..settings import SettingsError, UploadSettings

# Keys are made by the upload path: 128 random bits in hex, safe in any path,
# URL or object name. Backends refuse anything else, so a key read from a
# request can never name a file outside the store.
KEY_PATTERN = re.compile(r"[0-9a-f]{32}")

BACKENDS = {"local": "{{ cookiecutter.project_slug }}.storage.local.LocalStorage"}


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

    def stage(self, key: str, chunks: Iterable[bytes | memoryview]) -> Staged:
        """Receive ``chunks`` under ``key``, not yet visible; errors of ``chunks`` propagate, nothing kept."""

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
