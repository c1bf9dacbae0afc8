"""Fixtures shared by the tests: the app on temp paths, WebTest, and a real server.

Every test gets its own ``storage_path`` and ``temp_path`` under pytest's
``tmp_path``, so tests can assert exactly what was (and was not) written.

testing.ini carries the answers given to cookiecutter (size limits, allowed
extensions). The tests do not depend on them: the fixtures set the settings
the tests rely on (``BASELINE``), a test that needs another value sets it
itself, and the tests marked ``answers`` check the project as configured.
"""

import contextlib
import queue
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import plaster
import pytest
import requests
import webtest
from waitress import wasyncore

from {{ cookiecutter.project_slug }} import main
from {{ cookiecutter.project_slug }}.server import create_server
from {{ cookiecutter.project_slug }}.sizes import parse_size

PROJECT = Path(__file__).resolve().parent.parent
TESTING_INI = PROJECT / "testing.ini"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')

# The settings the tests rely on, in place of the answers testing.ini carries.
BASELINE = {
    "uploads.max_size": "4GB",
    "uploads.chunk_size": "64KB",
    "uploads.allowed_extensions": "",
}


@pytest.fixture
def app_settings(tmp_path: Path) -> dict[str, str]:
    """testing.ini's ``[app:main]`` settings with ``BASELINE``, and the paths moved under ``tmp_path``."""
    settings = {**plaster.get_settings(str(TESTING_INI), "app:main"), **BASELINE}
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
        page = session.get(self.url + "/", timeout=60)
        page.raise_for_status()
        session.headers["X-CSRF-Token"] = CSRF_INPUT.search(page.text).group(1)
        return session


def server_options() -> dict[str, str]:
    """testing.ini's ``[server:main]`` options that waitress takes as arguments.

    The body limit is ``BASELINE``'s ``uploads.max_size``, as the ini files
    keep the two equal.
    """
    options = dict(plaster.get_settings(str(TESTING_INI), "server:main"))
    for key in ("use", "listen", "here", "__file__"):
        options.pop(key, None)
    options["max_request_body_size"] = str(parse_size(BASELINE["uploads.max_size"]))
    return options


@dataclass
class Waitress:
    """A waitress server whose event loop runs on a thread of this process, until :meth:`stop`."""

    server: object
    stopping: threading.Event
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.effective_port}"

    def stop(self) -> None:
        """Stop serving at once, open keep-alive connections included, and return once the loop has ended.

        The loop checks ``stopping`` on every turn and then closes every
        socket itself, in its own thread. Pulling the trigger only wakes it
        early; a trigger that waitress has already closed is left alone
        (writing to its old file descriptor could reach a file that has
        the number now), and the loop still ends within one poll timeout.
        """
        self.server.task_dispatcher.shutdown()
        self.stopping.set()
        if self.server.trigger.connected:
            with contextlib.suppress(OSError):  # it may close between the check and the pull
                self.server.trigger.pull_trigger()
        self.thread.join()


def start_waitress(app: object, options: dict[str, str] | None = None) -> Waitress:
    """Serve ``app`` as ``pserve`` does (``server.py``) on a loopback port; ``options`` default to testing.ini's."""
    server = create_server(app, host="127.0.0.1", port=0, **(server_options() if options is None else options))
    stopping = threading.Event()
    poll = wasyncore.poll2 if server.adj.asyncore_use_poll else wasyncore.poll

    def serve() -> None:  # waitress's own loop (server.run), with a way out
        try:
            while server._map and not stopping.is_set():
                poll(server.adj.asyncore_loop_timeout, server._map)
        finally:
            wasyncore.close_all(server._map)

    thread = threading.Thread(target=serve, name="waitress", daemon=True)
    thread.start()
    return Waitress(server, stopping, thread)


@pytest.fixture
def live_server(app: object, storage_path: Path, temp_path: Path) -> Iterator[LiveServer]:
    server = start_waitress(app)
    try:
        yield LiveServer(server.url, storage_path, temp_path)
    finally:
        server.stop()


@pytest.fixture
def make_live_server(
    app_settings: dict[str, str], storage_path: Path, temp_path: Path
) -> Iterator[Callable[..., LiveServer]]:
    """Start the app under real waitress with some ``uploads.*`` settings changed.

    ``make_live_server(max_size="64KB")`` returns a :class:`LiveServer`; every
    server started is stopped at the end of the test.
    """
    servers: list[Waitress] = []
    saved = tempfile.tempdir

    def make(**overrides: str) -> LiveServer:
        settings = {**app_settings, **{f"uploads.{name}": value for name, value in overrides.items()}}
        server = start_waitress(main({"here": str(PROJECT), "__file__": str(TESTING_INI)}, **settings))
        servers.append(server)
        return LiveServer(server.url, storage_path, temp_path)

    try:
        yield make
    finally:
        for server in servers:
            server.stop()
        tempfile.tempdir = saved


@dataclass
class PserveServer:
    """The project started by the real ``pserve`` command in a child process."""

    url: str
    process: subprocess.Popen
    log: list[str]


@pytest.fixture
def pserve(storage_path: Path, temp_path: Path, tmp_path: Path) -> Iterator[Callable[..., PserveServer]]:
    """Start ``pserve`` on a copy of testing.ini whose paths are under ``tmp_path``.

    ``pserve(chunk_size="1KB")`` starts a server (``uploads.*`` settings may
    be changed) and waits for waitress's "Serving on" line to learn its
    port. Call it again after killing one to restart on the same
    directories, as an operator would after a crash. Every server still
    running at the end of the test is killed.
    """
    processes: list[subprocess.Popen] = []

    def start(**overrides: str) -> PserveServer:
        settings = {
            **{name.removeprefix("uploads."): value for name, value in BASELINE.items()},
            "storage_path": str(storage_path),
            "temp_path": str(temp_path),
            **overrides,
        }
        text = TESTING_INI.read_text(encoding="utf-8")
        for name, value in settings.items():
            text = re.sub(rf"(?m)^uploads\.{name} *=.*$", lambda _, n=name, v=value: f"uploads.{n} = {v}", text)
        text = re.sub(r"(?m)^listen *=.*$", "listen = 127.0.0.1:0", text)
        body_limit = parse_size(settings["max_size"])
        text = re.sub(r"(?m)^max_request_body_size *=.*$", f"max_request_body_size = {body_limit}", text)
        ini = tmp_path / f"pserve-{len(processes)}.ini"
        ini.write_text(text, encoding="utf-8")
        pserve_script = Path(sys.executable).with_name("pserve")
        command = [str(pserve_script)] if pserve_script.exists() else [sys.executable, "-m", "pyramid.scripts.pserve"]
        process = subprocess.Popen(
            [*command, str(ini)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        processes.append(process)
        log: list[str] = []
        serving: queue.Queue[str] = queue.Queue()

        def drain() -> None:  # keep reading, or a chatty server would block on a full pipe
            for line in process.stderr:
                log.append(line)
                if match := re.search(r"Serving on (http://127\.0\.0\.1:\d+)", line):
                    serving.put(match.group(1))
            serving.put("")

        threading.Thread(target=drain, daemon=True).start()
        try:
            url = serving.get(timeout=60)
        except queue.Empty:
            url = ""
        if not url:
            process.kill()
            raise RuntimeError("pserve did not start:\n" + "".join(log))
        return PserveServer(url, process, log)

    try:
        yield start
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)


@pytest.fixture(scope="session", autouse=True)
def compiled_template_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Let Chameleon compile each page template once per test run, not once per app.

    Every test builds its own app, and Chameleon (unlike Jinja2 and Mako)
    recompiles a template for every new app unless ``CHAMELEON_CACHE`` names
    a directory when it is first imported, which is at the first ``main()``.
    The other template languages ignore the variable.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHAMELEON_CACHE", str(tmp_path_factory.mktemp("chameleon-cache")))
        yield
