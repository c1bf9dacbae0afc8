"""Fixtures shared by the tests: the database, the app on temp paths, WebTest, and a real server.

Every test gets its own ``storage_path``, ``temp_path`` and catalogue
database (SQLite in a temp dir, or a fresh database on the session's
PostgreSQL server), so tests can assert exactly what was (and was not)
written. Helpers that tests import live in ``helpers.py``.

PostgreSQL tests (marker ``postgresql``) start a real server once per
session (``postgresql.py``). Without PostgreSQL installed they are skipped,
unless ``REQUIRE_POSTGRESQL=1`` is set (as CI does): then it is a failure.
The S3 backend's tests (marker ``s3``) likewise start a one-node Ceph with
its S3 gateway (``ceph.py``), required when ``REQUIRE_CEPH=1``.

testing.ini carries the answers given to cookiecutter (size limits, allowed
extensions). The tests do not depend on them: the fixtures set the settings
the tests rely on (``BASELINE``), a test that needs another value sets it
itself, and the tests marked ``answers`` check the project as configured.
"""

import contextlib
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import plaster
import pytest
import webtest

from {{ cookiecutter.project_slug }} import main

from .ceph import CephCluster, bucket_contents
from .ceph import installed as ceph_installed
from .helpers import (
{%- if cookiecutter.access == "accounts" %}
    ACCOUNT,
{%- endif %}
    BASELINE,
    CSRF_INPUT,
    PROJECT,
    TESTING_INI,
    LiveServer,
    PserveServer,
{%- if cookiecutter.access == "accounts" %}
    SignedIn,
{%- endif %}
{%- if cookiecutter.access == "accounts" %}
    add_account,
{%- endif %}
    catalogue_keys,
    migrate,
    serving,
    start_waitress,
    stored_files,
    uploads_in_progress,
)
from .postgresql import PostgreSQLServer, find_bin

NO_POSTGRESQL = (
    "PostgreSQL is not installed: install Debian's postgresql package (or set POSTGRESQL_BIN to the"
    " directory of initdb and pg_ctl) to run these tests"
)


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[PostgreSQLServer]:
    """A PostgreSQL server for the whole session; skipped when there is none, unless REQUIRE_POSTGRESQL=1."""
    bin_dir = find_bin()
    if bin_dir is None:
        if os.environ.get("REQUIRE_POSTGRESQL"):
            pytest.fail(NO_POSTGRESQL + " (REQUIRE_POSTGRESQL is set, so this is a failure)")
        pytest.skip(NO_POSTGRESQL)
    server = PostgreSQLServer(bin_dir)
    try:
        server.start()
        yield server
    finally:
        server.destroy()


NO_CEPH = (
    "Ceph is not installed: install Debian's radosgw, ceph-mon and ceph-osd packages"
    " (apt-get install --no-install-recommends radosgw ceph-mon ceph-osd) to run the S3 tests"
)


@pytest.fixture(scope="session")
def ceph() -> Iterator[CephCluster]:
    """A one-node Ceph with its S3 gateway for the whole session; skipped without Ceph unless REQUIRE_CEPH=1.

    Its credentials are in the environment for the session, which is where
    the app (and every ``pserve`` the tests start) takes them from.
    """
    if not ceph_installed():
        if os.environ.get("REQUIRE_CEPH"):
            pytest.fail(NO_CEPH + " (REQUIRE_CEPH is set, so this is a failure)")
        pytest.skip(NO_CEPH)
    cluster = CephCluster()
    try:
        cluster.start()
        with pytest.MonkeyPatch.context() as patch:
            for name, value in cluster.environ().items():
                patch.setenv(name, value)
            yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def s3_settings(ceph: CephCluster) -> dict[str, str]:
    """``uploads.*`` settings for the S3 backend on a new bucket of the session's gateway."""
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    ceph.client().create_bucket(Bucket=bucket)
    return {
        "uploads.storage": "s3",
        "uploads.s3.bucket": bucket,
        "uploads.s3.prefix": "files/",
        "uploads.s3.endpoint_url": ceph.endpoint,
        "uploads.s3.region": "us-east-1",
        "uploads.s3.addressing_style": "path",
    }


# On S3, parts of 5 MiB (S3's smallest), so that a few MiB cross parts.
S3_PARTS = {"uploads.s3.part_size": "5MiB"}


def backend_settings(request: pytest.FixtureRequest, backend: str) -> dict[str, str]:
    """The ``uploads.*`` settings that select ``backend`` (none for the default, local)."""
    return {**request.getfixturevalue("s3_settings"), **S3_PARTS} if backend == "s3" else {}


@pytest.fixture
def store_contents(
    request: pytest.FixtureRequest, backend: str, storage_path: Path, temp_path: Path
) -> Callable[[], list[str]]:
    """Everything the backend holds, by name: stored files and the bytes of resumable uploads.

    Local: the files of ``storage_path`` and the ``tus-*`` files of
    ``temp_path``. S3: the objects and the multipart uploads under the prefix.
    """
    if backend == "s3":
        client = request.getfixturevalue("ceph").client()
        settings = request.getfixturevalue("s3_settings")

        def in_bucket() -> list[str]:
            objects, uploads = bucket_contents(client, settings["uploads.s3.bucket"], settings["uploads.s3.prefix"])
            return objects + [f"{name} (multipart upload)" for name in uploads]

        return in_bucket
    return lambda: [path.name for path in [*stored_files(storage_path), *sorted(temp_path.glob("tus-*"))]]


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty catalogue database: SQLite by default, ``"postgresql"`` when parametrized so.
{%- if cookiecutter.access == "accounts" %}

    It holds one account, ``helpers.ACCOUNT``, that signed-in clients use:
    an admin, so the tests of storing and serving see every file.
{%- endif %}

    SQLite's file is kept apart from ``tmp_path``, where tests look for every
    byte an upload wrote.
    """
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('catalogue') / 'catalogue.sqlite'}"
        migrate(url)
{%- if cookiecutter.access == "accounts" %}
        add_account(url, *ACCOUNT, admin=True)
{%- endif %}
        yield url
        return
    server = request.getfixturevalue("postgresql_server")
    url = server.create_database()
    migrate(url)
{%- if cookiecutter.access == "accounts" %}
    add_account(url, *ACCOUNT, admin=True)
{%- endif %}
    yield url
    server.drop_database(url)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The storage backend of the test's app: ``"local"``, or ``"s3"`` where parametrized so.

    ``@helpers.on_both_backends`` runs a test on each; its ``s3`` run is
    marked ``s3`` (it needs the session's Ceph gateway).
    """
    return getattr(request, "param", "local")


@pytest.fixture
def app_settings(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str, backend: str
) -> Iterator[dict[str, str]]:
    """testing.ini's ``[app:main]`` with ``BASELINE``, the test's database, and the paths under ``tmp_path``.

    On the ``s3`` backend, with ``s3_settings`` too; once the test and its
    servers are done, the bucket must hold exactly the files the catalogue
    records and no multipart upload: whatever a test refused left nothing.
    """
    settings = {**plaster.get_settings(str(TESTING_INI), "app:main"), **BASELINE}
    settings["sqlalchemy.url"] = database_url
    settings["uploads.storage_path"] = str(tmp_path / "uploads")
    settings["uploads.temp_path"] = str(tmp_path / "tmp")
    if backend == "local":
        yield settings
        return
    s3_settings = request.getfixturevalue("s3_settings")
    yield {**settings, **s3_settings, **S3_PARTS}
    client = request.getfixturevalue("ceph").client()
    objects, uploads = bucket_contents(client, s3_settings["uploads.s3.bucket"], s3_settings["uploads.s3.prefix"])
    # Besides: the resumable uploads the catalogue has in progress, with their marker,
    # tail and parts (tus/<key>, tus/<key>.tail-<start>, a multipart upload of <key>).
    in_progress = uploads_in_progress(database_url)
    objects = [name for name in objects if name.removeprefix("tus/").split(".")[0] not in in_progress]
    uploads = [name for name in uploads if name not in in_progress]
    kept = (objects, uploads)
    assert kept == (catalogue_keys(database_url), []), "the bucket must hold the catalogue's files, nothing else"


@pytest.fixture
def storage_path(app_settings: dict[str, str]) -> Path:
    return Path(app_settings["uploads.storage_path"])


@pytest.fixture
def temp_path(app_settings: dict[str, str]) -> Path:
    return Path(app_settings["uploads.temp_path"])
{%- if cookiecutter.access == "accounts" %}


@pytest.fixture
def anonymous_app(app_settings: dict[str, str]) -> Iterator[object]:
    """The WSGI application, built by ``main`` exactly as ``pserve`` builds it."""
    saved = tempfile.tempdir  # main() points tempfile at temp_path; give it back
    yield main({"here": str(PROJECT), "__file__": str(TESTING_INI)}, **app_settings)
    tempfile.tempdir = saved


@pytest.fixture
def app(anonymous_app: object) -> object:
    """The application as the tests' account sees it (``helpers.SignedIn``).

    Tests of uploads, downloads and the wire speak as a signed-in user;
    the accounts tests use ``anonymous_app`` and sign in themselves.
    """
    return SignedIn(anonymous_app, *ACCOUNT)


@pytest.fixture
def accounts_server(anonymous_app: object, storage_path: Path, temp_path: Path) -> Iterator[LiveServer]:
    """``anonymous_app`` under real waitress: requests carry only the credentials they send."""
    server = start_waitress(anonymous_app)
    try:
        yield LiveServer(server.url, storage_path, temp_path)
    finally:
        server.stop()
{%- else %}


@pytest.fixture
def app(app_settings: dict[str, str]) -> Iterator[object]:
    """The WSGI application, built by ``main`` exactly as ``pserve`` builds it."""
    saved = tempfile.tempdir  # main() points tempfile at temp_path; give it back
    yield main({"here": str(PROJECT), "__file__": str(TESTING_INI)}, **app_settings)
    tempfile.tempdir = saved
{%- endif %}


@pytest.fixture
def testapp(app: object) -> webtest.TestApp:
    return webtest.TestApp(app)


@pytest.fixture
def csrf_token(testapp: webtest.TestApp) -> str:
    """The token ``GET /`` hands out (WebTest keeps the matching cookie)."""
    return CSRF_INPUT.search(testapp.get("/").text).group(1)


@pytest.fixture
def live_server(app: object, storage_path: Path, temp_path: Path) -> Iterator[LiveServer]:
    server = start_waitress(app)
    try:
        yield LiveServer(server.url, storage_path, temp_path)
    finally:
        server.stop()


@pytest.fixture
def make_live_server(app_settings: dict[str, str]) -> Iterator[Callable[..., LiveServer]]:
    """Start the app under real waitress with some ``uploads.*`` settings changed.

    ``make_live_server(max_size="64KB")`` returns a :class:`LiveServer`; every
    server started is stopped at the end of the test.
    """
    with contextlib.ExitStack() as servers:

        def make(**overrides: str) -> LiveServer:
            settings = {**app_settings, **{f"uploads.{name}": value for name, value in overrides.items()}}
            return servers.enter_context(serving(settings))

        yield make


@pytest.fixture
def pserve(
    request: pytest.FixtureRequest,
    storage_path: Path,
    temp_path: Path,
    tmp_path: Path,
    database_url: str,
    backend: str,
) -> Iterator[Callable[..., PserveServer]]:
    """Start ``pserve`` on a copy of testing.ini whose paths are under ``tmp_path``.

    ``pserve(chunk_size="1KB")`` starts a server (``uploads.*`` settings may
    be changed) and waits for waitress's "Serving on" line to learn its
    port. Call it again after killing one to restart on the same
    directories, as an operator would after a crash. Every server still
    running at the end of the test is killed.
    """
    processes: list[subprocess.Popen] = []

    def start(**overrides: str) -> PserveServer:
        chosen = {**BASELINE, **backend_settings(request, backend)}
        settings = {
            **{name.removeprefix("uploads."): value for name, value in chosen.items()},
            "storage_path": str(storage_path),
            "temp_path": str(temp_path),
            **overrides,
        }
        text = TESTING_INI.read_text(encoding="utf-8")
        for name, value in settings.items():
            line = f"uploads.{name} = {value}"
            text, found = re.subn(rf"(?m)^uploads\.{re.escape(name)} *=.*$", lambda _, line=line: line, text)
            if not found:  # a setting testing.ini does not list (uploads.s3.*)
                text = text.replace("[app:main]\n", f"[app:main]\n{line}\n", 1)
        text = re.sub(r"(?m)^listen *=.*$", "listen = 127.0.0.1:0", text)
        text = re.sub(r"(?m)^sqlalchemy\.url *=.*$", lambda _: f"sqlalchemy.url = {database_url}", text)
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
