"""The wire-level rules of ``server.py``, through real waitress, mostly over raw sockets.

Each test writes the request byte for byte, records what the client sent
before the answer, and reads until the server closes the connection (a
server that kept it open would fail the read's timeout, not pass by luck).
"""

import json
from collections.abc import Iterator

import pytest
import webtest

from {{ cookiecutter.project_slug }} import main
from {{ cookiecutter.project_slug }}.settings import SettingsError

from .bodies import body, content_type, everything_under, file_part, raw_request
from .helpers import PROJECT, TESTING_INI, LiveServer, start_waitress
from .wire import head, served

pytestmark = pytest.mark.server

LIMIT = 256 * 1024
JSON = "Accept: application/json"
HTML = "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def server(app_settings: dict[str, str]) -> Iterator[LiveServer]:
    """The app under server.py, with uploads.max_size and waitress's limit both 256 KiB."""
    with served(app_settings, max_size=LIMIT) as live:
        yield live


def upload_head(*fields: str, length: int) -> bytes:
    return head(
        "POST /files HTTP/1.1",
        "Host: 127.0.0.1",
        f"Content-Type: {content_type()}",
        *fields,
        f"Content-Length: {length}",
    )


def error_of(payload: bytes) -> str:
    return json.loads(payload)["error"]


# -- a declared length over the limit: 413 at once, never "100 Continue" --------------------


def test_expect_continue_over_the_limit_is_answered_413_at_once_with_json(server: LiveServer) -> None:
    sent = upload_head(JSON, "Expect: 100-continue", length=LIMIT + 1)  # the head, not one byte of body
    response = raw_request(server.url, sent, shutdown=False, timeout=30)
    assert sent.endswith(b"\r\n\r\n")
    assert response.status == 413
    assert b"100 Continue" not in response.body
    assert "Connection: close" in response.headers
    assert "application/json" in response.headers
    assert "256 KiB" in error_of(response.body)
    assert "uploads.max_size" in error_of(response.body)
    assert everything_under(server.storage_path, server.temp_path) == []


def test_expect_continue_over_the_limit_gives_a_browser_the_page_with_the_message(server: LiveServer) -> None:
    sent = upload_head(HTML, "Expect: 100-continue", length=LIMIT + 1)
    response = raw_request(server.url, sent, shutdown=False, timeout=30)
    assert response.status == 413
    assert "text/html" in response.headers
    page = response.body.decode("utf-8")
    assert "larger than the limit of 256 KiB" in page
    assert 'href="/"' in page  # a way back to the page without JavaScript
    assert 'action="/files"' in page  # and the form, to try again


def test_declared_length_over_the_limit_is_answered_while_the_client_still_sends(server: LiveServer) -> None:
    """A client that sends its body without waiting still reads the 413 (the server lingers, then closes)."""
    data = body(file_part(b"x" * (LIMIT + 1)))
    response = raw_request(server.url, upload_head(JSON, length=len(data)) + data, timeout=30)
    assert response.status == 413
    assert "uploads.max_size" in error_of(response.body)
    assert everything_under(server.storage_path, server.temp_path) == []


# -- a counted body over the limit: the project's 413, not waitress's text ------------------


def test_chunked_body_over_the_limit_is_the_projects_413(server: LiveServer) -> None:
    session = server.client()
    data = body(file_part(b"c" * (LIMIT + 1024)))
    chunks = iter([data[i : i + 10_000] for i in range(0, len(data), 10_000)])
    headers = {"Accept": "application/json", "Content-Type": content_type()}
    response = session.post(server.url + "/files", data=chunks, headers=headers, timeout=30)
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert response.status_code == 413
    assert response.headers["Content-Type"].startswith("application/json")
    assert "uploads.max_size" in response.json()["error"]
    assert everything_under(server.storage_path, server.temp_path) == []


def test_body_of_exactly_the_limit_is_stored(server: LiveServer) -> None:
    session = server.client()
    overhead = len(body(file_part(b"")))
    data = body(file_part(b"e" * (LIMIT - overhead)))
    assert len(data) == LIMIT
    headers = {"Accept": "application/json", "Content-Type": content_type()}
    response = session.post(server.url + "/files", data=data, headers=headers, timeout=30)
    assert response.status_code == 201


# -- the Host header (RFC 9112 section 3.2) -------------------------------------------


def test_http_1_1_request_without_host_is_400(server: LiveServer) -> None:
    response = raw_request(server.url, head("GET / HTTP/1.1", JSON), timeout=30)
    assert response.status == 400
    assert "Host" in error_of(response.body)


def test_http_1_0_request_without_host_is_served(server: LiveServer) -> None:
    response = raw_request(server.url, head("GET / HTTP/1.0"), timeout=30)
    assert response.status == 200


def test_two_host_headers_are_400(server: LiveServer) -> None:
    sent = head("GET / HTTP/1.1", "Host: 127.0.0.1", "Host: other.example", JSON)
    response = raw_request(server.url, sent, timeout=30)
    assert response.status == 400
    assert "one Host" in error_of(response.body)


@pytest.mark.parametrize(
    "host", ["bad host/x", "127.0.0.1:6611, other.example", "a@b", "[::1", "[zz::1]", "x:y", "é.example"]
)
def test_invalid_host_is_400(server: LiveServer, host: str) -> None:
    response = raw_request(server.url, head("GET / HTTP/1.1", f"Host: {host}", JSON), timeout=30)
    assert response.status == 400
    assert "Host" in error_of(response.body)


@pytest.mark.parametrize("host", ["example.com", "127.0.0.1:8080", "[::1]:80", "[v1.fe]", "xn--bcher-kva.example", ""])
def test_valid_host_is_served(server: LiveServer, host: str) -> None:
    response = raw_request(server.url, head("GET / HTTP/1.1", f"Host: {host}"), timeout=30)
    assert response.status == 200


def test_upload_with_an_invalid_host_is_refused_before_its_body(server: LiveServer) -> None:
    sent = head("POST /files HTTP/1.1", "Host: bad host/x", JSON, "Expect: 100-continue", "Content-Length: 1000")
    response = raw_request(server.url, sent, shutdown=False, timeout=30)
    assert response.status == 400
    assert b"100 Continue" not in response.body
    assert "bad host" not in response.headers


def test_stored_file_url_and_location_use_the_checked_host(server: LiveServer) -> None:
    session = server.client()
    headers = {"Accept": "application/json", "Content-Type": content_type(), "Host": "files.example:8080"}
    # requests matches cookies against the Host header once it is set: send the CSRF cookie by hand.
    headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in session.cookies.items())
    response = session.post(server.url + "/files", data=body(file_part(b"hello")), headers=headers, timeout=30)
    assert response.status_code == 201
    [stored] = response.json()["files"]
    assert stored["url"] == f"http://files.example:8080/files/{stored['id']}"
    assert response.headers["Location"] == stored["url"]


def test_public_url_setting_is_the_base_of_url_and_location(app_settings: dict[str, str]) -> None:
    with served(app_settings, max_size=LIMIT, public_url="https://files.example.com/uploads/") as server:
        session = server.client()
        headers = {"Accept": "application/json", "Content-Type": content_type()}
        response = session.post(server.url + "/files", data=body(file_part(b"hello")), headers=headers, timeout=30)
    assert response.status_code == 201
    [stored] = response.json()["files"]
    assert stored["url"] == f"https://files.example.com/uploads/files/{stored['id']}"
    assert response.headers["Location"] == stored["url"]


@pytest.mark.parametrize("value", ["files.example.com", "ftp://files.example.com", "https://", "https://x/?q=1"])
def test_public_url_that_is_not_an_http_url_stops_the_app_naming_the_setting(
    app_settings: dict[str, str], value: str
) -> None:
    with pytest.raises(SettingsError, match=r"^uploads\.public_url: "):
        main({"here": str(PROJECT), "__file__": str(TESTING_INI)}, **{**app_settings, "uploads.public_url": value})


def test_app_under_another_server_refuses_an_invalid_host(app: object) -> None:
    """WebTest stands in for a server without ``server.py``'s check: the app checks the syntax itself."""
    response = webtest.TestApp(app).get("/", headers={"Host": "bad host/x", "Accept": "application/json"}, status=400)
    assert "Host" in response.json["error"]


# -- framing (RFC 9112 section 6.1) ------------------------------------------------


def test_transfer_encoding_with_content_length_is_400_and_the_connection_closes(server: LiveServer) -> None:
    """The pipelined request after it is never read: one answer, then the end of the connection."""
    smuggled = head("POST /files HTTP/1.1", "Host: 127.0.0.1", JSON, "Transfer-Encoding: chunked", "Content-Length: 5")
    pipelined = head("GET / HTTP/1.1", "Host: 127.0.0.1")
    response = raw_request(server.url, smuggled + b"0\r\n\r\n" + pipelined, timeout=30)
    assert response.status == 400
    assert "Connection: close" in response.headers
    assert "Transfer-Encoding and Content-Length" in error_of(response.body)
    assert b"HTTP/1.1" not in response.body  # no second answer


def test_http_1_0_request_with_transfer_encoding_is_400(server: LiveServer) -> None:
    sent = head("POST /files HTTP/1.0", JSON, "Transfer-Encoding: chunked", "Content-Length: 5")
    response = raw_request(server.url, sent + b"0\r\n\r\n", timeout=30)
    assert response.status == 400
    assert "HTTP/1.0" in error_of(response.body)


def test_pipelined_requests_are_answered_in_order_when_the_framing_is_clear(server: LiveServer) -> None:
    response = raw_request(
        server.url, head("GET / HTTP/1.1", "Host: a") + head("GET / HTTP/1.1", "Host: b", "Connection: close")
    )
    assert response.status == 200
    assert response.body.count(b"HTTP/1.1 200 OK") == 1  # the second answer follows the first


# -- waitress's own answers, in the project's form (server.py rule 7) ------------------------

HEAD_LIMIT = 256 * 1024  # waitress's default max_request_header_size, which testing.ini keeps


def test_unparsable_head_is_400_with_json_for_a_json_client(server: LiveServer) -> None:
    response = raw_request(server.url, head("GET / HTTP/1.1", "Host: 127.0.0.1", JSON, "No colon here"), timeout=30)
    assert response.status == 400
    assert "Content-Type: application/json" in response.headers
    assert "Connection: close" in response.headers
    assert "Invalid header" in error_of(response.body)


def test_unparsable_head_gives_a_browser_a_page_with_the_message_escaped(server: LiveServer) -> None:
    sent = head("GET / HTTP/1.1", "Host: 127.0.0.1", HTML, "X-Note: a\n<script>alert(1)</script>")  # a bare LF
    response = raw_request(server.url, sent, timeout=30)
    assert response.status == 400
    assert "Content-Type: text/html; charset=utf-8" in response.headers
    assert "Content-Security-Policy: default-src 'none'" in response.headers
    page = response.body.decode("utf-8")
    assert "Bare CR or LF" in page
    assert "&lt;script&gt;" in page
    assert "<script>" not in page
    assert 'href="/"' in page  # a way back to the uploads


def test_accept_after_the_line_that_stopped_the_parser_still_chooses_json(server: LiveServer) -> None:
    response = raw_request(server.url, head("GET / HTTP/1.1", "Host: 127.0.0.1", "No colon here", JSON), timeout=30)
    assert response.status == 400
    assert "Content-Type: application/json" in response.headers


def test_unparsable_head_without_accept_gets_the_page_as_any_other_error_does(server: LiveServer) -> None:
    response = raw_request(server.url, head("GET / HTTP/1.1", "Host: 127.0.0.1", "No colon here"), timeout=30)
    assert response.status == 400
    assert "Content-Type: text/html; charset=utf-8" in response.headers


def test_header_fields_over_the_limit_are_431_with_json_naming_the_limit(server: LiveServer) -> None:
    sent = head("GET / HTTP/1.1", "Host: 127.0.0.1", JSON, "X-Padding: " + "p" * HEAD_LIMIT)
    response = raw_request(server.url, sent, timeout=30)
    assert response.status == 431
    assert "Content-Type: application/json" in response.headers
    assert "256 KiB" in error_of(response.body)


def test_header_fields_over_the_limit_give_a_browser_the_page(server: LiveServer) -> None:
    sent = head("GET / HTTP/1.1", "Host: 127.0.0.1", HTML, "Cookie: " + "c" * HEAD_LIMIT)
    response = raw_request(server.url, sent, timeout=30)
    assert response.status == 431
    assert "Content-Type: text/html; charset=utf-8" in response.headers
    assert "larger than the limit of 256 KiB" in response.body.decode("utf-8")


def test_transfer_coding_other_than_chunked_is_501_with_json(server: LiveServer) -> None:
    sent = head("POST /files HTTP/1.1", "Host: 127.0.0.1", JSON, "Transfer-Encoding: gzip")
    response = raw_request(server.url, sent, timeout=30)
    assert response.status == 501
    assert "Content-Type: application/json" in response.headers
    assert "Transfer-Encoding" in error_of(response.body)


def test_malformed_chunked_body_is_400_with_json_and_keeps_nothing(server: LiveServer) -> None:
    data = body(file_part(b"x" * 1000))
    sent = upload_head(JSON, length=0).replace(b"Content-Length: 0", b"Transfer-Encoding: chunked")
    chunk = b"%x\r\n%s\r\n" % (len(data) // 2, data[: len(data) // 2])
    response = raw_request(server.url, sent + chunk + b"not-a-size\r\n", timeout=30)
    assert response.status == 400
    assert "Invalid chunk size" in error_of(response.body)
    assert everything_under(server.storage_path, server.temp_path) == []


def test_server_answers_the_next_request_after_its_own_error_answer(server: LiveServer) -> None:
    raw_request(server.url, head("GET / HTTP/1.1", "Host: 127.0.0.1", "No colon here"), timeout=30)
    assert server.client().get(server.url + "/files", headers={"Accept": "application/json"}, timeout=30).ok


def test_application_failing_before_it_answers_is_500_with_json_for_a_json_client() -> None:
    """Waitress's own 500, for a WSGI application that raises instead of answering (not this project's app)."""

    def failing(environ: dict, start_response: object) -> list[bytes]:
        raise RuntimeError("the application failed")

    waitress = start_waitress(failing)
    try:
        response = raw_request(waitress.url, head("GET / HTTP/1.1", "Host: 127.0.0.1", JSON), timeout=30)
    finally:
        waitress.stop()
    assert response.status == 500
    assert "Content-Type: application/json" in response.headers
    assert "failed" in error_of(response.body)
