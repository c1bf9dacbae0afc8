"""Which parts are files, and the names they are stored under, through real waitress.

A part named ``file`` is a file whatever its parameters, at any size: with
no ``filename`` or one that sanitizes to nothing it is stored as
``upload``. Only an empty part with ``filename=""``, a file input with no
file chosen, is skipped. Each test's server accepts any extension, whatever the project's
answers, since ``upload`` has none.
"""

from collections.abc import Callable

import pytest
import requests

from .bodies import body, content_type, everything_under, file_part, part
from .helpers import LiveServer

pytestmark = pytest.mark.server

LARGE = bytes(range(256)) * 1024  # 256 KiB: past the 64 KiB limit of a form field


@pytest.fixture
def server(make_live_server: Callable[..., LiveServer]) -> LiveServer:
    return make_live_server(allowed_extensions="", allowed_types="", max_size="1MB")


def post(server: LiveServer, *parts: bytes) -> requests.Response:
    return server.client().post(
        server.url + "/files",
        data=body(*parts),
        headers={"Accept": "application/json", "Content-Type": content_type()},
        timeout=30,
    )


def stored_as(server: LiveServer, response: requests.Response, data: bytes) -> str:
    """The name the one stored file got, after checking it holds ``data``."""
    assert response.status_code == 201, response.text
    [info] = response.json()["files"]
    assert (server.storage_path / info["id"]).read_bytes() == data
    return info["filename"]


@pytest.mark.parametrize("data", [b"small", LARGE], ids=["small", "over-64-KiB"])
def test_file_part_without_filename_is_stored_as_upload(server: LiveServer, data: bytes) -> None:
    response = post(server, part('form-data; name="file"', data))
    assert stored_as(server, response, data) == "upload"


@pytest.mark.parametrize("data", [b"small", LARGE], ids=["small", "over-64-KiB"])
def test_file_part_with_only_filename_star_is_stored_as_upload(server: LiveServer, data: bytes) -> None:
    response = post(server, part("form-data; name=\"file\"; filename*=UTF-8''song.mp3", data))
    assert stored_as(server, response, data) == "upload"


@pytest.mark.parametrize(
    "filename",
    ["\\\\\\", "/", "C:\\dir\\", "...", "   ", "\u202e\u200b", ". .", "%0D%0A"],
    ids=["backslashes", "slash", "directory", "dots", "spaces", "invisible", "dot-space", "newline"],
)
def test_filename_that_sanitizes_to_nothing_is_stored_as_upload(server: LiveServer, filename: str) -> None:
    response = post(server, file_part(b"data", filename=filename))
    assert stored_as(server, response, b"data") == "upload"


def test_empty_filename_is_no_file_chosen_and_skipped(server: LiveServer) -> None:
    response = post(server, file_part(b"", filename=""), file_part(b"real", filename="real.txt"))
    assert stored_as(server, response, b"real") == "real.txt"


@pytest.mark.parametrize("data", [b"data", LARGE], ids=["small", "over-64-KiB"])
def test_empty_filename_with_bytes_is_stored_as_upload(server: LiveServer, data: bytes) -> None:
    response = post(server, file_part(data, filename=""))
    assert stored_as(server, response, data) == "upload"


def test_filename_parameter_name_in_capitals_is_still_the_filename(server: LiveServer) -> None:
    response = post(server, part('form-data; NAME="file"; FILENAME="notes.txt"', b"notes"))
    assert stored_as(server, response, b"notes") == "notes.txt"


def test_filename_given_twice_is_400_and_keeps_nothing(server: LiveServer) -> None:
    response = post(server, part('form-data; name="file"; filename="a.txt"; filename="b.exe"', b"x"))
    assert response.status_code == 400
    assert "twice" in response.json()["error"]
    assert everything_under(server.storage_path, server.temp_path) == []


def test_quoted_printable_part_is_400_and_keeps_nothing(server: LiveServer) -> None:
    encoded = file_part(b"caf=C3=A9", headers=["Content-Transfer-Encoding: quoted-printable"])
    response = post(server, encoded)
    assert response.status_code == 400
    assert "quoted-printable" in response.json()["error"]
    assert everything_under(server.storage_path, server.temp_path) == []


def test_file_part_without_filename_still_needs_the_csrf_token_first(server: LiveServer) -> None:
    response = requests.post(
        server.url + "/files",
        data=body(part('form-data; name="file"', b"x")),
        headers={"Accept": "application/json", "Content-Type": content_type()},
        timeout=30,
    )
    assert response.status_code == 400
    assert "CSRF" in response.json()["error"]
    assert everything_under(server.storage_path, server.temp_path) == []
