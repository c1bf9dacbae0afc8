"""Parse a ``multipart/form-data`` body part by part, as its bytes arrive.

WebOb's ``request.POST`` reads the whole body into ``cgi.FieldStorage``
(another temp file, and seconds per megabyte on hostile bodies) before the
view sees a byte. Here the streaming parser from ``python-multipart`` is fed
one chunk at a time and we hand out each part's bytes as zero-copy
``memoryview`` slices of those chunks, so a file part can go straight to disk.

The parser is push-style (it calls us back); :func:`iter_parts` turns that
into a plain loop::

    for part in iter_parts(chunks, boundary):
        if part.filename is None:
            value = part.read(limit)          # a small form field
        else:
            for data in part.body:            # a file, chunk by chunk
                ...
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from .errors import BadRequest, TooLarge, UnsupportedType

# RFC 2046 section 5.1.1: a boundary is 1 to 70 characters.
MAX_BOUNDARY_LENGTH = 70
MAX_HEADER_LINES = 16
MAX_HEADER_LINE_BYTES = 8 * 1024

# Browsers percent-encode these three in filenames (WHATWG HTML, "multipart/
# form-data encoding algorithm"); every other byte is sent as UTF-8.
_FILENAME_ESCAPES = {"%22": '"', "%0D": "\r", "%0A": "\n"}

# The start of one "; name=value" of a header, and the end of a quoted value
# (see ``disposition_parameters``).
_PARAMETER_NAME = re.compile(r";[ \t]*([^;=\s]+)[ \t]*=[ \t]*")
_QUOTED_END = re.compile(r'"[ \t]*(?=;|$)')
# The Content-Transfer-Encoding values that leave a part's bytes as they are.
_IDENTITY_ENCODINGS = frozenset({"binary", "8bit", "7bit"})


@dataclass
class Part:
    """One part of the body: a form field (no ``filename`` parameter: ``None``) or a file.

    ``filename`` is the parameter as sent, percent-escapes of browsers
    decoded; ``""`` with no bytes is a file input with no file chosen.

    ``body`` yields the part's bytes and must be consumed before the next
    part is requested; :func:`iter_parts` drains whatever was left unread.
    """

    name: str
    filename: str | None
    body: Iterator[memoryview]

    def read(self, limit: int) -> bytes:
        """The whole value of a small field; :class:`TooLarge` past ``limit`` bytes."""
        value = bytearray()
        for data in self.body:
            value += data
            if len(value) > limit:
                raise TooLarge(f"Form field {self.name!r} is larger than {limit} bytes")
        return bytes(value)


def boundary_of(content_type: str) -> bytes:
    """The boundary of a ``multipart/form-data`` Content-Type header.

    Anything that is not ``multipart/form-data`` is :class:`UnsupportedType`
    (415); a missing or overlong boundary is :class:`BadRequest` (400).
    """
    media_type, options = parse_options_header(content_type)
    if media_type != b"multipart/form-data":
        raise UnsupportedType("The request body must be multipart/form-data")
    boundary = options.get(b"boundary", b"")
    if not 1 <= len(boundary) <= MAX_BOUNDARY_LENGTH:
        raise BadRequest(f"The multipart boundary must be 1 to {MAX_BOUNDARY_LENGTH} characters long")
    return boundary


def iter_parts(chunks: Iterable[bytes], boundary: bytes) -> Iterator[Part]:
    """Yield the parts of the multipart body that ``chunks`` make up.

    Raises :class:`BadRequest` for a malformed body, including one that ends
    before its closing boundary: a truncated upload is never a complete file.
    """
    events = _events(chunks, boundary)
    for _kind, headers in events:  # between parts, the next event is always "headers"
        part = _part(headers, _body(events))
        yield part
        for _ in part.body:
            pass


def _body(events: Iterator[tuple[str, object]]) -> Iterator[memoryview]:
    for kind, payload in events:
        if kind == "end":
            return
        yield payload


def _part(headers: dict[bytes, bytes], body: Iterator[memoryview]) -> Part:
    header = headers.get(b"content-disposition", b"").decode("utf-8", "replace")  # browsers send UTF-8
    disposition, parameters = disposition_parameters(header)
    if disposition != "form-data":
        raise BadRequest("Every part needs a 'Content-Disposition: form-data' header")
    if not parameters.get("name"):
        raise BadRequest("A part has no name")
    encoding = headers.get(b"content-transfer-encoding", b"binary").decode("latin-1").strip().lower()
    if encoding not in _IDENTITY_ENCODINGS:
        # RFC 7578 section 4.7: senders must not encode parts. Storing the
        # encoded text as the file would keep bytes the user never had.
        raise BadRequest(f"A part is sent with Content-Transfer-Encoding: {encoding}; send the bytes as they are")
    filename = parameters.get("filename")
    return Part(
        name=parameters["name"],
        filename=None if filename is None else _decode_filename(filename),
        body=body,
    )


def disposition_parameters(value: str) -> tuple[str, dict[str, str]]:
    r"""A part's ``Content-Disposition``: its lower-cased type and its parameters.

    Parameter names are case-insensitive, and a name given twice makes the
    header invalid (RFC 6266 section 4.1): parsers that keep the first and
    parsers that keep the last would see different files, so it is a
    :class:`BadRequest`. ``filename*`` and the other extended parameters are
    ignored, as RFC 7578 section 4.2 forbids them in ``multipart/form-data``.

    A quoted value ends at the first quote followed by ``;`` or the end of
    the header. Browsers send a quote inside a name as ``%22`` and a
    backslash as it is, so ``filename="a\"`` names ``a\``; elsewhere ``\"``
    and ``\\`` are read as an escaped quote and backslash (RFC 9110 section
    5.6.4), for clients that escape that way.
    """
    disposition, semicolon, rest = value.partition(";")
    rest = semicolon + rest
    parameters: dict[str, str] = {}
    position = 0
    # Once a search for a closing quote has failed, none lies further on:
    # not searching again keeps hostile headers to one pass, never quadratic.
    closing_quotes_left = True
    while (start := rest.find(";", position)) != -1:
        match = _PARAMETER_NAME.match(rest, start)
        if match is None:
            position = start + 1
            continue
        name, position = match.group(1).lower(), match.end()
        quoted = rest.startswith('"', position)
        end = _QUOTED_END.search(rest, position + 1) if quoted and closing_quotes_left else None
        if end is not None:
            text = re.sub(r'\\([\\"])', r"\1", rest[position + 1 : end.start()])
            position = end.end()
        else:  # a token, or a quote never closed: the value runs to the next ";"
            closing_quotes_left = closing_quotes_left and not quoted
            stop = rest.find(";", position)
            stop = len(rest) if stop == -1 else stop
            text, position = rest[position:stop].strip(" \t"), stop
        if "*" in name:
            continue
        if name in parameters:
            raise BadRequest(f"A part's Content-Disposition gives {name!r} twice")
        parameters[name] = text
    return disposition.strip(" \t").lower(), parameters


def _decode_filename(name: str) -> str:
    for escape, char in _FILENAME_ESCAPES.items():
        name = name.replace(escape, char).replace(escape.lower(), char)
    return name


def _events(chunks: Iterable[bytes], boundary: bytes) -> Iterator[tuple[str, object]]:
    """Feed ``chunks`` to the parser; yield ("headers", dict), ("data", view), ("end", None)."""
    events: list[tuple[str, object]] = []
    headers: dict[bytes, bytes] = {}
    field, value = bytearray(), bytearray()
    finished = False

    def on_header_end() -> None:
        headers[bytes(field).lower()] = bytes(value)
        field.clear()
        value.clear()

    def on_end() -> None:
        nonlocal finished
        finished = True

    parser = MultipartParser(
        boundary,
        callbacks={
            "on_part_begin": headers.clear,
            "on_header_field": lambda data, start, end: field.extend(data[start:end]),
            "on_header_value": lambda data, start, end: value.extend(data[start:end]),
            "on_header_end": on_header_end,
            "on_headers_finished": lambda: events.append(("headers", dict(headers))),
            "on_part_data": lambda data, start, end: events.append(("data", memoryview(data)[start:end])),
            "on_part_end": lambda: events.append(("end", None)),
            "on_end": on_end,
        },
        max_header_count=MAX_HEADER_LINES,
        max_header_size=MAX_HEADER_LINE_BYTES,
    )
    for chunk in chunks:
        try:
            parser.write(chunk)
        except MultipartParseError as error:
            if str(error).startswith("Maximum header"):
                raise TooLarge(
                    f"Part headers are limited to {MAX_HEADER_LINES} lines of {MAX_HEADER_LINE_BYTES} bytes"
                ) from None
            raise BadRequest(f"Malformed multipart body: {error}") from None
        yield from events
        events.clear()
    if not finished:
        raise BadRequest("The multipart body ended before its closing boundary (truncated upload?)")
