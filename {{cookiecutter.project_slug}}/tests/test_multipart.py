"""The streaming multipart parser on its own: what it takes from a part, and what it refuses.

These drive ``iter_parts`` and ``boundary_of`` directly with hand-built
bytes, so each rule is checked without a server in the way; the same rules
through real HTTP are in ``test_hostile_requests.py``.
"""

from collections.abc import Iterable
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from {{ cookiecutter.project_slug }}.errors import BadRequest, TooLarge, UnsupportedType
from {{ cookiecutter.project_slug }}.multipart import (
    MAX_BOUNDARY_LENGTH,
    MAX_HEADER_LINE_BYTES,
    MAX_HEADER_LINES,
    Part,
    boundary_of,
    iter_parts,
)

from .bodies import BOUNDARY, body, field_part, file_part, part

KEY = BOUNDARY.encode()


def parse(data: bytes, chunk_size: int = 65536, boundary: bytes = KEY) -> list[tuple[Part, bytes]]:
    """Every part of ``data`` fed in ``chunk_size`` pieces, with its whole body."""
    chunks = (data[i : i + chunk_size] for i in range(0, len(data), chunk_size))
    return [(each, b"".join(each.body)) for each in iter_parts(chunks, boundary)]


def only_filename(disposition: str) -> str | None:
    [(parsed, _)] = parse(body(part(disposition, b"x")))
    return parsed.filename


# -- which filename counts -------------------------------------------------------


def test_plain_filename_is_used_and_filename_star_is_ignored() -> None:
    disposition = 'form-data; name="file"; filename*=UTF-8\'\'evil.exe; filename="song.mp3"'
    assert only_filename(disposition) == "song.mp3"


def test_filename_star_after_plain_filename_is_ignored_too() -> None:
    disposition = 'form-data; name="file"; filename="song.mp3"; filename*=UTF-8\'\'evil.exe'
    assert only_filename(disposition) == "song.mp3"


def test_filename_star_alone_is_no_filename() -> None:
    assert only_filename("form-data; name=\"file\"; filename*=UTF-8''evil.exe") is None


@pytest.mark.parametrize(
    ("sent", "decoded"),
    [
        ("a%22b.txt", 'a"b.txt'),
        ("line%0D%0Abreak.txt", "line\r\nbreak.txt"),
        ("line%0d%0abreak.txt", "line\r\nbreak.txt"),
        ("%22%22.txt", '"".txt'),
    ],
)
def test_browser_percent_escapes_of_quote_cr_lf_are_decoded(sent: str, decoded: str) -> None:
    assert only_filename(f'form-data; name="file"; filename="{sent}"') == decoded


def test_other_percent_sequences_are_left_as_sent() -> None:
    assert only_filename('form-data; name="file"; filename="100%25 %41.txt"') == "100%25 %41.txt"


def test_utf8_filename_is_decoded() -> None:
    assert only_filename('form-data; name="file"; filename="音乐.mp3"') == "音乐.mp3"


def test_empty_filename_is_an_empty_string_meaning_no_file_chosen() -> None:
    assert only_filename('form-data; name="file"; filename=""') == ""


def test_part_without_filename_is_a_form_field() -> None:
    assert only_filename('form-data; name="comment"') is None


@pytest.mark.parametrize(
    ("disposition", "name", "filename"),
    [
        ('form-data; NAME="file"; FileName="a.txt"', "file", "a.txt"),  # parameter names: any case
        ("Form-Data; name=file; filename=a.txt", "file", "a.txt"),  # tokens, unquoted
        ('form-data;name="file";filename="a.txt"', "file", "a.txt"),
        ('form-data; name = "file" ; filename = "a.txt" ', "file", "a.txt"),
        ('form-data; name="file"; filename="a;b=c.txt"', "file", "a;b=c.txt"),  # ; and = inside quotes
        (r'form-data; name="file"; filename="\\\"', "file", "\\\\"),  # three backslashes: one escaped pair, one alone
        ('form-data; name="file"; filename="C:\\dir\\"; x="1"', "file", "C:\\dir\\"),
        ('form-data; name="file"; filename="a\\"b.txt"', "file", 'a"b.txt'),  # an escaped quote
        ('form-data; name="file"; filename="=?UTF-8?Q?caf=C3=A9.txt?="', "file", "=?UTF-8?Q?caf=C3=A9.txt?="),
        ('form-data; name="fi\\"le"; filename="a.txt"', 'fi"le', "a.txt"),
    ],
    ids=[
        "case-insensitive",
        "tokens",
        "no-spaces",
        "spaces-around-equals",
        "separators-quoted",
        "only-backslashes",
        "trailing-backslash",
        "escaped-quote",
        "encoded-word-kept-as-sent",
        "escaped-quote-in-name",
    ],
)
def test_disposition_parameter_shapes(disposition: str, name: str, filename: str) -> None:
    [(parsed, _)] = parse(body(part(disposition, b"x")))
    assert (parsed.name, parsed.filename) == (name, filename)


@pytest.mark.parametrize(
    "disposition",
    [
        'form-data; name="file"; filename="a.txt"; filename="b.exe"',
        'form-data; name="file"; name="other"; filename="a.txt"',
        'form-data; name="file"; filename="a.txt"; FILENAME="b.exe"',
    ],
    ids=["filename-twice", "name-twice", "filename-twice-in-other-case"],
)
def test_parameter_given_twice_is_400(disposition: str) -> None:
    with pytest.raises(BadRequest, match="twice"):
        parse(body(part(disposition, b"x")))


@pytest.mark.parametrize("encoding", ["quoted-printable", "base64", "x-gzip"])
def test_part_with_a_content_transfer_encoding_is_400(encoding: str) -> None:
    with pytest.raises(BadRequest, match=encoding):
        parse(body(file_part(b"caf=C3=A9", headers=[f"Content-Transfer-Encoding: {encoding}"])))


@pytest.mark.parametrize("encoding", ["binary", "8bit", "7BIT"])
def test_part_with_an_identity_transfer_encoding_is_read_as_sent(encoding: str) -> None:
    [(_, data)] = parse(body(file_part(b"caf=C3=A9", headers=[f"Content-Transfer-Encoding: {encoding}"])))
    assert data == b"caf=C3=A9"


# -- malformed bodies: 400 -----------------------------------------------------------


def test_part_without_a_name_is_400() -> None:
    with pytest.raises(BadRequest, match="no name"):
        parse(body(part('form-data; filename="a.txt"', b"x")))


def test_part_with_an_empty_name_is_400() -> None:
    with pytest.raises(BadRequest, match="no name"):
        parse(body(part('form-data; name=""; filename="a.txt"', b"x")))


def test_part_without_content_disposition_is_400() -> None:
    data = b"--" + KEY + b"\r\nContent-Type: text/plain\r\n\r\nx\r\n--" + KEY + b"--\r\n"
    with pytest.raises(BadRequest, match="Content-Disposition"):
        parse(data)


def test_part_that_is_not_form_data_is_400() -> None:
    with pytest.raises(BadRequest, match="form-data"):
        parse(body(part('attachment; name="file"; filename="a.txt"', b"x")))


def test_body_without_closing_delimiter_is_400() -> None:
    with pytest.raises(BadRequest, match="closing boundary"):
        parse(body(file_part(b"x" * 1000), close=False))


def test_body_cut_in_the_middle_of_a_file_is_400() -> None:
    with pytest.raises(BadRequest, match="closing boundary"):
        parse(body(file_part(b"x" * 1000))[:500])


def test_body_cut_inside_the_closing_delimiter_is_400() -> None:
    with pytest.raises(BadRequest):
        parse(body(file_part(b"x" * 1000))[:-5])


def test_empty_body_is_400() -> None:
    with pytest.raises(BadRequest):
        parse(b"")


def test_garbage_body_is_400() -> None:
    with pytest.raises(BadRequest):
        parse(b"GIF89a this is not multipart at all \x00\xff" * 100)


def test_body_with_another_boundary_is_400() -> None:
    with pytest.raises(BadRequest):
        parse(body(file_part(b"x"), boundary="some-other-boundary"))


def test_header_line_without_colon_is_400() -> None:
    data = b"--" + KEY + b'\r\nContent-Disposition form-data; name="file"\r\n\r\nx\r\n--' + KEY + b"--\r\n"
    with pytest.raises(BadRequest):
        parse(data)


def test_header_name_with_forbidden_bytes_is_400() -> None:
    with pytest.raises(BadRequest):
        parse(body(file_part(b"x", headers=["X-Evil\x00: 1"])))


# -- header limits: 413 naming the limit --------------------------------------------


def test_part_with_the_maximum_number_of_header_lines_is_accepted() -> None:
    extra = [f"X-Extra-{n}: {n}" for n in range(MAX_HEADER_LINES - 2)]  # + Content-Disposition, Content-Type
    [(parsed, data)] = parse(body(file_part(b"kept", headers=extra)))
    assert (parsed.filename, data) == ("a.bin", b"kept")


def test_part_with_one_header_line_too_many_is_413() -> None:
    extra = [f"X-Extra-{n}: {n}" for n in range(MAX_HEADER_LINES - 1)]
    with pytest.raises(TooLarge, match=f"{MAX_HEADER_LINES} lines of {MAX_HEADER_LINE_BYTES} bytes"):
        parse(body(file_part(b"x", headers=extra)))


def test_header_line_of_the_maximum_length_is_accepted() -> None:
    line = "X-Pad: " + "p" * (MAX_HEADER_LINE_BYTES - len("X-Pad: "))
    [(_, data)] = parse(body(file_part(b"kept", headers=[line])))
    assert data == b"kept"


def test_header_line_one_byte_too_long_is_413() -> None:
    line = "X-Pad: " + "p" * (MAX_HEADER_LINE_BYTES - len("X-Pad: ") + 1)
    with pytest.raises(TooLarge, match="Part headers are limited"):
        parse(body(file_part(b"x", headers=[line])))


def test_header_line_too_long_split_across_many_chunks_is_413() -> None:
    line = "X-Pad: " + "p" * (4 * MAX_HEADER_LINE_BYTES)
    with pytest.raises(TooLarge):
        parse(body(file_part(b"x", headers=[line])), chunk_size=100)


# -- boundaries ----------------------------------------------------------------------


@pytest.mark.parametrize("boundary", ["b", "x" * MAX_BOUNDARY_LENGTH, "'()+_,-./:=? 1aZ"])
def test_boundary_of_1_to_70_characters_is_accepted(boundary: str) -> None:
    assert boundary_of(f'multipart/form-data; boundary="{boundary}"') == boundary.encode()


def test_unquoted_boundary_is_accepted() -> None:
    assert boundary_of("multipart/form-data; boundary=abc123") == b"abc123"


def test_media_type_and_parameter_names_are_case_insensitive() -> None:
    assert boundary_of("Multipart/Form-Data; BOUNDARY=abc") == b"abc"


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",
        "multipart/form-data; boundary=",
        'multipart/form-data; boundary=""',
        "multipart/form-data; boundary=" + "x" * (MAX_BOUNDARY_LENGTH + 1),
        "multipart/form-data; boundary=" + "x" * 10_000,
        "multipart/form-data; charset=utf-8",
    ],
)
def test_missing_empty_or_overlong_boundary_is_400(content_type: str) -> None:
    with pytest.raises(BadRequest, match="1 to 70 characters"):
        boundary_of(content_type)


@pytest.mark.parametrize(
    "content_type",
    ["", "text/plain", "application/x-www-form-urlencoded", "multipart/mixed; boundary=abc", "multipart/form-datax"],
)
def test_anything_but_multipart_form_data_is_415(content_type: str) -> None:
    with pytest.raises(UnsupportedType):
        boundary_of(content_type)


# -- fields ---------------------------------------------------------------------------


def test_field_value_at_its_limit_is_read() -> None:
    assert next(iter_parts([body(field_part("note", "n" * 100))], KEY)).read(100) == b"n" * 100


def test_field_value_over_its_limit_is_413_naming_the_field_and_limit() -> None:
    parts = iter_parts([body(field_part("note", "n" * 101))], KEY)
    with pytest.raises(TooLarge, match=r"'note' is larger than 100 bytes"):
        next(parts).read(100)


def test_unread_part_bodies_are_skipped_to_reach_the_next_part() -> None:
    names = [each.name for each in iter_parts([body(file_part(b"a" * 10_000), field_part("after", "x"))], KEY)]
    assert names == ["file", "after"]


# -- bytes are never changed, however the body is cut into chunks --------------------

# Bytes that look like the start of a delimiter, so the parser has to hold
# them back across chunks and give them back when they turn out to be data.
# (A client picks a boundary that is not in its data, so the whole one never is.)
TRICKY = (
    st.lists(
        st.sampled_from([b"\r", b"\n", b"\r\n", b"-", b"--", b"\r\n--", b"\r\n--" + KEY[:-1], b"x", b"\x00"]),
        max_size=60,
    )
    .map(b"".join)
    .filter(lambda data: KEY not in data)
)


def chunked(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    points = sorted({0, len(data), *(cut % (len(data) + 1) for cut in cuts)})
    return [data[a:b] for a, b in pairwise(points)]


@settings(max_examples=300, deadline=None)
@given(
    first=TRICKY,
    second=st.binary(max_size=300).filter(lambda data: KEY not in data) | TRICKY,
    cuts=st.lists(st.integers(min_value=0), max_size=12),
)
def test_file_bytes_are_exactly_what_was_sent_however_the_body_is_chunked(
    first: bytes, second: bytes, cuts: list[int]
) -> None:
    data = body(field_part("note", b"n"), file_part(first, "one.bin"), file_part(second, "two.bin"))
    received = [(each.name, b"".join(each.body)) for each in iter_parts(chunked(data, cuts), KEY)]
    assert received == [("note", b"n"), ("file", first), ("file", second)]


# -- hostile shapes are parsed, not choked on (status and nothing kept: see HTTP tests) --

EIGHT_MB = 8 * 1024 * 1024


@pytest.mark.parametrize(
    "filler",
    [b"\r\n", b"\n", b"\r", b"-", b"\r\n--" + KEY[:20], b"\r\n--" + KEY[:-1]],
    ids=["crlf", "lf", "cr", "dashes", "short-partial-delimiter", "almost-delimiter"],
)
def test_eight_megabytes_of_delimiter_lookalikes_inside_a_file_come_out_unchanged(filler: bytes) -> None:
    content = filler * (EIGHT_MB // len(filler))
    [(_, data)] = parse(body(file_part(content)))
    assert data == content


@pytest.mark.parametrize("filler", [b"\r\n", b"\n", b"\r\n--" + KEY[:20]], ids=["crlf", "lf", "partial-delimiter"])
def test_eight_megabytes_of_delimiter_lookalikes_without_structure_are_400(filler: bytes) -> None:
    with pytest.raises(BadRequest):
        parse(filler * (EIGHT_MB // len(filler)))
