"""Helpers the tests share: paths, the baseline settings, the CSRF token, servers, the catalogue.

Fixtures live in ``conftest.py``; what tests import lives here.
"""

import contextlib
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
{%- if cookiecutter.access == "accounts" %}
from datetime import datetime
{%- endif %}
from pathlib import Path

import alembic.command
import plaster
import pytest
import requests
import sqlalchemy
{%- if cookiecutter.access == "accounts" %}
import webtest
{%- endif %}
{%- if cookiecutter.access == "accounts" %}
from sqlalchemy.orm import Session
{%- endif %}
from waitress import wasyncore

{% if cookiecutter.access == "accounts" -%}
from {{ cookiecutter.project_slug }} import accounts, main
{% else -%}
from {{ cookiecutter.project_slug }} import main
{% endif -%}
from {{ cookiecutter.project_slug }}.models import alembic_config
{%- if cookiecutter.access == "accounts" %}
from {{ cookiecutter.project_slug }}.policy import SESSION_COOKIE
{%- endif %}
from {{ cookiecutter.project_slug }}.server import OWN_OPTIONS, body_limits, create_server
from {{ cookiecutter.project_slug }}.settings import load

PROJECT = Path(__file__).resolve().parent.parent
TESTING_INI = PROJECT / "testing.ini"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
{%- if cookiecutter.access == "accounts" %}
# Every test database has this admin account (conftest's ``database_url``);
# ``LiveServer.client()`` and ``SignedIn`` sign in with it.
ACCOUNT = ("tester", "tester-password")
{%- endif %}

# The settings the tests rely on, in place of the answers testing.ini carries.
BASELINE = {
    "uploads.max_size": "4GB",
    "uploads.chunk_size": "64KB",
    "uploads.allowed_extensions": "",
}


def stored_files(storage_path: Path) -> list[Path]:
    """Everything in ``storage_path``, to assert that nothing was (or was) kept."""
    return sorted(storage_path.iterdir()) if storage_path.exists() else []


@dataclass
class LiveServer:
    """The app under real waitress on an ephemeral loopback port."""

    url: str
    storage_path: Path
    temp_path: Path
{%- if cookiecutter.access == "accounts" %}

    def client(self, account: tuple[str, str] = ACCOUNT) -> requests.Session:
        """A ``requests`` session signed in as ``account``, with the CSRF token as a header."""
        session = requests.Session()
        sign_in(session, self.url, *account).raise_for_status()
        page = session.get(self.url + "/", timeout=60)
{%- else %}

    def client(self) -> requests.Session:
        """A ``requests`` session holding the CSRF cookie, with the token as a header."""
        session = requests.Session()
        page = session.get(self.url + "/", timeout=60)
{%- endif %}
        page.raise_for_status()
        session.headers["X-CSRF-Token"] = CSRF_INPUT.search(page.text).group(1)
        return session


{% if cookiecutter.access == "accounts" -%}
class SignedIn:
    """WSGI middleware: a request with no credentials of its own gets the session cookie of ``name``.

    The cookie comes from a real sign-in through the sign-in form, once; the
    application's own security policy checks it on every request. A request
    that sends an ``Authorization`` header or a session cookie of its own is
    passed on untouched, so CSRF and the accounts' rules still apply.
    """

    def __init__(self, app: object, name: str, password: str) -> None:
        self.app = app
        self.registry = app.registry
        testapp = webtest.TestApp(app)
        form = testapp.get("/signin")
        fields = {"csrf_token": CSRF_INPUT.search(form.text).group(1), "name": name, "password": password}
        testapp.post("/signin", fields, status=303)
        self.cookie = f"{SESSION_COOKIE}={testapp.cookies[SESSION_COOKIE]}"

    def __call__(self, environ: dict, start_response: object) -> object:
        cookies = environ.get("HTTP_COOKIE", "")
        if "HTTP_AUTHORIZATION" not in environ and f"{SESSION_COOKIE}=" not in cookies:
            environ["HTTP_COOKIE"] = f"{cookies}; {self.cookie}" if cookies else self.cookie
        return self.app(environ, start_response)


def sign_in(session: requests.Session, url: str, name: str, password: str) -> requests.Response:
    """Sign ``session`` in through the sign-in form, as a browser would; the final response."""
    form = session.get(url + "/signin", timeout=10)
    token = CSRF_INPUT.search(form.text).group(1)
    fields = {"csrf_token": token, "name": name, "password": password}
    return session.post(url + "/signin", data=fields, timeout=30)


def add_account(database_url: str, name: str, password: str, *, admin: bool = False) -> None:
    """Create an account in the catalogue at ``database_url``, as ``{{ cookiecutter.project_slug }}-users add`` does."""
    with catalogue_session(database_url) as dbsession, dbsession.begin():
        accounts.add_user(dbsession, name, password, admin=admin)


def add_token(database_url: str, name: str, scopes: str, *, expires: datetime | None = None) -> str:
    """A new API token for the account ``name``: the secret, as ``{{ cookiecutter.project_slug }}-users token`` prints it."""
    with catalogue_session(database_url) as dbsession, dbsession.begin():
        user = accounts.find_user(dbsession, name)
        return accounts.make_token(dbsession, user, "test token", scopes, expires)[1]


@contextmanager
def catalogue_session(database_url: str) -> Iterator[Session]:
    """A plain SQLAlchemy session on the test's catalogue (outside any request)."""
    engine = sqlalchemy.create_engine(database_url)
    try:
        with Session(engine) as dbsession:
            yield dbsession
    finally:
        engine.dispose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


{% endif -%}
def server_options() -> dict[str, str]:
    """testing.ini's ``[server:main]`` options that waitress takes as arguments.

    The body limits are taken from ``BASELINE``'s settings, as ``serve()``
    takes them from ``[app:main]``.
    """
    options = dict(plaster.get_settings(str(TESTING_INI), "server:main"))
    for key in ("use", "listen", "here", "__file__"):
        options.pop(key, None)
    return body_limits(load(BASELINE, PROJECT), options)


def waitress_options() -> dict[str, str]:
    """:func:`server_options` less those ``server.create_server`` adds to waitress's (stock waitress refuses them)."""
    return {name: value for name, value in server_options().items() if name not in OWN_OPTIONS}


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


@contextmanager
def built_app(settings: dict[str, str]) -> Iterator[object]:
    """The app ``main`` builds from ``settings`` (Pyramid's, as in testing.ini), as ``pserve`` builds it.
{%- if cookiecutter.access == "accounts" %}

    Requests without credentials of their own speak as the tests' account
    (:class:`SignedIn`).
{%- endif %}
    ``main()`` points ``tempfile`` at ``uploads.temp_path``; that is undone
    when the block ends.
    """
    saved = tempfile.tempdir
    try:
        app = main({"here": str(PROJECT), "__file__": str(TESTING_INI)}, **settings)
{%- if cookiecutter.access == "accounts" %}
        app = SignedIn(app, *ACCOUNT)
{%- endif %}
        yield app
    finally:
        tempfile.tempdir = saved


@contextmanager
def serving(settings: dict[str, str], options: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """:func:`built_app` under real waitress (``server.py``) on a loopback port, until the block ends.

    ``options`` are waitress's (testing.ini's ``[server:main]`` by default, see
    :func:`server_options`); the paths are the settings' ``uploads.storage_path``
    and ``uploads.temp_path``.
    """
    with built_app(settings) as app:
        server = start_waitress(app, options)
        try:
            yield LiveServer(server.url, Path(settings["uploads.storage_path"]), Path(settings["uploads.temp_path"]))
        finally:
            server.stop()


@dataclass
class PserveServer:
    """The project started by the real ``pserve`` command in a child process."""

    url: str
    process: subprocess.Popen
    log: list[str]


def poll_while_running(condition: Callable[[], bool], *running: Callable[[], bool]) -> bool:
    """Poll ``condition`` as long as each of ``running`` holds; whether ``condition`` came true.

    For the state of another process, which sends no event. No deadline: the
    wait ends at the event, or when what would cause it has stopped (the
    server process exited, the client gave up).
    """
    while all(alive() for alive in running):
        if condition():
            return True
        time.sleep(0.001)
    return condition()


def migrate(url: str) -> None:
    """Create or upgrade the catalogue's schema at ``url``, as ``alembic upgrade head`` does."""
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            alembic.command.upgrade(config, "head")
    finally:
        engine.dispose()


def catalogue_keys(database_url: str) -> list[str]:
    """The storage keys of every file the catalogue at ``database_url`` records, sorted."""
    engine = sqlalchemy.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return sorted(connection.execute(sqlalchemy.text("SELECT storage_key FROM stored_file")).scalars())
    finally:
        engine.dispose()


JSON = {"Accept": "application/json"}
BOTH_DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
BOTH_BACKENDS = ["local", pytest.param("s3", marks=pytest.mark.s3)]
# A test whose requests reach the store runs on local disk and on the S3
# gateway (conftest's ``backend``); tests that never reach it run once.
on_both_backends = pytest.mark.parametrize("backend", BOTH_BACKENDS, indirect=True)


def upload(server: LiveServer, session: requests.Session, *files: tuple[str, bytes]) -> list[dict]:
    """Upload ``(filename, bytes)`` files in one request; their JSON records (201 asserted)."""
    response = session.post(server.url + "/files", files=[("file", file) for file in files], headers=JSON, timeout=60)
    assert response.status_code == 201, response.text
    return response.json()["files"]


def list_all(server: LiveServer, limit: int | None = None) -> list[dict]:
    """Every file ``GET /files`` lists, following the ``next`` links, in the order given.

    Asked through :meth:`LiveServer.client`, so that a server started by
    ``pserve`` (which has no ``SignedIn`` in front of it) answers too.
    """
    files: list[dict] = []
    url: str | None = server.url + "/files" + (f"?limit={limit}" if limit else "")
    session = server.client()
    while url is not None:
        response = session.get(url, headers=JSON, timeout=30)
        assert response.status_code == 200, response.text
        files += response.json()["files"]
        url = response.json()["next"]
    return files


def write_ini(path: Path, database_url: str, **uploads: str) -> Path:
    """A copy of testing.ini at ``path`` with another database and some ``uploads.*`` settings."""
    text = TESTING_INI.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^sqlalchemy\.url *=.*$", lambda _: f"sqlalchemy.url = {database_url}", text)
    for name, value in uploads.items():
        line = f"uploads.{name} = {value}"
        text, found = re.subn(rf"(?m)^uploads\.{re.escape(name)} *=.*$", lambda _, line=line: line, text)
        if not found:  # a setting testing.ini does not list (uploads.s3.*)
            text = text.replace("[app:main]\n", f"[app:main]\n{line}\n", 1)
    path.write_text(text, encoding="utf-8")
    return path


def uploads_in_progress(database_url: str) -> set[str]:
    """The storage keys of the resumable uploads in progress the catalogue at ``database_url`` records."""
    engine = sqlalchemy.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return set(connection.execute(sqlalchemy.text("SELECT storage_key FROM upload_in_progress")).scalars())
    finally:
        engine.dispose()
