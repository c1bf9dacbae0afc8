"""Conditional and range requests (RFC 9110 sections 13-14): every rule in a table, every status over HTTP.

The table drives ``conditional.evaluate`` directly; the HTTP tests download
from real waitress, with raw sockets where the exact bytes of the answer
matter (a 304 carries no body and no body headers).
"""

import io
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import requests
from pyramid.request import Request
from waitress.buffers import ReadOnlyFileBasedBuffer

from {{ cookiecutter.project_slug }}.conditional import Answer, Validators, byte_ranges, evaluate
from {{ cookiecutter.project_slug }}.models import StoredFile
from {{ cookiecutter.project_slug }}.serving import FileIter, file_response

from .bodies import body, content_type, file_part, raw_request
from .helpers import BOTH_BACKENDS, LiveServer

ETAG = "abc"
CURRENT = Validators(ETAG, datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC), 1000)
CREATED = "2026-01-02T03:04:05.678000+00:00"  # CURRENT's date as storage records it
LAST_MODIFIED = "Fri, 02 Jan 2026 03:04:05 GMT"  # what the Last-Modified header said
EARLIER = "Fri, 02 Jan 2026 03:04:04 GMT"
LATER = "Fri, 02 Jan 2026 03:04:06 GMT"
WHOLE = Answer(200, 0, 1000)


def case(method: str, expected: Answer, **headers: str) -> tuple[str, dict[str, str], Answer]:
    """A row of the table: ``if_match="..."`` becomes the environ key ``HTTP_IF_MATCH``."""
    return method, {f"HTTP_{name.upper()}": value for name, value in headers.items()}, expected


RULES = {
    # If-Match: strong comparison, "*" is any current file (13.1.1)
    "if-match-current": case("GET", WHOLE, if_match=f'"{ETAG}"'),
    "if-match-in-a-list": case("GET", WHOLE, if_match=f'"x", "{ETAG}"'),
    "if-match-star": case("GET", WHOLE, if_match="*"),
    "if-match-other": case("GET", Answer(412), if_match='"x"'),
    "if-match-weak-never-matches": case("GET", Answer(412), if_match=f'W/"{ETAG}"'),
    "if-match-malformed": case("GET", Answer(412), if_match="abc"),
    "if-match-on-head": case("HEAD", Answer(412), if_match='"x"'),
    # If-Unmodified-Since (13.1.4), ignored under If-Match (13.2.2)
    "if-unmodified-since-same-second": case("GET", WHOLE, if_unmodified_since=LAST_MODIFIED),
    "if-unmodified-since-later": case("GET", WHOLE, if_unmodified_since=LATER),
    "if-unmodified-since-earlier": case("GET", Answer(412), if_unmodified_since=EARLIER),
    "if-unmodified-since-invalid": case("GET", WHOLE, if_unmodified_since="yesterday"),
    "if-unmodified-since-two-dates": case("GET", WHOLE, if_unmodified_since=f"{EARLIER}, {EARLIER}"),
    "if-unmodified-since-under-if-match": case("GET", WHOLE, if_match=f'"{ETAG}"', if_unmodified_since=EARLIER),
    # If-None-Match: weak comparison (13.1.2)
    "if-none-match-current": case("GET", Answer(304), if_none_match=f'"{ETAG}"'),
    "if-none-match-weak-matches": case("GET", Answer(304), if_none_match=f'W/"{ETAG}"'),
    "if-none-match-in-a-list": case("GET", Answer(304), if_none_match=f'"x", W/"{ETAG}"'),
    "if-none-match-star": case("GET", Answer(304), if_none_match="*"),
    "if-none-match-on-head": case("HEAD", Answer(304), if_none_match=f'"{ETAG}"'),
    "if-none-match-other": case("GET", WHOLE, if_none_match='"x"'),
    "if-none-match-on-delete": case("DELETE", Answer(412), if_none_match="*"),
    "if-match-fails-before-if-none-match": case("GET", Answer(412), if_match='"x"', if_none_match=f'"{ETAG}"'),
    # If-Modified-Since (13.1.3): GET and HEAD only, ignored under If-None-Match
    "if-modified-since-same-second": case("GET", Answer(304), if_modified_since=LAST_MODIFIED),
    "if-modified-since-later": case("GET", Answer(304), if_modified_since=LATER),
    "if-modified-since-earlier": case("GET", WHOLE, if_modified_since=EARLIER),
    "if-modified-since-rfc850": case("GET", Answer(304), if_modified_since="Friday, 02-Jan-26 03:04:05 GMT"),
    "if-modified-since-asctime": case("GET", Answer(304), if_modified_since="Fri Jan  2 03:04:05 2026"),
    "if-modified-since-not-gmt": case("GET", WHOLE, if_modified_since="Fri, 02 Jan 2026 03:04:05 +0000"),
    "if-modified-since-invalid": case("GET", WHOLE, if_modified_since="Fri, 31 Feb 2026 03:04:05 GMT"),
    "if-modified-since-on-delete": case("DELETE", WHOLE, if_modified_since=LATER),
    "if-modified-since-under-if-none-match": case("GET", WHOLE, if_none_match='"x"', if_modified_since=LATER),
    # Range (14.1-14.2): GET only
    "range": case("GET", Answer(206, 10, 20), range="bytes=10-19"),
    "range-unit-any-case": case("GET", Answer(206, 10, 20), range="Bytes=10-19"),
    "range-open-ended": case("GET", Answer(206, 990, 1000), range="bytes=990-"),
    "range-last-byte": case("GET", Answer(206, 999, 1000), range="bytes=999-999"),
    "range-last-pos-past-the-end": case("GET", Answer(206, 995, 1000), range="bytes=995-5000"),
    "range-suffix": case("GET", Answer(206, 900, 1000), range="bytes=-100"),
    "range-suffix-longer-than-the-file": case("GET", Answer(206, 0, 1000), range="bytes=-5000"),
    "range-first-pos-at-the-end": case("GET", Answer(416), range="bytes=1000-"),
    "range-first-pos-past-the-end": case("GET", Answer(416), range="bytes=5000-6000"),
    "range-suffix-zero": case("GET", Answer(416), range="bytes=-0"),
    "range-several-unsatisfiable": case("GET", Answer(416), range="bytes=1000-,2000-2001"),
    "range-one-of-several-satisfiable": case("GET", Answer(206, 5, 6), range="bytes=5000-,5-5"),
    "range-overlapping-merged": case("GET", Answer(206, 0, 21), range="bytes=0-10,5-20"),
    "range-touching-merged": case("GET", Answer(206, 0, 21), range="bytes=11-20, 0-10"),
    "range-disjoint-is-whole": case("GET", WHOLE, range="bytes=0-0,5-6"),
    "range-empty-elements": case("GET", Answer(206, 1, 3), range="bytes=,1-2,"),
    "range-last-before-first": case("GET", WHOLE, range="bytes=5-2"),
    "range-other-unit": case("GET", WHOLE, range="items=0-1"),
    "range-garbage": case("GET", WHOLE, range="bytes=abc"),
    "range-double-minus": case("GET", WHOLE, range="bytes=--1"),
    "range-lone-minus": case("GET", WHOLE, range="bytes=-"),
    "range-no-set": case("GET", WHOLE, range="bytes="),
    "range-spaces-inside": case("GET", WHOLE, range="bytes=1 - 2"),
    "range-on-head-ignored": case("HEAD", WHOLE, range="bytes=10-19"),
    "range-after-if-none-match": case("GET", Answer(304), if_none_match=f'"{ETAG}"', range="bytes=10-19"),
    "range-after-if-match-fails": case("GET", Answer(412), if_match='"x"', range="bytes=5000-"),
    # If-Range (13.1.5): a strong ETag, or exactly the Last-Modified date
    "if-range-etag": case("GET", Answer(206, 0, 1), if_range=f'"{ETAG}"', range="bytes=0-0"),
    "if-range-other-etag": case("GET", WHOLE, if_range='"x"', range="bytes=0-0"),
    "if-range-weak-etag": case("GET", WHOLE, if_range=f'W/"{ETAG}"', range="bytes=0-0"),
    "if-range-date": case("GET", Answer(206, 0, 1), if_range=LAST_MODIFIED, range="bytes=0-0"),
    "if-range-later-date": case("GET", WHOLE, if_range=LATER, range="bytes=0-0"),
    "if-range-invalid": case("GET", WHOLE, if_range="soon", range="bytes=0-0"),
    "if-range-unmatched-skips-416": case("GET", WHOLE, if_range='"x"', range="bytes=5000-"),
    "if-range-without-range": case("GET", WHOLE, if_range='"x"'),
}


@pytest.mark.parametrize(("method", "headers", "expected"), RULES.values(), ids=RULES.keys())
def test_rule(method: str, headers: dict[str, str], expected: Answer) -> None:
    assert evaluate(method, headers, CURRENT) == expected


@pytest.mark.parametrize("value", ["bytes=-5", "bytes=0-", "bytes=0-0", "bytes=5-"])
def test_any_range_of_an_empty_file_is_ignored(value: str) -> None:
    empty = Validators(ETAG, CURRENT.last_modified, 0)
    assert evaluate("GET", {"HTTP_RANGE": value}, empty) == Answer(200, 0, 0)


def test_huge_positions_are_cut_to_the_file() -> None:
    assert byte_ranges("bytes=0-99999999999999999999999", 1000) == [(0, 1000)]
    assert byte_ranges("bytes=-99999999999999999999999", 1000) == [(0, 1000)]


# -- how the bytes go out -------------------------------------------------------------------


def stored_file(data: bytes) -> StoredFile:
    return StoredFile(
        id="0" * 32,
        storage_key="0" * 32,
        filename="a.bin",
        original_filename="a.bin",
        size=len(data),
        sha256=ETAG,
        content_type="application/octet-stream",
        created=datetime.fromisoformat(CREATED),
    )


def opener(file: io.BytesIO) -> Callable[[int, int], io.BytesIO]:
    """``open_range`` for a file in memory, positioned as a backend's ``open`` leaves it."""

    def open_range(start: int, stop: int) -> io.BytesIO:
        file.seek(start)
        return file

    return open_range


def test_a_range_under_waitress_goes_out_through_its_file_wrapper_from_the_start() -> None:
    """Waitress sends Content-Length bytes from the file's position, without our thread (``serving.py``)."""
    file = io.BytesIO(bytes(1000))
    request = Request.blank(
        "/", headers={"Range": "bytes=10-19"}, environ={"wsgi.file_wrapper": ReadOnlyFileBasedBuffer}
    )
    response = file_response(request, stored_file(file.getvalue()), opener(file))
    assert isinstance(response.app_iter, ReadOnlyFileBasedBuffer)
    assert (response.status_code, response.content_length, file.tell()) == (206, 10, 10)


def test_a_range_under_another_server_is_read_from_the_start_without_the_rest() -> None:
    file = io.BytesIO(bytes(range(250)) * 4)
    request = Request.blank("/", headers={"Range": "bytes=10-19"})
    response = file_response(request, stored_file(file.getvalue()), opener(file))
    assert isinstance(response.app_iter, FileIter)
    assert b"".join(response.app_iter) == bytes(range(10, 20))


# -- over HTTP, one test per status ----------------------------------------------------------

CONTENT = bytes(range(250)) * 4  # 1,000 bytes


@pytest.fixture(params=BOTH_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every test here that starts a server runs on local disk and on S3 (conftest's ``backend``)."""
    return request.param


@pytest.fixture
def server(make_live_server: Callable[..., LiveServer]) -> LiveServer:
    """Accepting the test's files whatever the project's answers."""
    return make_live_server(allowed_extensions="", allowed_types="", max_size="1MB")


def upload(server: LiveServer, data: bytes) -> dict:
    response = server.client().post(
        server.url + "/files",
        data=body(file_part(data, "data.bin")),
        headers={"Accept": "application/json", "Content-Type": content_type()},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()["files"][0]


@pytest.fixture
def stored(server: LiveServer) -> dict:
    return upload(server, CONTENT)


def get(server: LiveServer, file_id: str, **headers: str) -> requests.Response:
    return requests.get(f"{server.url}/files/{file_id}", headers=headers, timeout=30)


def raw(server: LiveServer, method: str, file_id: str, *headers: str) -> tuple[int, dict[str, str], bytes]:
    """The status, headers (lower-cased names) and exact body bytes of one request on its own connection."""
    lines = [f"{method} /files/{file_id} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", *headers]
    response = raw_request(server.url, ("\r\n".join(lines) + "\r\n\r\n").encode(), shutdown=False)
    fields = dict(line.split(": ", 1) for line in response.headers.split("\r\n")[1:])
    return response.status, {name.lower(): value for name, value in fields.items()}, response.body


@pytest.mark.server
def test_suffix_range_longer_than_the_file_is_206_with_every_byte(server: LiveServer, stored: dict) -> None:
    response = get(server, stored["id"], Range="bytes=-5000")
    assert response.status_code == 206
    assert response.headers["Content-Range"] == "bytes 0-999/1000"
    assert response.content == CONTENT


@pytest.mark.server
def test_range_is_206_with_exactly_those_bytes(server: LiveServer, stored: dict) -> None:
    status, headers, data = raw(server, "GET", stored["id"], "Range: bytes=10-19")
    assert (status, headers["content-range"], headers["content-length"]) == (206, "bytes 10-19/1000", "10")
    assert data == CONTENT[10:20]


@pytest.mark.server
def test_suffix_range_of_an_empty_file_is_200_with_the_empty_body(server: LiveServer) -> None:
    info = upload(server, b"")
    status, headers, data = raw(server, "GET", info["id"], "Range: bytes=-5")
    assert (status, headers["content-length"], data) == (200, "0", b"")
    assert "content-range" not in headers


@pytest.mark.server
def test_range_starting_past_the_end_is_416_with_the_length(server: LiveServer, stored: dict) -> None:
    response = get(server, stored["id"], Range="bytes=1000-", Accept="application/json")
    assert response.status_code == 416
    assert response.headers["Content-Range"] == "bytes */1000"
    assert "1000 bytes" in response.json()["error"]


@pytest.mark.server
def test_unsatisfiable_range_from_a_browser_gets_the_error_page_with_the_length(
    server: LiveServer, stored: dict
) -> None:
    response = get(server, stored["id"], Range="bytes=1000-", Accept="text/html")
    assert response.status_code == 416
    assert response.headers["Content-Range"] == "bytes */1000"
    assert response.headers["Content-Type"].startswith("text/html")


@pytest.mark.server
def test_invalid_range_is_ignored_with_200_and_the_whole_file(server: LiveServer, stored: dict) -> None:
    response = get(server, stored["id"], Range="bytes=5-2")
    assert response.status_code == 200
    assert response.content == CONTENT


@pytest.mark.server
def test_several_disjoint_ranges_get_the_whole_file(server: LiveServer, stored: dict) -> None:
    response = get(server, stored["id"], Range="bytes=0-0,5-6")
    assert response.status_code == 200
    assert response.content == CONTENT


@pytest.mark.server
def test_head_with_range_is_200_with_the_whole_length_and_no_body(server: LiveServer, stored: dict) -> None:
    status, headers, data = raw(server, "HEAD", stored["id"], "Range: bytes=10-19")
    assert (status, headers["content-length"], data) == (200, "1000", b"")
    assert headers["accept-ranges"] == "bytes"


@pytest.mark.server
def test_not_modified_is_304_with_validators_and_policy_but_no_body(server: LiveServer, stored: dict) -> None:
    status, headers, data = raw(server, "GET", stored["id"], f'If-None-Match: W/"{stored["sha256"]}"')
    assert (status, data) == (304, b"")
    assert headers["etag"] == f'"{stored["sha256"]}"'
    assert headers["cache-control"] == "private, no-cache"
    assert headers["content-security-policy"] == "default-src 'none'; sandbox"  # what a cache keeps
    assert headers["x-content-type-options"] == "nosniff"
    assert "content-type" not in headers and "content-disposition" not in headers


@pytest.mark.server
def test_if_modified_since_the_last_modified_date_is_304(server: LiveServer, stored: dict) -> None:
    last_modified = get(server, stored["id"]).headers["Last-Modified"]
    assert get(server, stored["id"], **{"If-Modified-Since": last_modified}).status_code == 304


@pytest.mark.server
def test_if_match_with_another_etag_is_412(server: LiveServer, stored: dict) -> None:
    response = get(server, stored["id"], **{"If-Match": '"other"', "Accept": "application/json"})
    assert response.status_code == 412
    assert "If-Match" in response.json()["error"]


@pytest.mark.server
def test_if_match_with_the_etag_gets_the_file(server: LiveServer, stored: dict) -> None:
    response = get(server, stored["id"], **{"If-Match": f'"{stored["sha256"]}"'})
    assert response.status_code == 200
    assert response.content == CONTENT


@pytest.mark.server
def test_if_range_with_the_etag_gets_the_range(server: LiveServer, stored: dict) -> None:
    response = get(server, stored["id"], Range="bytes=0-9", **{"If-Range": f'"{stored["sha256"]}"'})
    assert response.status_code == 206
    assert response.content == CONTENT[:10]


@pytest.mark.server
def test_if_range_with_another_etag_gets_the_whole_file(server: LiveServer, stored: dict) -> None:
    response = get(server, stored["id"], Range="bytes=0-9", **{"If-Range": '"other"'})
    assert response.status_code == 200
    assert response.content == CONTENT


@pytest.mark.server
def test_server_keeps_serving_after_every_kind_of_answer(server: LiveServer, stored: dict) -> None:
    with requests.Session() as session:  # one keep-alive connection through 206, 304, 412, 416 and 200
        url = f"{server.url}/files/{stored['id']}"
        statuses = [
            session.get(url, headers=headers, timeout=30).status_code
            for headers in (
                {"Range": "bytes=0-0"},
                {"If-None-Match": "*"},
                {"If-Match": '"x"'},
                {"Range": "bytes=5000-"},
                {},
            )
        ]
        assert statuses == [206, 304, 412, 416, 200]
        assert session.get(url, timeout=30).content == CONTENT
