"""The ``uploads.*`` settings, read once at startup and checked there.

A mistake in an ini file should stop the server with a message that names
the setting, not surface as a 500 on the first upload. :func:`load` turns
the raw strings Pyramid hands us into one typed, frozen object. The rules
the template's pre-generation hook checks too (sizes, paths, extensions)
are in :mod:`.rules`, run by both.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from . import rules

DEFAULT_MAX_FILES = 20
DEFAULT_CLEAN_AFTER = "24h"
DEFAULT_TUS_MAX_CHUNK = "64MB"
DEFAULT_TUS_EXPIRE_AFTER = "24h"
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class SettingsError(ValueError):
    """A bad ``uploads.*`` value; the message starts with the setting's name."""


@dataclass(frozen=True)
class UploadSettings:
    storage: str
    storage_path: Path
    temp_path: Path
    max_size: int
    chunk_size: int
    max_files: int
    allowed_extensions: frozenset[str]
    allowed_types: tuple[str, ...]
    fsync: bool
    file_mode: int
    dir_mode: int
    clean_after: float  # seconds: unrecorded bytes younger than this are never cleaned
    public_url: str = ""  # "" = absolute URLs from the request's (checked) Host header
    # tus (resumable uploads): the largest PATCH body, in bytes, and how long
    # an unfinished upload is kept, in seconds.
    tus_max_chunk: int = 64 * 1024 * 1024
    tus_expire_after: float = 24 * 3600.0
    # Origins (scheme://host[:port]) whose pages may use the tus endpoint (CORS); none by default.
    cors_origins: tuple[str, ...] = ()


def load(settings: Mapping[str, str], here: Path) -> UploadSettings:
    """Build :class:`UploadSettings` from Pyramid's settings.

    Relative paths are resolved against ``here``, the directory of the ini
    file, so ``var/uploads`` means the same thing whatever the working
    directory of the server is.
    """

    def get(name: str, default: str) -> str:
        return str(settings.get(f"uploads.{name}", default)).strip()

    storage = get("storage", "local")
    if not storage:
        raise SettingsError("uploads.storage: must name a storage backend, e.g. local")
    storage_path = _path(get("storage_path", "var/uploads"), here, "storage_path")
    temp_path = _path(get("temp_path", "var/tmp"), here, "temp_path")
    _check(rules.distinct_paths, "temp_path", temp_path, storage_path, "uploads.storage_path")
    max_size = size_setting(get("max_size", "4GB"), "max_size")
    chunk_size = size_setting(get("chunk_size", "64KB"), "chunk_size")
    _check(rules.chunk_size_within, "chunk_size", chunk_size, max_size, "uploads.max_size")
    return UploadSettings(
        storage=storage,
        storage_path=storage_path,
        temp_path=temp_path,
        max_size=max_size,
        chunk_size=chunk_size,
        max_files=_positive_int(get("max_files", str(DEFAULT_MAX_FILES)), "max_files"),
        allowed_extensions=_extensions(get("allowed_extensions", "")),
        allowed_types=_types(get("allowed_types", "")),
        fsync=bool_setting(get("fsync", "true"), "fsync"),
        file_mode=_mode(get("file_mode", "0o640"), "file_mode"),
        dir_mode=_mode(get("dir_mode", "0o750"), "dir_mode"),
        clean_after=duration_setting(get("clean_after", DEFAULT_CLEAN_AFTER), "clean_after"),
        public_url=_public_url(get("public_url", "")),
        tus_max_chunk=size_setting(get("tus_max_chunk", DEFAULT_TUS_MAX_CHUNK), "tus_max_chunk"),
        tus_expire_after=duration_setting(get("tus_expire_after", DEFAULT_TUS_EXPIRE_AFTER), "tus_expire_after"),
        cors_origins=_origins(get("cors_origins", "")),
    )


def _check(rule, name: str, *args):
    """``rule(*args)``, its ``ValueError`` as a :class:`SettingsError` naming ``uploads.<name>``."""
    try:
        return rule(*args)
    except ValueError as error:
        raise SettingsError(f"uploads.{name}: {error}") from None


def _path(value: str, here: Path, name: str) -> Path:
    path = (here / Path(_check(rules.path, name, value)).expanduser()).resolve()
    if path.exists() and not path.is_dir():
        raise SettingsError(f"uploads.{name}: {str(path)!r} exists and is not a directory")
    return path


def size_setting(value: str, name: str) -> int:
    """The size in bytes the setting ``uploads.<name>`` gives (``512KB``, ``8MiB``, ``4GB``: powers of 1024).

    Raises :class:`SettingsError` naming the setting. Public, like
    :func:`bool_setting` and :func:`duration_setting`, for backends reading
    their own settings (``uploads.s3.part_size``: ``name`` is ``s3.part_size``).
    """
    return _check(rules.size, name, value)


def _positive_int(value: str, name: str) -> int:
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise SettingsError(f"uploads.{name}: {value!r} is not a whole number of at least 1")
    return int(value)


def _extensions(value: str) -> frozenset[str]:
    return _check(rules.extensions, "allowed_extensions", value)


def _types(value: str) -> tuple[str, ...]:
    types = tuple(word.lower() for word in value.replace(",", " ").split())
    for pattern in types:
        if not re.fullmatch(r"[a-z0-9.+-]+/(\*|[a-z0-9.+-]+)", pattern):
            raise SettingsError(f"uploads.allowed_types: {pattern!r} is not a media type (e.g. audio/* image/png)")
    return types


def bool_setting(value: str, name: str) -> bool:
    """``true``/``yes``/``on``/``1`` or ``false``/``no``/``off``/``0`` (any case) of ``uploads.<name>``.

    Raises :class:`SettingsError` naming the setting.
    """
    lowered = value.lower()
    if lowered in ("true", "yes", "on", "1"):
        return True
    if lowered in ("false", "no", "off", "0"):
        return False
    raise SettingsError(f"uploads.{name}: {value!r} is not true or false")


def _mode(value: str, name: str) -> int:
    try:
        mode = int(value, 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o777:
        raise SettingsError(f"uploads.{name}: {value!r} is not an octal permission such as 0o640")
    return mode


def duration_setting(value: str, name: str) -> float:
    """Seconds from ``uploads.<name>``: ``90s``, ``30m``, ``24h``, ``7d``, or a whole number of seconds.

    Raises :class:`SettingsError` naming the setting.
    """
    match = re.fullmatch(r"(\d+)\s*([smhd]?)", value.lower())
    if not match:
        raise SettingsError(f"uploads.{name}: {value!r} is not a duration such as 24h, 30m or 3600")
    return float(int(match.group(1)) * _DURATION_UNITS[match.group(2) or "s"])


def _origins(value: str) -> tuple[str, ...]:
    """Space- or comma-separated origins such as ``https://app.example.com``."""
    origins = tuple(value.replace(",", " ").split())
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
            raise SettingsError(f"uploads.cors_origins: {origin!r} is not an origin such as https://app.example.com")
    return origins


def _public_url(value: str) -> str:
    """``https://host[:port][/prefix]`` without a trailing slash, or "" for none."""
    if not value:
        return ""
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise SettingsError(f"uploads.public_url: {value!r} is not an http(s) URL such as https://files.example.com")
    return value.rstrip("/")
