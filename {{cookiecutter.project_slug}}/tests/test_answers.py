"""The project as generated: the answers given to cookiecutter reach the settings, the page and the limits.

The other tests set the settings they rely on (conftest's ``BASELINE``), so
they pass whatever the answers. These use testing.ini as generated, with
only the storage and temp paths moved under ``tmp_path``. They are marked
``answers``: the template runs them for every set of answers it tests.
"""

import html
import re
from collections.abc import Iterator
from pathlib import Path

import plaster
import pytest
import requests
import webtest

from {{ cookiecutter.project_slug }} import PROJECT_NAME, rules
from {{ cookiecutter.project_slug }}.server import app_settings, body_limits
from {{ cookiecutter.project_slug }}.settings import UploadSettings, load
from {{ cookiecutter.project_slug }}.sizes import format_size, parse_size

from .bodies import body, content_type, everything_under, file_part, raw_request
from .helpers import CSRF_INPUT, PROJECT, TESTING_INI, LiveServer, built_app, serving

pytestmark = pytest.mark.answers

# The answers, as they were given.
MAX_UPLOAD_SIZE = {{ cookiecutter.max_upload_size | py_str }}
CHUNK_SIZE = {{ cookiecutter.chunk_size | py_str }}
ALLOWED_EXTENSIONS = {{ cookiecutter.allowed_extensions | py_str }}
STORAGE_PATH = {{ cookiecutter.storage_path | py_str }}
TEMP_PATH = {{ cookiecutter.temp_path | py_str }}

MAX_SIZE = parse_size(MAX_UPLOAD_SIZE)
EXTENSIONS = sorted(rules.extensions(ALLOWED_EXTENSIONS))
JSON = {"Accept": "application/json"}


def ini_settings(section: str) -> dict[str, str]:
    return dict(plaster.get_settings(str(TESTING_INI), section))


def ini_upload_settings() -> UploadSettings:
    """testing.ini's ``uploads.*`` settings, read as ``serve()`` reads the ini ``pserve`` runs."""
    return app_settings({"__file__": str(TESTING_INI), "here": str(PROJECT)})


@pytest.fixture
def configured_settings(tmp_path: Path, database_url: str) -> dict[str, str]:
    """testing.ini's ``[app:main]`` as generated, with the paths moved under ``tmp_path`` and the test's catalogue."""
    return {
        **ini_settings("app:main"),
        "sqlalchemy.url": database_url,
        "uploads.storage_path": str(tmp_path / "uploads"),
        "uploads.temp_path": str(tmp_path / "tmp"),
    }


@pytest.fixture
def configured_app(configured_settings: dict[str, str]) -> Iterator[object]:
    with built_app(configured_settings) as app:
        yield app


@pytest.fixture
def configured_server(configured_settings: dict[str, str]) -> Iterator[LiveServer]:
    """The app under waitress with testing.ini's own ``[server:main]`` options, body limits as ``serve()`` sets them."""
    ignored = {"use", "listen", "here", "__file__"}
    options = {key: value for key, value in ini_settings("server:main").items() if key not in ignored}
    options = body_limits(ini_upload_settings(), options)
    with serving(configured_settings, options) as server:
        yield server


# -- the answers reach the configuration -------------------------------------------------------


def test_testing_ini_carries_the_answered_limits() -> None:
    app = ini_settings("app:main")
    assert app["uploads.max_size"] == MAX_UPLOAD_SIZE
    assert app["uploads.chunk_size"] == CHUNK_SIZE
    assert app["uploads.allowed_extensions"] == ALLOWED_EXTENSIONS
    assert int(body_limits(ini_upload_settings(), {})["max_request_body_size"]) == MAX_SIZE


def test_the_answered_paths_are_resolved_against_the_ini_files_directory() -> None:
    config = load(ini_settings("app:main"), PROJECT)
    assert config.storage_path == (PROJECT / STORAGE_PATH).resolve()
    assert config.temp_path == (PROJECT / TEMP_PATH).resolve()


def test_the_page_names_the_project_and_states_the_answered_limits(configured_app: object) -> None:
    page = webtest.TestApp(configured_app).get("/")
    title = re.search(r"<title>(.*?)</title>", page.text, re.DOTALL).group(1)
    assert PROJECT_NAME in html.unescape(title)
    limits = html.unescape(re.search(r'<p id="limits"[^>]*>(.*?)</p>', page.text, re.DOTALL).group(1))
    assert f"Up to {format_size(MAX_SIZE)} per upload" in limits
    for extension in EXTENSIONS:
        assert extension in limits


# -- uploads under the answered limits, through real waitress --------------------------------------


def upload(server: LiveServer, filename: str, data: bytes) -> requests.Response:
    session = requests.Session()
    token = CSRF_INPUT.search(session.get(server.url + "/", timeout=60).text).group(1)
    headers = {**JSON, "Content-Type": content_type(), "X-CSRF-Token": token}
    return session.post(server.url + "/files", data=body(file_part(data, filename)), headers=headers, timeout=120)


@pytest.mark.skipif(MAX_SIZE < 4096, reason="no file and its multipart envelope fit the answered max_upload_size")
def test_a_file_within_the_answered_limits_comes_back_byte_identical(configured_server: LiveServer) -> None:
    extension = EXTENSIONS[0] if EXTENSIONS else "bin"
    size = min(3 * parse_size(CHUNK_SIZE) + 7, MAX_SIZE // 2)  # a few chunks, one of them partial
    data = (bytes(range(256)) * (size // 256 + 1))[:size]
    response = upload(configured_server, f"answer.{extension}", data)
    assert response.status_code == 201, response.text
    (info,) = response.json()["files"]
    assert requests.get(f"{configured_server.url}/files/{info['id']}", timeout=60).content == data


def test_a_declared_length_over_the_answered_max_size_is_413_before_the_body_is_sent(
    configured_server: LiveServer,
) -> None:
    head = (
        "POST /files HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
        f"Content-Type: {content_type()}\r\nContent-Length: {MAX_SIZE + 1}\r\n\r\n"
    )
    response = raw_request(configured_server.url, head.encode("latin-1"), shutdown=False, timeout=60)
    assert response.status == 413
    assert everything_under(configured_server.storage_path, configured_server.temp_path) == []


@pytest.mark.skipif(not EXTENSIONS, reason="no allowed_extensions were given: every extension is allowed")
def test_an_extension_outside_the_answered_list_is_415_and_keeps_nothing(configured_server: LiveServer) -> None:
    outside = next(name for name in ("bin", "exe", "txt") if name not in EXTENSIONS)
    response = upload(configured_server, f"refused.{outside}", b"x")
    assert response.status_code == 415
    assert everything_under(configured_server.storage_path) == []


@pytest.mark.skipif(bool(EXTENSIONS), reason="allowed_extensions were given")
def test_any_extension_is_accepted_when_none_were_answered(configured_server: LiveServer) -> None:
    assert upload(configured_server, "anything.xyz", b"x").status_code == 201
