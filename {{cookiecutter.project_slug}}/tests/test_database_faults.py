"""The catalogue's database failing: 503 with a message, nothing kept, and back without a restart.

On a real PostgreSQL server that is stopped (``pg_ctl stop -m immediate``,
as in an outage) and started again while the application keeps running.
"""

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import sqlalchemy
from pyramid.request import Request

from {{ cookiecutter.project_slug }}.models import retry_attempts
from {{ cookiecutter.project_slug }}.storage.local import LocalStorage

from .bodies import everything_under
from .helpers import JSON, LiveServer, upload
from .postgresql import PostgreSQLServer
from .tus_helpers import GATED, GatedLocalStorage, create, in_thread, patch, tus_session, twin

UNAVAILABLE = "The catalogue database is unavailable; nothing was changed. Try again in a moment."


@pytest.fixture
def outage(postgresql_server: PostgreSQLServer) -> Iterator[PostgreSQLServer]:
    """The session's PostgreSQL server, started again after the test whatever happens."""
    try:
        yield postgresql_server
    finally:
        if not postgresql_server.running():
            postgresql_server.start()


def stored(server: LiveServer) -> list[Path]:
    return everything_under(server.storage_path, server.temp_path)


@pytest.mark.postgresql
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_database_down_is_503_keeps_nothing_and_recovers_without_a_restart(
    live_server: LiveServer, outage: PostgreSQLServer
) -> None:
    session = live_server.client()
    (before,) = upload(live_server, session, ("before.txt", b"stored before the outage"))
    kept = stored(live_server)

    outage.stop()
    listing = requests.get(live_server.url + "/files", headers=JSON, timeout=30)
    assert listing.status_code == 503
    assert listing.json() == {"error": UNAVAILABLE}
    assert listing.headers["Retry-After"] == "5"
    refused = session.post(live_server.url + "/files", files=[("file", ("x.txt", b"x"))], headers=JSON, timeout=30)
    assert refused.status_code == 503
    assert refused.json() == {"error": UNAVAILABLE}
    page = requests.get(live_server.url + "/", timeout=30)
    assert page.status_code == 503
    assert "database is unavailable" in page.text
    assert stored(live_server) == kept

    outage.start()
    assert requests.get(before["url"], timeout=30).content == b"stored before the outage"
    (after,) = upload(live_server, session, ("after.txt", b"stored after"))
    listed = requests.get(live_server.url + "/files", headers=JSON, timeout=30).json()["files"]
    assert [info["id"] for info in listed] == [after["id"], before["id"]]


@pytest.mark.postgresql
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_database_stopped_mid_upload_is_503_and_the_committed_bytes_are_removed(
    live_server: LiveServer, outage: PostgreSQLServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = live_server.client()
    committing, stopped = threading.Event(), threading.Event()
    real_commit = LocalStorage.commit

    def commit_once_the_database_is_down(self: LocalStorage, staged: object) -> None:
        committing.set()
        assert stopped.wait(60)
        real_commit(self, staged)

    monkeypatch.setattr(LocalStorage, "commit", commit_once_the_database_is_down)
    result: list[requests.Response] = []
    files = [("file", ("big.bin", b"b" * 2_000_000))]
    thread = threading.Thread(
        target=lambda: result.append(session.post(live_server.url + "/files", files=files, headers=JSON, timeout=60))
    )
    thread.start()
    assert committing.wait(60)
    outage.stop()
    stopped.set()
    thread.join()  # the upload's answer has come (its request has a timeout of its own)
    assert result[0].status_code == 503
    assert result[0].json() == {"error": UNAVAILABLE}
    assert stored(live_server) == []  # the bytes were committed, then removed when the transaction failed

    monkeypatch.undo()
    outage.start()
    upload(live_server, session, ("after.txt", b"fine again"))


def test_a_failing_insert_removes_the_bytes_it_was_recording(live_server: LiveServer, database_url: str) -> None:
    """SQLite: the table gone (as a broken database would be), the upload keeps nothing."""
    session = live_server.client()
    engine = sqlalchemy.create_engine(database_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE stored_file")
    engine.dispose()
    response = session.post(live_server.url + "/files", files=[("file", ("x.txt", b"x" * 1000))], headers=JSON)
    assert response.status_code in (500, 503)
    assert "nothing was changed" in response.json()["error"]
    assert stored(live_server) == []


@pytest.mark.parametrize(("method", "attempts"), [("GET", None), ("HEAD", None), ("POST", 1), ("DELETE", 1)])
def test_only_requests_without_a_body_to_copy_are_retried(method: str, attempts: int | None) -> None:
    """``None``: ``retry.attempts``; 1: never again, so no upload body is ever copied to be replayed."""
    assert retry_attempts(Request.blank("/files", method=method)) == attempts


@pytest.mark.tus
@pytest.mark.postgresql
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_tus_completion_the_database_refused_is_completed_by_a_patch_at_the_end_once_it_is_back(
    make_live_server, outage: PostgreSQLServer
) -> None:
    """The bytes committed before the database failed are kept, and recorded once by the next attempt."""
    GatedLocalStorage.reset()
    server = make_live_server(storage=GATED, allowed_extensions="", allowed_types="")
    session = tus_session(server)
    data = b"completed after the outage\n" * 1000
    url = create(session, server.url, len(data))
    upload_id = url.rsplit("/", 1)[1]
    last, answers = in_thread(lambda: patch(twin(session), url, 0, data))
    completing = GatedLocalStorage.completing.wait(60)
    outage.stop()
    GatedLocalStorage.gate.set()
    last.join()
    assert completing
    assert answers[0].status_code == 503

    outage.start()
    retried = patch(session, url, len(data), b"")  # the last chunk's offset, no bytes
    assert retried.status_code == 204
    assert session.get(retried.headers["Upload-File-Location"], timeout=30).content == data
    listed = session.get(server.url + "/files", headers=JSON, timeout=30).json()["files"]
    assert [(info["id"], info["sha256"]) for info in listed] == [(upload_id, hashlib.sha256(data).hexdigest())]
    assert stored(server) == [server.storage_path / upload_id]
