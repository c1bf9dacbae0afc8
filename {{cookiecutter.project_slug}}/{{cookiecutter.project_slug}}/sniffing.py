"""What a file really is, from its first bytes, and what we may call it.

The client's ``Content-Type`` is a claim; the bytes are evidence. We sniff
with the ``filetype`` library (magic numbers of binary formats) and store
that, so ``uploads.allowed_types`` cannot be fooled by renaming
``payload.html`` to ``song.mp3``.
"""

from collections.abc import Iterable, Iterator
from fnmatch import fnmatchcase
from itertools import chain

import filetype

# filetype looks at no more than this many leading bytes.
SNIFF_BYTES = 8192
UNKNOWN = "application/octet-stream"

# Types a browser would render or execute in our origin if we served them
# under their own name: an uploaded page or SVG could run script as us.
_ACTIVE_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "application/xml",
        "text/xml",
        "text/javascript",
        "application/javascript",
        "application/ecmascript",
        "text/ecmascript",
        "application/wasm",
        "application/x-shockwave-flash",
    }
)


def peek(chunks: Iterable[bytes], size: int = SNIFF_BYTES) -> tuple[bytes, Iterator[bytes]]:
    """Return the first ``size`` bytes of ``chunks`` and an iterator over all of them.

    Only the head is copied; the chunks themselves are passed on untouched.
    """
    rest = iter(chunks)
    taken: list[bytes] = []
    seen = 0
    for chunk in rest:
        taken.append(chunk)
        seen += len(chunk)
        if seen >= size:
            break
    head = b"".join(chunk[:size] for chunk in taken)[:size]
    return head, chain(taken, rest)


def sniff_type(head: bytes) -> str:
    """The MIME type the leading bytes reveal, or ``application/octet-stream``."""
    kind = filetype.guess(head) if head else None
    return kind.mime if kind is not None else UNKNOWN


def type_allowed(content_type: str, patterns: Iterable[str]) -> bool:
    """Whether ``content_type`` matches one of ``patterns`` (``audio/*``, ``image/png``)."""
    return any(fnmatchcase(content_type, pattern) for pattern in patterns)


def served_type(content_type: str) -> str:
    """The ``Content-Type`` to serve a stored file with: never one that runs in a page."""
    lowered = content_type.lower()
    if lowered in _ACTIVE_TYPES or lowered.endswith(("+xml", "script")) or "html" in lowered:
        return UNKNOWN
    return content_type
