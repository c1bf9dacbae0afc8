"""What a file really is, from its first bytes, and what we may call it.

The client's ``Content-Type`` is a claim; the bytes are evidence. We sniff
with libmagic, the library behind ``file --mime-type`` (through
``python-magic``), and store that, so ``uploads.allowed_types`` cannot be
fooled by renaming ``payload.html`` to ``song.mp3``. libmagic knows binary
formats by their magic numbers and text by its content: plain text, HTML,
SVG, XML, JSON, CSV, scripts.

The rules, in order:

1. An empty file is ``application/octet-stream``: no byte says otherwise.
2. What libmagic names is that type. Text types carry the charset libmagic
   found: ``us-ascii`` is given as ``utf-8`` (only the first 8 KiB were
   read, and ASCII is UTF-8's first 128 characters), and ``binary`` or
   ``unknown-8bit`` give no charset.
3. What libmagic cannot name (``application/octet-stream``) but is UTF-8
   without control characters, such as a one-letter file, is
   ``text/plain; charset=utf-8``.
4. Anything else is ``application/octet-stream``.

Serving is a separate decision (:func:`served_type`): HTML, SVG, XML and
script types are recorded as what they are but served as
``application/octet-stream``.
"""

import codecs
import functools
from collections.abc import Iterable, Iterator
from fnmatch import fnmatchcase
from itertools import chain

import magic

# The leading bytes we read and hand to libmagic.
SNIFF_BYTES = 8192
UNKNOWN = "application/octet-stream"
TEXT = "text/plain; charset=utf-8"

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
# libmagic's answers that say "no idea" and its encodings that are no charset.
_UNNAMED = frozenset({UNKNOWN, "application/x-empty", "inode/x-empty"})
_NO_CHARSET = frozenset({"binary", "unknown-8bit", ""})
# Whitespace that plain text contains; any other control character means binary.
_TEXT_CONTROLS = frozenset("\t\n\r\f")

# One libmagic handle for the process, not one per thread: libmagic maps its
# compiled database (magic.mgc, 8 MiB) into every handle and reads most of it
# to sniff a binary file, so a handle per thread added about 6 MiB of RSS per
# server thread (23 MiB with waitress's 4; /proc/self/smaps, an S3 upload
# benchmark). python-magic serialises calls on a handle with a lock; sniffing
# 8 KiB takes 0.1 ms (a PDF) to 9 ms (plain text), so a thread waits little.


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
    """The media type the leading bytes ``head`` reveal, by the rules of the module docstring.

    A text type comes with its charset (``text/plain; charset=utf-8``).
    """
    if not head:
        return UNKNOWN
    head = _whole_characters(head)
    media_type, _, parameters = _handle().from_buffer(head).partition(";")
    media_type = media_type.strip().lower()
    charset = parameters.partition("charset=")[2].strip().lower()
    if media_type in _UNNAMED:
        return TEXT if _is_text(head) else UNKNOWN
    if not media_type.startswith("text/") or charset in _NO_CHARSET or not _known_charset(charset):
        return media_type
    return f"{media_type}; charset={'utf-8' if charset == 'us-ascii' else charset}"


def media_type_of(content_type: str) -> str:
    """``content_type`` without its parameters, lower-cased: ``text/plain; charset=utf-8`` is ``text/plain``."""
    return content_type.partition(";")[0].strip().lower()


def type_allowed(content_type: str, patterns: Iterable[str]) -> bool:
    """Whether the media type of ``content_type`` matches one of ``patterns`` (``audio/*``, ``text/plain``)."""
    media_type = media_type_of(content_type)
    return any(fnmatchcase(media_type, pattern.lower()) for pattern in patterns)


def served_type(content_type: str) -> str:
    """The ``Content-Type`` to serve a stored file with: never one that runs in a page."""
    media_type = media_type_of(content_type)
    if media_type in _ACTIVE_TYPES or media_type.endswith(("+xml", "script")) or "html" in media_type:
        return UNKNOWN
    return content_type


@functools.cache
def _handle() -> magic.Magic:
    """The process's libmagic handle, asking for the media type and the charset."""
    return magic.Magic(mime=True, mime_encoding=True)


def _whole_characters(head: bytes) -> bytes:
    """``head`` less a UTF-8 character that the 8 KiB cut split at its end.

    libmagic calls a UTF-8 text whose last character is cut short
    ``unknown-8bit``.
    """
    if len(head) < SNIFF_BYTES:
        return head
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.reason == "unexpected end of data" and error.start >= len(head) - 3:
            return head[: error.start]
    return head


def _is_text(head: bytes) -> bool:
    """Whether ``head`` is UTF-8 text: it decodes, and has no control character but whitespace."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(char.isprintable() or char in _TEXT_CONTROLS for char in text)


def _known_charset(charset: str) -> bool:
    """Whether Python, and so most clients, knows ``charset`` (libmagic may say ``ebcdic``)."""
    try:
        codecs.lookup(charset)
    except LookupError:
        return False
    return True
