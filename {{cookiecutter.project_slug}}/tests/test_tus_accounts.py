"""Who may use the tus endpoint with accounts on, through real waitress: the rules of ``/files``.

Every request here carries only the credentials it sends (``accounts_server``
serves ``anonymous_app``): no credentials is 401 (or the sign-in page for a
browser), a token needs the method's scope, someone else's upload is 404,
and a file finished through tus belongs to its uploader.
"""

from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from {{ cookiecutter.project_slug }}.models import UploadInProgress

from .helpers import JSON, LiveServer, add_account, add_token, bearer, catalogue_session, stored_files
from .tus_helpers import OCTETS, TUS, metadata, patch

pytestmark = [pytest.mark.tus, pytest.mark.server]

USER = ("alice", "alice-password")
OTHER = ("other", "other-password")
ADMIN = ("admin", "admin-password")
BODY = b"hello, tus\n"
ORIGIN = "https://app.example"
CREATION = {"Upload-Length": str(len(BODY)), "Upload-Metadata": metadata(filename="hello.txt")}


@pytest.fixture
def app_settings(app_settings: dict[str, str]) -> dict[str, str]:
    return {**app_settings, "uploads.allowed_extensions": "", "uploads.cors_origins": ORIGIN}


@pytest.fixture
def server(accounts_server: LiveServer, database_url: str) -> LiveServer:
    """The accounts server, with two users and an admin."""
    add_account(database_url, *USER)
    add_account(database_url, *OTHER)
    add_account(database_url, *ADMIN, admin=True)
    return accounts_server


@pytest.fixture
def token_client(database_url: str) -> Callable[..., requests.Session]:
    """``token_client("upload")``: a session sending a new token of ``USER``'s (or ``name``'s), no cookie."""

    def make(scopes: str, *, name: str = USER[0]) -> requests.Session:
        session = requests.Session()
        session.headers.update({**TUS, **bearer(add_token(database_url, name, scopes))})
        return session

    return make


def signed_in(server: LiveServer, account: tuple[str, str]) -> requests.Session:
    """A browser-like session of ``account``'s: cookie and CSRF header, speaking tus."""
    session = server.client(account)
    session.headers.update(TUS)
    return session


def started_by(server: LiveServer, session: requests.Session) -> str:
    """Create an upload of ``BODY`` as ``session``; its URL."""
    response = session.post(server.url + "/uploads/", headers=CREATION, timeout=10)
    assert response.status_code == 201, response.text
    return response.headers["Location"]


def finished_by(server: LiveServer, session: requests.Session) -> str:
    """Upload ``BODY`` through tus as ``session``; the stored file's URL."""
    response = patch(session, started_by(server, session), 0, BODY)
    assert response.status_code == 204, response.text
    return response.headers["Upload-File-Location"]


def uploads_in_progress(database_url: str) -> int:
    with catalogue_session(database_url) as dbsession:
        return dbsession.scalar(select(func.count()).select_from(UploadInProgress))


def listed_ids(server: LiveServer, session: requests.Session) -> list[str]:
    response = session.get(server.url + "/files", headers=JSON, timeout=10)
    assert response.status_code == 200, response.text
    return [file["id"] for file in response.json()["files"]]


def bearer_of(session: requests.Session) -> dict[str, str]:
    """The ``Authorization`` header of a ``token_client`` session."""
    return {"Authorization": session.headers["Authorization"]}


def continue_as(session: requests.Session, method: str, url: str) -> requests.Response:
    if method == "PATCH":
        return patch(session, url, 0, BODY)
    return session.request(method, url, timeout=10)


# -- no credentials ---------------------------------------------------------------------------


def test_creating_without_credentials_is_401_and_keeps_nothing(
    server: LiveServer, database_url: str, temp_path: Path
) -> None:
    headers = {**TUS, **OCTETS, **CREATION}
    response = requests.post(server.url + "/uploads/", data=BODY, headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert uploads_in_progress(database_url) == 0
    assert list(temp_path.glob("tus-*")) == []
    assert stored_files(server.storage_path) == []


def test_a_browser_without_a_session_is_sent_to_the_sign_in_page(server: LiveServer) -> None:
    headers = {**TUS, **CREATION, "Accept": "text/html"}
    response = requests.post(server.url + "/uploads/", headers=headers, allow_redirects=False, timeout=10)
    assert response.status_code == 303
    assert "/signin" in response.headers["Location"]


@pytest.mark.parametrize("method", ["HEAD", "PATCH", "DELETE", "GET"])
def test_continuing_without_credentials_is_401(server: LiveServer, method: str) -> None:
    url = started_by(server, signed_in(server, USER))
    anonymous = requests.Session()
    anonymous.headers.update(TUS)
    assert continue_as(anonymous, method, url).status_code == 401
    assert signed_in(server, USER).head(url, timeout=10).headers["Upload-Offset"] == "0"


def test_options_and_the_cors_preflight_need_no_credentials(server: LiveServer) -> None:
    assert requests.options(server.url + "/uploads/", timeout=10).headers["Tus-Version"] == "1.0.0"
    preflight = {"Origin": ORIGIN, "Access-Control-Request-Method": "PATCH"}
    response = requests.options(server.url + "/uploads/0123456789abcdef", headers=preflight, timeout=10)
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "PATCH" in response.headers["Access-Control-Allow-Methods"]


def test_a_session_without_the_csrf_token_is_refused(server: LiveServer, database_url: str) -> None:
    session = signed_in(server, USER)
    del session.headers["X-CSRF-Token"]
    assert session.post(server.url + "/uploads/", headers=CREATION, timeout=10).status_code == 403
    assert uploads_in_progress(database_url) == 0


# -- tokens -----------------------------------------------------------------------------------


def test_a_token_with_the_upload_scope_uploads_without_any_csrf_token(
    server: LiveServer, token_client: Callable[..., requests.Session]
) -> None:
    file_url = finished_by(server, token_client("upload"))
    assert requests.get(file_url, headers=bearer_of(token_client("read")), timeout=10).content == BODY


@pytest.mark.parametrize(
    ("scopes", "method"),
    [("read delete", "POST"), ("read delete", "PATCH"), ("read delete", "DELETE"), ("delete", "HEAD")],
)
def test_a_token_without_the_scope_is_403(
    server: LiveServer, token_client: Callable[..., requests.Session], database_url: str, scopes: str, method: str
) -> None:
    url = started_by(server, signed_in(server, USER))
    client = token_client(scopes)
    if method == "POST":
        response = client.post(server.url + "/uploads/", headers=CREATION, timeout=10)
    else:
        response = continue_as(client, method, url)
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert uploads_in_progress(database_url) == 1


def test_a_read_token_may_ask_how_far_an_upload_got(
    server: LiveServer, token_client: Callable[..., requests.Session]
) -> None:
    url = started_by(server, token_client("upload"))
    response = token_client("read").head(url, timeout=10)
    assert response.status_code == 200
    assert response.headers["Upload-Offset"] == "0"


# -- owners -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["HEAD", "PATCH", "DELETE", "GET"])
def test_someone_elses_upload_is_404_to_a_session(server: LiveServer, method: str) -> None:
    url = started_by(server, signed_in(server, USER))
    assert continue_as(signed_in(server, OTHER), method, url).status_code == 404
    assert patch(signed_in(server, USER), url, 0, BODY).status_code == 204


@pytest.mark.parametrize("method", ["HEAD", "PATCH", "DELETE", "GET"])
def test_someone_elses_upload_is_404_to_a_token(
    server: LiveServer, token_client: Callable[..., requests.Session], method: str
) -> None:
    url = started_by(server, signed_in(server, USER))
    assert continue_as(token_client("upload read", name=OTHER[0]), method, url).status_code == 404
    assert patch(signed_in(server, USER), url, 0, BODY).status_code == 204


def test_a_file_finished_through_tus_belongs_to_its_uploader(server: LiveServer) -> None:
    file_url = finished_by(server, signed_in(server, USER))
    file_id = file_url.rsplit("/", 1)[1]
    assert listed_ids(server, server.client(USER)) == [file_id]
    assert listed_ids(server, server.client(OTHER)) == []
    assert server.client(OTHER).get(file_url, timeout=10).status_code == 404
    admin = server.client(ADMIN)
    assert listed_ids(server, admin) == [file_id]
    assert admin.get(file_url, timeout=10).content == BODY
