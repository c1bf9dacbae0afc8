"""Hostile upload requests through real waitress: each is refused cleanly and keeps nothing.

Every test here sends real HTTP to the app under waitress on a loopback port
(``requests`` for bodies it can express, a raw socket for those it refuses to
send), then checks the status, the message, and that neither
``storage_path`` nor ``temp_path`` holds a single byte afterwards. The last
test throws randomly damaged bodies at the app and requires that none of
them is ever answered with a 500.
"""

import hashlib
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
import webob
import webtest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from {{ cookiecutter.project_slug }}.multipart import MAX_HEADER_LINE_BYTES, MAX_HEADER_LINES
from {{ cookiecutter.project_slug }}.receiving import MAX_FIELD_BYTES, MAX_FIELDS

from .bodies import BOUNDARY, body, content_type, everything_under, field_part, file_part, part, raw_request
from .helpers import CSRF_INPUT, LiveServer, built_app, on_both_backends, server_options, serving

pytestmark = pytest.mark.server

EIGHT_MB = 8 * 1024 * 1024
JSON = {"Accept": "application/json"}

Post = Callable[..., requests.Response]


@pytest.fixture
def server(make_live_server: Callable[..., LiveServer]) -> LiveServer:
    """The app under waitress with the settings of testing.ini."""
    return make_live_server()


def poster(server: LiveServer) -> Post:
    """POST raw multipart bytes (or an iterator of them, sent chunked) with the CSRF header."""
    session = server.client()

    def post(data: bytes | Iterator[bytes], *, media_type: str | None = None) -> requests.Response:
        headers = {**JSON, "Content-Type": media_type or content_type()}
        return session.post(server.url + "/files", data=data, headers=headers, timeout=60)

    return post


def nothing_kept(server: LiveServer) -> bool:
    return everything_under(server.storage_path, server.temp_path) == []


def raw_post(headers: str, payload: bytes = b"") -> bytes:
    """An upload request written by hand: ``headers`` are extra header lines."""
    head = f"POST /files HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n{headers}\r\n"
    return head.encode("latin-1") + payload


# -- size limits -------------------------------------------------------------------------


@on_both_backends
def test_body_over_max_size_is_413_naming_the_setting_and_keeps_nothing(
    make_live_server: Callable[..., LiveServer],
) -> None:
    server = make_live_server(max_size="256KB", chunk_size="16KB")
    response = poster(server)(body(file_part(b"o" * 300 * 1024)))
    assert response.status_code == 413
    assert "uploads.max_size" in response.json()["error"]
    assert "256 KiB" in response.json()["error"]
    assert nothing_kept(server)


def test_declared_length_over_the_limit_is_refused_by_waitress_before_the_body_is_sent(
    app_settings: dict[str, str], storage_path: Path, temp_path: Path
) -> None:
    """With ``max_request_body_size`` equal to ``uploads.max_size`` (as the ini files keep them),
    a too-large upload is answered from its headers alone: the client never has to send it."""
    limited = {**app_settings, "uploads.max_size": "256KB"}
    with serving(limited, {**server_options(), "max_request_body_size": str(256 * 1024)}) as server:
        headers = f"Content-Type: {content_type()}\r\nContent-Length: {256 * 1024 + 1}\r\n"
        request = raw_post(headers)  # the headers, and not one byte of the body
        response = raw_request(server.url, request, shutdown=False, timeout=60)
    assert response.status == 413
    assert everything_under(storage_path, temp_path) == []


@pytest.mark.parametrize("length", ["-1", "abc", "\uff11\uff12", "\u00b2", "1_000", " 12"])
def test_invalid_content_length_reaching_the_app_is_400_and_keeps_nothing(
    app: object, storage_path: Path, temp_path: Path, length: str
) -> None:
    """Servers other than waitress might pass these on: the app refuses them itself."""
    headers = {**JSON, "Content-Type": content_type()}
    request = webob.Request.blank("/files", method="POST", body=body(file_part(b"x")), headers=headers)
    request.environ["CONTENT_LENGTH"] = length
    response = request.get_response(app)
    assert response.status_int == 400
    assert "Content-Length" in response.json["error"]
    assert everything_under(storage_path, temp_path) == []


@on_both_backends
def test_chunked_body_over_max_size_is_413_and_keeps_nothing(make_live_server: Callable[..., LiveServer]) -> None:
    server = make_live_server(max_size="256KB", chunk_size="16KB")
    data = body(file_part(b"c" * 300 * 1024))
    response = poster(server)(iter([data[i : i + 10_000] for i in range(0, len(data), 10_000)]))
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert response.status_code == 413
    assert "uploads.max_size" in response.json()["error"]
    assert nothing_kept(server)


@on_both_backends
def test_chunked_body_within_max_size_is_stored_byte_for_byte(make_live_server: Callable[..., LiveServer]) -> None:
    server = make_live_server(max_size="256KB", chunk_size="16KB")
    content = bytes(range(256)) * 800
    data = body(file_part(content, "chunked.bin"))
    response = poster(server)(iter([data[i : i + 7_000] for i in range(0, len(data), 7_000)]))
    assert response.status_code == 201
    [stored] = response.json()["files"]
    assert stored["sha256"] == hashlib.sha256(content).hexdigest()
    assert requests.get(f"{server.url}/files/{stored['id']}", timeout=30).content == content


@on_both_backends
def test_more_files_than_max_files_is_413_naming_the_setting_and_keeps_none(
    make_live_server: Callable[..., LiveServer],
) -> None:
    server = make_live_server(max_files="3")
    response = poster(server)(body(*(file_part(b"f" * 1000, f"{n}.bin") for n in range(4))))
    assert response.status_code == 413
    assert "uploads.max_files" in response.json()["error"]
    assert nothing_kept(server)


def test_default_max_files_is_20(server: LiveServer) -> None:
    post = poster(server)
    assert post(body(*(file_part(b"f", f"{n}.bin") for n in range(21)))).status_code == 413
    assert nothing_kept(server)
    assert len(post(body(*(file_part(b"f", f"{n}.bin") for n in range(20)))).json()["files"]) == 20


def test_more_than_the_maximum_form_fields_is_413_and_keeps_nothing(server: LiveServer) -> None:
    fields = [field_part(f"f{n}", "v") for n in range(MAX_FIELDS + 1)]
    response = poster(server)(body(file_part(b"kept?"), *fields))
    assert response.status_code == 413
    assert f"at most {MAX_FIELDS} form fields" in response.json()["error"]
    assert nothing_kept(server)


def test_the_maximum_number_of_form_fields_is_accepted(server: LiveServer) -> None:
    fields = [field_part(f"f{n}", "v") for n in range(MAX_FIELDS)]
    assert poster(server)(body(*fields, file_part(b"kept"))).status_code == 201


@on_both_backends
def test_form_field_over_64_kib_is_413_naming_the_limit_and_keeps_nothing(server: LiveServer) -> None:
    response = poster(server)(body(file_part(b"kept?"), field_part("comment", "c" * (MAX_FIELD_BYTES + 1))))
    assert response.status_code == 413
    assert f"larger than {MAX_FIELD_BYTES} bytes" in response.json()["error"]
    assert nothing_kept(server)


def test_form_field_of_exactly_64_kib_is_accepted(server: LiveServer) -> None:
    response = poster(server)(body(field_part("comment", "c" * MAX_FIELD_BYTES), file_part(b"kept")))
    assert response.status_code == 201


@on_both_backends
def test_part_with_too_many_header_lines_is_413_and_keeps_nothing(server: LiveServer) -> None:
    extra = [f"X-Extra-{n}: {n}" for n in range(MAX_HEADER_LINES)]
    response = poster(server)(body(file_part(b"first", "1.bin"), file_part(b"second", "2.bin", headers=extra)))
    assert response.status_code == 413
    assert f"{MAX_HEADER_LINES} lines" in response.json()["error"]
    assert nothing_kept(server)


def test_part_header_line_over_8_kib_is_413_and_keeps_nothing(server: LiveServer) -> None:
    long_name = "n" * MAX_HEADER_LINE_BYTES + ".bin"
    response = poster(server)(body(file_part(b"first", "1.bin"), file_part(b"second", long_name)))
    assert response.status_code == 413
    assert f"{MAX_HEADER_LINE_BYTES} bytes" in response.json()["error"]
    assert nothing_kept(server)


# -- malformed bodies and headers: 400, nothing kept --------------------------------------


@pytest.mark.parametrize(
    "media_type",
    [
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=" + "b" * 71,
    ],
    ids=["missing", "empty", "71-characters"],
)
def test_bad_boundary_is_400_naming_the_rule_and_keeps_nothing(server: LiveServer, media_type: str) -> None:
    response = poster(server)(body(file_part(b"x")), media_type=media_type)
    assert response.status_code == 400
    assert "1 to 70 characters" in response.json()["error"]
    assert nothing_kept(server)


def test_boundary_of_70_characters_is_accepted(server: LiveServer) -> None:
    boundary = "b" * 70
    response = poster(server)(body(file_part(b"x"), boundary=boundary), media_type=content_type(boundary))
    assert response.status_code == 201


@on_both_backends
def test_body_without_closing_delimiter_is_400_and_the_partial_file_is_not_kept(server: LiveServer) -> None:
    response = poster(server)(body(file_part(b"t" * 3 * 1024 * 1024), close=False))
    assert response.status_code == 400
    assert "closing boundary" in response.json()["error"]
    assert nothing_kept(server)


@on_both_backends
def test_body_cut_in_the_second_file_keeps_neither_file(server: LiveServer) -> None:
    data = body(file_part(b"1" * 200_000, "one.bin"), file_part(b"2" * 200_000, "two.bin"))
    response = poster(server)(data[: len(data) - 100_000])
    assert response.status_code == 400
    assert nothing_kept(server)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello world",
        b"\x00\xff" * 50_000,
        b"--" + BOUNDARY.encode() + b"\r\n\r\n\r\n",
        b"--" + BOUNDARY.encode() + b"\r\nContent-Disposition: form-data\r\n\r\nx\r\n--" + BOUNDARY.encode() + b"--",
    ],
    ids=["empty", "text", "binary", "part-without-headers", "part-without-name"],
)
def test_garbage_body_is_400_and_keeps_nothing(server: LiveServer, data: bytes) -> None:
    response = poster(server)(data)
    assert response.status_code == 400
    assert response.json()["error"]
    assert nothing_kept(server)


def test_part_without_a_name_is_400_naming_the_problem(server: LiveServer) -> None:
    response = poster(server)(body(part('form-data; filename="a.txt"', b"x")))
    assert response.status_code == 400
    assert "no name" in response.json()["error"]
    assert nothing_kept(server)


def test_only_an_empty_file_input_is_400_no_file(server: LiveServer) -> None:
    response = poster(server)(body(file_part(b"", filename="")))
    assert response.status_code == 400
    assert "no file" in response.json()["error"].lower()


def test_body_with_no_file_part_at_all_is_400_no_file(server: LiveServer) -> None:
    response = poster(server)(body(field_part("comment", "where is the file?")))
    assert response.status_code == 400
    assert "no file" in response.json()["error"].lower()


@pytest.mark.parametrize("length", ["-1", "abc", "1e3", "+5", "0x10"])
def test_invalid_content_length_is_400_and_keeps_nothing(server: LiveServer, length: str) -> None:
    payload = body(file_part(b"x"))
    request = raw_post(f"Content-Type: {content_type()}\r\nContent-Length: {length}\r\n", payload)
    response = raw_request(server.url, request)
    assert response.status == 400
    assert nothing_kept(server)


def test_conflicting_content_lengths_are_400_and_keep_nothing(server: LiveServer) -> None:
    payload = body(file_part(b"x"))
    lengths = f"Content-Length: {len(payload)}\r\nContent-Length: {len(payload) - 1}\r\n"
    response = raw_request(server.url, raw_post(f"Content-Type: {content_type()}\r\n{lengths}", payload))
    assert response.status == 400
    assert nothing_kept(server)


@on_both_backends
def test_client_that_stops_sending_mid_body_leaves_nothing_and_the_server_carries_on(server: LiveServer) -> None:
    payload = body(file_part(b"d" * 2_000_000))
    headers = f"Content-Type: {content_type()}\r\nContent-Length: {len(payload)}\r\n"
    response = raw_request(server.url, raw_post(headers, payload[: len(payload) // 2]))
    assert response.status == 0  # no answer to a request that never finished
    assert nothing_kept(server)
    assert poster(server)(body(file_part(b"next one"))).status_code == 201


# -- linear-time parsing: hostile shapes are answered, and correctly ----------------------

KEY = BOUNDARY.encode()
LOOKALIKES = {
    "crlf": b"\r\n",
    "lf": b"\n",
    "partial-delimiter": b"\r\n--" + KEY[:10],
    "almost-delimiter": b"\r\n--" + KEY[:-1],
}


@pytest.mark.parametrize("filler", LOOKALIKES.values(), ids=LOOKALIKES.keys())
def test_eight_megabyte_body_of_delimiter_lookalikes_is_400_and_keeps_nothing(
    server: LiveServer, filler: bytes
) -> None:
    response = poster(server)(filler * (EIGHT_MB // len(filler)))
    assert response.status_code == 400
    assert nothing_kept(server)


@pytest.mark.parametrize("filler", LOOKALIKES.values(), ids=LOOKALIKES.keys())
def test_eight_megabyte_file_of_delimiter_lookalikes_is_stored_unchanged(server: LiveServer, filler: bytes) -> None:
    content = filler * (EIGHT_MB // len(filler))
    response = poster(server)(body(file_part(content, "lookalikes.bin")))
    assert response.status_code == 201
    [stored] = response.json()["files"]
    assert stored["size"] == len(content)
    assert stored["sha256"] == hashlib.sha256(content).hexdigest()


# -- the filename a client sends ------------------------------------------------------------


def test_filename_star_is_ignored_end_to_end(server: LiveServer) -> None:
    disposition = 'form-data; name="file"; filename*=UTF-8\'\'evil.html; filename="song.mp3"'
    response = poster(server)(body(part(disposition, b"ID3")))
    assert response.json()["files"][0]["filename"] == "song.mp3"


def test_percent_escaped_quote_and_newline_are_decoded_then_sanitized(server: LiveServer) -> None:
    response = poster(server)(body(file_part(b"x", filename="a%22b%0D%0A.txt")))
    assert response.json()["files"][0]["filename"] == "a_b.txt"


def test_path_and_device_name_in_the_filename_are_neutralised(server: LiveServer) -> None:
    response = poster(server)(body(file_part(b"x", filename="..\\..\\CON.txt")))
    assert response.json()["files"][0]["filename"] == "_CON.txt"
    assert nothing_outside(server.storage_path.parent, {server.storage_path, server.temp_path})


def nothing_outside(root: Path, allowed: set[Path]) -> bool:
    """No upload wrote anywhere under ``root`` except in the ``allowed`` directories."""
    return all(any(path == a or a in path.parents for a in allowed) for path in root.rglob("*"))


# -- never a 500, whatever the damage -----------------------------------------------------


def damaged(original: bytes) -> st.SearchStrategy[bytes]:
    """``original`` with a few bytes deleted, replaced or inserted at random places."""
    edit = st.tuples(
        st.sampled_from(["delete", "replace", "insert"]),
        st.integers(min_value=0, max_value=len(original)),
        st.integers(min_value=1, max_value=40),
        st.sampled_from([b"\r\n", b"--", b'"', b";", b"\x00", b"\r\n--" + KEY, b"=", b"\xff", b"%0A", b":"]),
    )

    def apply(edits: list[tuple[str, int, int, bytes]]) -> bytes:
        data = bytearray(original)
        for kind, at, length, junk in edits:
            if kind == "delete":
                del data[at : at + length]
            elif kind == "replace":
                data[at : at + len(junk)] = junk
            else:
                data[at:at] = junk
        return bytes(data)

    return st.lists(edit, min_size=1, max_size=4).map(apply)


VALID_BODY = body(
    field_part("comment", "hello"),
    file_part(b"\x89PNG\r\n\x1a\n" + b"p" * 300, "pic.png"),
    part('form-data; name="file"; filename="b.txt"', b"second\r\nfile"),
)


@pytest.fixture
def unsynced_testapp(app_settings: dict[str, str]) -> Iterator[webtest.TestApp]:
    """The app without fsync: the fuzz below is about parsing, and syncing hundreds of files only slows it."""
    with built_app({**app_settings, "uploads.fsync": "false"}) as app:
        yield webtest.TestApp(app)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=damaged(VALID_BODY))
def test_damaged_body_is_never_a_500_and_a_refusal_keeps_nothing(
    unsynced_testapp: webtest.TestApp, storage_path: Path, temp_path: Path, data: bytes
) -> None:
    testapp = unsynced_testapp
    csrf_token = CSRF_INPUT.search(testapp.get("/").text).group(1)
    response = testapp.request(
        "/files",
        method="POST",
        body=data,
        content_type=content_type(),
        headers={**JSON, "X-CSRF-Token": csrf_token},
        expect_errors=True,
    )
    assert response.status_int in (201, 400, 413, 415), response.text
    if response.status_int != 201:
        assert set(response.json) == {"error"}
        assert everything_under(storage_path, temp_path) == []
    else:
        for stored in response.json["files"]:
            content = (storage_path / stored["id"]).read_bytes()
            assert hashlib.sha256(content).hexdigest() == stored["sha256"]
    # The same app serves every example: start each one from empty directories.
    for directory in (storage_path, temp_path):
        shutil.rmtree(directory)
        directory.mkdir()
