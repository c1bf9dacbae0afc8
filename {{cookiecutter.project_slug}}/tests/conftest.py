"""Fixtures shared by the tests: the app on temp paths, WebTest, and a real server.

Every test gets its own ``storage_path`` and ``temp_path`` under pytest's
``tmp_path``, so tests can assert exactly what was (and was not) written.
"""

import re
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import plaster
import pytest
import requests
import waitress
import webtest

from {{ cookiecutter.project_slug }} import main

PROJECT = Path(__file__).resolve().parent.parent
TESTING_INI = PROJECT / "testing.ini"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app_settings(tmp_path: Path) -> dict[str, str]:
    """testing.ini's ``[app:main]`` settings, with the paths moved under ``tmp_path``."""
    settings = dict(plaster.get_settings(str(TESTING_INI), "app:main"))
    settings["uploads.storage_path"] = str(tmp_path / "uploads")
    settings["uploads.temp_path"] = str(tmp_path / "tmp")
    return settings


@pytest.fixture
def storage_path(app_settings: dict[str, str]) -> Path:
    return Path(app_settings["uploads.storage_path"])


@pytest.fixture
def temp_path(app_settings: dict[str, str]) -> Path:
    return Path(app_settings["uploads.temp_path"])


@pytest.fixture
def app(app_settings: dict[str, str]) -> Iterator[object]:
    """The WSGI application, built by ``main`` exactly as ``pserve`` builds it."""
    saved = tempfile.tempdir  # main() points tempfile at temp_path; give it back
    yield main({"here": str(PROJECT), "__file__": str(TESTING_INI)}, **app_settings)
    tempfile.tempdir = saved


@pytest.fixture
def testapp(app: object) -> webtest.TestApp:
    return webtest.TestApp(app)


@pytest.fixture
def csrf_token(testapp: webtest.TestApp) -> str:
    """The token ``GET /`` hands out (WebTest keeps the matching cookie)."""
    return CSRF_INPUT.search(testapp.get("/").text).group(1)


def stored_files(storage_path: Path) -> list[Path]:
    """Everything in ``storage_path``, to assert that nothing was (or was) kept."""
    return sorted(storage_path.iterdir()) if storage_path.exists() else []


@dataclass
class LiveServer:
    """The app under real waitress on an ephemeral loopback port."""

    url: str
    storage_path: Path
    temp_path: Path

    def client(self) -> requests.Session:
        """A ``requests`` session holding the CSRF cookie, with the token as a header."""
        session = requests.Session()
        page = session.get(self.url + "/", timeout=10)
        page.raise_for_status()
        session.headers["X-CSRF-Token"] = CSRF_INPUT.search(page.text).group(1)
        return session


def server_options() -> dict[str, str]:
    """testing.ini's ``[server:main]`` options that waitress takes as arguments."""
    options = dict(plaster.get_settings(str(TESTING_INI), "server:main"))
    for key in ("use", "listen", "here", "__file__"):
        options.pop(key, None)
    return options


@pytest.fixture
def live_server(app: object, storage_path: Path, temp_path: Path) -> Iterator[LiveServer]:
    server = waitress.create_server(app, host="127.0.0.1", port=0, **server_options())
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.effective_port}", storage_path, temp_path)
    finally:
        server.close()
        thread.join(timeout=10)
