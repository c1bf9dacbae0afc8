"""The rules an upload setting must follow, written once.

Two places check them: the template's pre-generation hook, against the
answers given when the project is made, and :mod:`.settings`, against the
ini file when the server starts. Both run this module (the hook loads it
from the template tree), so an answer the hook accepts is a setting the
server accepts, with the same reason when it is not.

Each rule takes the raw text (or what an earlier rule returned), returns the
value it checked, and raises ``ValueError`` with a sentence that does not
name the setting: the caller knows which setting it checked and under what
name (``chunk_size`` to the hook, ``uploads.chunk_size`` in an ini file), and
puts that name first. This module holds no Jinja and imports nothing from
the package but :mod:`.sizes`, so it reads the same as template source and
rendered.
"""

import os
import re
from pathlib import Path

from .sizes import format_size, parse_size

__all__ = ["chunk_size_within", "distinct_paths", "extensions", "path", "size"]

# An extension is letters and digits in any script (``mp3``, ``flac``, ``ogg``):
# no dot inside, no underscore, no wildcard, no path separator.
_EXTENSION = re.compile(r"[^\W_]+")


def size(text: str) -> int:
    """``512KB``, ``1.5GiB`` or plain bytes, as a number of bytes (units are powers of 1024).

    Raises ``ValueError`` for anything else, zero included (see :func:`.sizes.parse_size`).
    """
    return parse_size(text)


def chunk_size_within(chunk_size: int, max_size: int, max_size_name: str) -> int:
    """``chunk_size`` (bytes), if it is at most ``max_size`` (bytes), the setting named ``max_size_name``.

    A chunk is read into memory whole; one larger than the largest upload
    could only be a mistake.
    """
    if chunk_size > max_size:
        raise ValueError(f"{format_size(chunk_size)} is larger than {max_size_name} ({format_size(max_size)})")
    return chunk_size


def path(text: str) -> str:
    """A directory as written: not empty, no control characters (U+0000-U+001F, U+007F).

    Returns ``text`` without surrounding spaces; a relative path stays
    relative (the caller knows what it is relative to).
    """
    stripped = text.strip()
    if not stripped or any(ord(char) < 0x20 or ord(char) == 0x7F for char in stripped):
        raise ValueError(f"{text!r} is not a usable path (empty, or holds control characters)")
    return stripped


def distinct_paths(temp_path: str | Path, storage_path: str | Path, storage_path_name: str) -> Path:
    """``temp_path``, if it is not the directory ``storage_path`` (the setting ``storage_path_name``).

    Relative paths are compared as written relative to the same directory
    (``var/up`` and ``./var/up/`` are the same); a caller that can resolve
    links resolves both first.
    """
    temp, storage = (Path(os.path.normpath(os.path.expanduser(each))) for each in (temp_path, storage_path))
    if temp == storage:
        raise ValueError(f"must differ from {storage_path_name}")
    return Path(temp_path)


def extensions(text: str) -> frozenset[str]:
    """``mp3 ogg flac`` (spaces or commas, a leading dot allowed) as ``{"mp3", "ogg", "flac"}``, lower-cased.

    An empty text is no restriction: the empty set.
    """
    found = set()
    for word in text.replace(",", " ").split():
        extension = word.removeprefix(".").lower()
        if not _EXTENSION.fullmatch(extension):
            raise ValueError(f"{word!r} is not an extension (write them like: mp3 ogg flac)")
        found.add(extension)
    return frozenset(found)
