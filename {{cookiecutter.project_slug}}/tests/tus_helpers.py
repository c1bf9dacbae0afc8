"""Helpers for the tus tests: sessions that speak tus, uploads made step by step, raw requests, a gated backend."""

import base64
import contextlib
import io
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import requests

from {{ cookiecutter.project_slug }} import cleaning
from {{ cookiecutter.project_slug }}.models import UploadInProgress
from {{ cookiecutter.project_slug }}.storage.local import LocalStorage

from .helpers import LiveServer, write_ini

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {"Content-Type": "application/offset+octet-stream"}


# ``uploads.storage`` naming GatedLocalStorage (a backend may be given by its dotted name).
GATED = "tests.tus_helpers.GatedLocalStorage"


class GatedLocalStorage(LocalStorage):
    """The local backend, whose completion of a resumable upload waits at a gate the test opens.

    A real backend (chosen with ``uploads.storage = GATED``) that makes an
    interleaving deterministic: :attr:`completing` is set when a completion
    starts, which then waits for :attr:`gate`. Call :meth:`reset` first.
    """

    completing = threading.Event()
    gate = threading.Event()

    @classmethod
    def reset(cls) -> None:
        cls.completing, cls.gate = threading.Event(), threading.Event()

    def complete_resumable(self, key: str, size: int) -> object:
        type(self).completing.set()
        if not type(self).gate.wait(60):
            raise TimeoutError("the test never opened the gate")
        return super().complete_resumable(key, size)


def in_thread(call: Callable[[], requests.Response]) -> tuple[threading.Thread, list[requests.Response]]:
    """Start ``call`` in a thread; the thread, and the list its answer goes to (join the thread first)."""
    answers: list[requests.Response] = []
    thread = threading.Thread(target=lambda: answers.append(call()))
    thread.start()
    return thread, answers


def twin(session: requests.Session) -> requests.Session:
    """Another session acting as ``session`` (same cookies and headers), for a request from another thread."""
    other = requests.Session()
    other.headers.update(session.headers)
    other.cookies.update(session.cookies)
    return other


@contextlib.contextmanager
def lease_held_elsewhere(app: object, upload_id: str) -> Iterator[None]:
    """The upload's lease taken in the catalogue, as a request on another instance holds it."""
    factory = app.registry["dbsession_factory"]
    with factory() as dbsession, dbsession.begin():
        upload = dbsession.get(UploadInProgress, upload_id)
        upload.locked_by, upload.locked_until = "another-host:1:0000", datetime.now(UTC) + timedelta(hours=1)
    try:
        yield
    finally:
        with factory() as dbsession, dbsession.begin():
            upload = dbsession.get(UploadInProgress, upload_id)
            upload.locked_by, upload.locked_until = None, None


def tus_session(server: LiveServer) -> requests.Session:
    """A session with the CSRF cookie and header, sending ``Tus-Resumable`` on every request."""
    session = server.client()
    session.headers.update(TUS)
    return session


def client_headers(session: requests.Session) -> dict[str, str]:
    """What ``tuspy`` must send to act as ``session`` (it keeps no cookies of its own)."""
    cookies = "; ".join(f"{name}={value}" for name, value in session.cookies.items())
    return {"Cookie": cookies, "X-CSRF-Token": session.headers["X-CSRF-Token"]}


def metadata(**values: str) -> str:
    """An ``Upload-Metadata`` header."""
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items())


def create(session: requests.Session, base_url: str, length: int, filename: str = "data.bin") -> str:
    """Create an upload of ``length`` bytes; its URL."""
    response = session.post(
        base_url + "/uploads/",
        headers={"Upload-Length": str(length), "Upload-Metadata": metadata(filename=filename)},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.headers["Location"]


def patch(session: requests.Session, url: str, offset: int, body: bytes, **headers: str) -> requests.Response:
    return session.patch(url, data=body, headers={**OCTETS, "Upload-Offset": str(offset), **headers}, timeout=60)


def send_half_and_close(url: str, session: requests.Session, offset: int, body: bytes) -> None:
    """Send a PATCH head and half of ``body``, then close the socket: a connection cut mid-chunk."""
    parts = urlsplit(url)
    head = (
        f"PATCH {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nTus-Resumable: 1.0.0\r\n"
        f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: {offset}\r\n"
        f"Content-Length: {len(body)}\r\n"
    )
    for name, value in client_headers(session).items():
        head += f"{name}: {value}\r\n"
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as connection:
        connection.sendall(head.encode("latin-1") + b"\r\n" + body[: len(body) // 2])


def backdate(app: object, url: str) -> None:
    """Make the upload at ``url`` expired an hour ago, in the catalogue itself."""
    with app.registry["dbsession_factory"]() as dbsession, dbsession.begin():
        dbsession.get(UploadInProgress, url.rsplit("/", 1)[1]).expires = datetime.now(UTC) - timedelta(hours=1)


def run_clean(ini: Path, database_url: str, app_settings: dict[str, str], **uploads: str) -> str:
    """Run the clean command on an ini file with ``app_settings``'s ``uploads.*`` (and ``uploads``); its output."""
    chosen = {name[len("uploads.") :]: value for name, value in app_settings.items() if name.startswith("uploads.")}
    write_ini(ini, database_url, **{**chosen, **uploads})
    with contextlib.redirect_stdout(io.StringIO()) as output:
        assert cleaning.main([str(ini)]) == 0
    return output.getvalue()
