"""Conditional and range requests for a stored file: the rules of RFC 9110 sections 13 and 14.

Given the request's method and headers and the file's validators (a strong
ETag, Last-Modified, its length), :func:`evaluate` says what to answer: the
whole file (200), one byte range of it (206), 304, 412 or 416. It is pure, so
every rule is pinned by a table of cases in ``tests/test_conditional.py``.

WebOb's ``conditional_response`` does part of this and gets the rest wrong:
it ignores ``If-Match`` and ``If-Unmodified-Since``, answers 416 to a suffix
range longer than the file (``bytes=-5000`` of 1,000 bytes is the whole file),
matches weak tags in ``If-Range``, and applies ranges to ``HEAD``. So the
rules are here, in the order of section 13.2.2:

1. ``If-Match`` (strong comparison; ``*`` matches any file) false: 412.
   Without ``If-Match``, ``If-Unmodified-Since`` earlier than Last-Modified: 412.
2. ``If-None-Match`` (weak comparison; ``*``) true: 304 for GET and HEAD, 412
   otherwise. Without ``If-None-Match``, on GET or HEAD only,
   ``If-Modified-Since`` not earlier than Last-Modified: 304.
3. ``Range``, on GET only (section 14.2: the only method with range handling):
   ignored when ``If-Range`` does not match (strong ETag, or exactly
   Last-Modified), when it is not valid ``bytes`` syntax, and for an empty
   file (which has no byte to point at; the empty body is all there is).
   No satisfiable range: 416. Ranges that overlap or touch are merged;
   if one range is left, 206 with it, and if several are, the whole file with
   200 (section 14.2 lets a server ignore ``Range``: this project never sends
   ``multipart/byteranges``).

A date that is not a valid HTTP-date (or is two of them) is ignored, as
section 13.1.3 requires. Dates compare to the second, the precision of the
``Last-Modified`` header the client saw.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# The three HTTP-date forms recipients must accept (RFC 9110 section 5.6.7).
_HTTP_DATE = re.compile(
    r"[A-Za-z]{3}, [0-9]{2} [A-Za-z]{3} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT"  # IMF-fixdate
    r"|[A-Za-z]{6,9}, [0-9]{2}-[A-Za-z]{3}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT"  # obsolete RFC 850
    r"|[A-Za-z]{3} [A-Za-z]{3} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}"  # obsolete asctime
)
# An entity-tag (RFC 9110 section 8.8.3): optional W/, then a quoted opaque-tag.
_ENTITY_TAG = re.compile(r'\s*(W/)?"([^"]*)"\s*(?:,|$)')
# One element of a byte range-set (section 14.1.2): first-pos "-" [last-pos], or "-" suffix-length.
_RANGE_SPEC = re.compile(r"([0-9]*)-([0-9]*)")

GET_OR_HEAD = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Validators:
    """What the conditions are checked against: the current file's ETag, date and size."""

    etag: str  # the opaque-tag of a strong ETag, without its quotes
    last_modified: datetime  # timezone-aware
    length: int  # bytes


@dataclass(frozen=True)
class Answer:
    """What to send: ``status`` and, for 200 and 206, the bytes ``start`` to ``stop`` (exclusive)."""

    status: int
    start: int = 0
    stop: int = 0


def evaluate(method: str, headers: Mapping[str, str], current: Validators) -> Answer:
    """The answer to a GET or HEAD (or other ``method``) of the file ``current``; see the module docstring.

    ``headers`` maps field names as WSGI spells them in the environ
    (``HTTP_IF_MATCH``...), a repeated field already joined with commas.
    """
    whole = Answer(200, 0, current.length)
    last_modified = _seconds(current.last_modified)
    if_match = headers.get("HTTP_IF_MATCH")
    unmodified_since = _http_date(headers.get("HTTP_IF_UNMODIFIED_SINCE"))
    if if_match is not None:
        if not _tag_matches(if_match, current.etag, weak=False):
            return Answer(412)
    elif unmodified_since is not None and last_modified > unmodified_since:
        return Answer(412)

    if_none_match = headers.get("HTTP_IF_NONE_MATCH")
    modified_since = _http_date(headers.get("HTTP_IF_MODIFIED_SINCE"))
    if if_none_match is not None:
        if _tag_matches(if_none_match, current.etag, weak=True):
            return Answer(304) if method in GET_OR_HEAD else Answer(412)
    elif method in GET_OR_HEAD and modified_since is not None and last_modified <= modified_since:
        return Answer(304)

    range_value = headers.get("HTTP_RANGE")
    if method != "GET" or range_value is None or current.length == 0:
        return whole
    if_range = headers.get("HTTP_IF_RANGE")
    if if_range is not None and not _if_range_matches(if_range, current):
        return whole
    ranges = byte_ranges(range_value, current.length)
    if ranges is None:
        return whole
    if not ranges:
        return Answer(416)
    if len(ranges) > 1:
        return whole
    start, stop = ranges[0]
    return Answer(206, start, stop)


def byte_ranges(value: str, length: int) -> list[tuple[int, int]] | None:
    """The satisfiable ranges of a ``Range`` value, merged, as ``(start, stop)`` pairs.

    ``None`` when the value is not a valid ``bytes`` range-set (a server
    ignores it: RFC 9110 section 14.2); an empty list when it is valid but
    no range is satisfiable (416). A last-pos past the end is cut to the file;
    a suffix longer than the file is the whole file (section 14.1.2).
    """
    unit, equals, range_set = value.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None
    ranges: list[tuple[int, int]] = []
    for element in range_set.split(","):
        element = element.strip(" \t")
        if not element:
            continue  # empty list elements are allowed (RFC 9110 section 5.6.1)
        match = _RANGE_SPEC.fullmatch(element)
        if match is None:
            return None
        first, last = match.groups()
        if first:
            if last and int(last) < int(first):
                return None
            if int(first) < length:
                ranges.append((int(first), min(int(last) + 1, length) if last else length))
        elif last:
            if int(last) > 0:
                ranges.append((max(length - int(last), 0), length))
        else:
            return None  # a lone "-"
    if not ranges and not range_set.strip(" \t,"):
        return None  # "bytes=" with no range at all
    return _merged(ranges)


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``ranges`` sorted, with those that overlap or touch made one."""
    merged: list[tuple[int, int]] = []
    for start, stop in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


def _tag_matches(value: str, etag: str, *, weak: bool) -> bool:
    """Whether the ``If-Match``/``If-None-Match`` list ``value`` names ``etag`` (section 13.1.1).

    ``*`` matches any current file. The strong comparison (``weak=False``)
    never matches a ``W/`` tag; the weak one ignores the prefix.
    """
    if value.strip() == "*":
        return True
    return any(opaque == etag and (weak or not is_weak) for is_weak, opaque in _entity_tags(value))


def _entity_tags(value: str) -> list[tuple[bool, str]]:
    """The ``(weak, opaque-tag)`` pairs of a comma-separated list; parsing stops at anything else."""
    tags = []
    position = 0
    while position < len(value) and (match := _ENTITY_TAG.match(value, position)):
        tags.append((match.group(1) is not None, match.group(2)))
        position = match.end()
    return tags


def _if_range_matches(value: str, current: Validators) -> bool:
    """Section 13.1.5: a strong ETag that is the current one, or exactly the Last-Modified date."""
    value = value.strip()
    if value.startswith(('"', 'W/"')):
        return value == f'"{current.etag}"'
    date = _http_date(value)
    return date is not None and date == _seconds(current.last_modified)


def _http_date(value: str | None) -> datetime | None:
    """The timestamp of one valid HTTP-date, or ``None`` (section 13.1.3: then ignore the field)."""
    if value is None or not _HTTP_DATE.fullmatch(value.strip()):
        return None
    try:
        date = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError):
        return None  # the right shape, but no such day ("Feb 30")
    return date.replace(tzinfo=UTC) if date.tzinfo is None else date  # asctime dates are GMT too


def _seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)
