"""Who may do what, through real waitress: sessions, API tokens, owners, admins, share links.

Every request here carries only the credentials it sends (``accounts_server``
serves ``anonymous_app``). The sign-in slowdown is tested with the throttle's
clock replaced, never by sleeping.
"""

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from {{ cookiecutter.project_slug }} import accounts
from {{ cookiecutter.project_slug }}.accounts import TOKEN_PREFIX
from {{ cookiecutter.project_slug }}.models import ApiToken, ShareLink, User
from {{ cookiecutter.project_slug }}.throttle import FREE_FAILURES

from .bodies import raw_request
from .helpers import (
    CSRF_INPUT,
    JSON,
    LiveServer,
    add_account,
    add_token,
    bearer,
    catalogue_session,
    sign_in,
    stored_files,
    write_ini,
)

USER = ("alice", "alice-password")
OTHER = ("other", "other-password")
ADMIN = ("admin", "admin-password")
FILE = ("hello.txt", b"hello, world\n")


@pytest.fixture
def server(accounts_server: LiveServer, database_url: str) -> LiveServer:
    """The accounts server, with two users and an admin."""
    add_account(database_url, *USER)
    add_account(database_url, *OTHER)
    add_account(database_url, *ADMIN, admin=True)
    return accounts_server


@pytest.fixture
def token(database_url: str) -> Callable[..., str]:
    """``token("read upload")``: a new token of ``USER``'s with these scopes."""

    def make(scopes: str, *, name: str = USER[0], expires: datetime | None = None) -> str:
        return add_token(database_url, name, scopes, expires=expires)

    return make


def upload_with(server: LiveServer, headers: dict[str, str], *, file: tuple[str, bytes] = FILE) -> requests.Response:
    return requests.post(server.url + "/files", files={"file": file}, headers={**JSON, **headers}, timeout=30)


def uploaded_by(server: LiveServer, account: tuple[str, str]) -> dict:
    """Upload ``FILE`` as ``account`` (a signed-in session); its JSON record."""
    response = server.client(account).post(server.url + "/files", files={"file": FILE}, headers=JSON, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()["files"][0]


def listed_ids(server: LiveServer, session: requests.Session) -> list[str]:
    response = session.get(server.url + "/files", headers=JSON, timeout=10)
    assert response.status_code == 200, response.text
    return [file["id"] for file in response.json()["files"]]


# -- no credentials ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/files"), ("GET", "/files/0123456789abcdef0123456789abcdef"), ("DELETE", "/files/x"), ("POST", "/files")],
)
def test_api_without_credentials_is_401_with_a_bearer_challenge(server: LiveServer, method: str, path: str) -> None:
    response = requests.request(method, server.url + path, headers=JSON, timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "error" in response.json()


def test_browser_without_a_session_is_sent_to_the_sign_in_page(server: LiveServer) -> None:
    response = requests.get(server.url + "/", headers={"Accept": "text/html"}, allow_redirects=False, timeout=10)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/signin?next=%2F")


def test_upload_without_credentials_keeps_nothing(server: LiveServer) -> None:
    assert upload_with(server, {}).status_code == 401
    assert stored_files(server.storage_path) == []


# -- sessions ---------------------------------------------------------------------------------


def test_signed_in_user_uploads_lists_and_downloads(server: LiveServer) -> None:
    session = server.client(USER)
    stored = session.post(server.url + "/files", files={"file": FILE}, headers=JSON, timeout=30).json()["files"][0]
    assert listed_ids(server, session) == [stored["id"]]
    assert session.get(stored["url"], timeout=10).content == FILE[1]


def test_session_upload_without_the_csrf_token_is_refused(server: LiveServer) -> None:
    session = server.client(USER)
    del session.headers["X-CSRF-Token"]
    response = session.post(server.url + "/files", files={"file": FILE}, headers=JSON, timeout=30)
    assert response.status_code == 400
    assert "CSRF" in response.json()["error"]


def test_session_delete_without_the_csrf_token_is_refused(server: LiveServer) -> None:
    stored = uploaded_by(server, USER)
    session = server.client(USER)
    del session.headers["X-CSRF-Token"]
    assert session.delete(stored["url"], headers=JSON, timeout=10).status_code == 400


def test_sign_in_form_without_the_csrf_token_is_refused(server: LiveServer) -> None:
    fields = {"name": USER[0], "password": USER[1]}
    response = requests.post(server.url + "/signin", data=fields, headers=JSON, timeout=10, allow_redirects=False)
    assert response.status_code == 400


@pytest.mark.pages
def test_wrong_password_and_unknown_name_get_the_same_answer(server: LiveServer) -> None:
    wrong_password = sign_in(requests.Session(), server.url, USER[0], "not-the-password")
    unknown_name = sign_in(requests.Session(), server.url, "nobody-by-this-name", "not-the-password")
    assert wrong_password.status_code == unknown_name.status_code == 400
    assert "Wrong name or password" in wrong_password.text
    assert "Wrong name or password" in unknown_name.text


def test_disabled_account_cannot_sign_in(server: LiveServer, database_url: str) -> None:
    with catalogue_session(database_url) as dbsession, dbsession.begin():
        accounts.find_user(dbsession, OTHER[0]).disabled = True
    assert sign_in(requests.Session(), server.url, *OTHER).status_code == 400


def test_sign_out_ends_the_session(server: LiveServer) -> None:
    session = server.client(USER)
    response = session.post(server.url + "/signout", data={"csrf_token": session.headers["X-CSRF-Token"]}, timeout=10)
    assert response.url.endswith("/signin")
    assert session.get(server.url + "/files", headers=JSON, timeout=10).status_code == 401


def test_tampered_session_cookie_is_treated_as_no_session(server: LiveServer) -> None:
    session = server.client(USER)
    value = session.cookies["session"]
    session.cookies.set("session", value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB"))
    assert session.get(server.url + "/files", headers=JSON, timeout=10).status_code == 401


def test_session_cookie_that_is_not_base64_is_treated_as_no_session(server: LiveServer) -> None:
    session = requests.Session()
    session.cookies.set("session", "%%%not-base64!!!")
    assert session.get(server.url + "/files", headers=JSON, timeout=10).status_code == 401


def test_non_utf8_session_cookie_is_treated_as_no_session(server: LiveServer) -> None:
    answer = raw_request(
        server.url,
        b"GET /files HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
        b"Cookie: session=\xff\xfe\xc3\x28\r\nConnection: close\r\n\r\n",
    )
    assert answer.status == 401
    assert "error" in json.loads(answer.body)


def test_non_utf8_sign_in_form_is_400_with_the_reason(server: LiveServer) -> None:
    session = requests.Session()
    token = CSRF_INPUT.search(session.get(server.url + "/signin", timeout=10).text).group(1)
    body = f"csrf_token={token}&name=alice&password=".encode() + b"\xff\xfe"
    response = session.post(
        server.url + "/signin", data=body, timeout=10,
        headers={**JSON, "Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "UTF-8" in response.json()["error"]


@pytest.mark.parametrize(("name", "password"), [("n" * 65, "x" * 8), (USER[0], "p" * 1025)])
def test_over_long_name_or_password_is_400_json_for_a_json_client(server: LiveServer, name: str, password: str) -> None:
    session = requests.Session()
    token = CSRF_INPUT.search(session.get(server.url + "/signin", timeout=10).text).group(1)
    fields = {"csrf_token": token, "name": name, "password": password}
    response = session.post(server.url + "/signin", data=fields, headers=JSON, timeout=10)
    assert response.status_code == 400
    assert response.json() == {"error": "The name or the password is too long."}


def test_over_long_token_label_on_the_account_page_is_400_with_the_reason(server: LiveServer) -> None:
    session = server.client(USER)
    fields = {"csrf_token": session.headers["X-CSRF-Token"], "label": "L" * 101, "scope": ["read"]}
    response = session.post(server.url + "/account/tokens", data=fields, headers=JSON, timeout=10)
    assert response.status_code == 400
    assert "label" in response.json()["error"]


def test_sign_in_redirects_only_to_a_path_on_this_site(server: LiveServer) -> None:
    session = requests.Session()
    token = CSRF_INPUT.search(session.get(server.url + "/signin", timeout=10).text).group(1)
    fields = {"csrf_token": token, "name": USER[0], "password": USER[1], "next": "//evil.example/"}
    response = session.post(server.url + "/signin", data=fields, allow_redirects=False, timeout=10)
    assert response.status_code == 303
    assert response.headers["Location"] == server.url + "/"


@pytest.mark.parametrize(("name", "password"), [("n" * 10_000, "x"), (USER[0], "p" * 100_000)])
def test_over_long_name_or_password_is_a_clear_4xx(server: LiveServer, name: str, password: str) -> None:
    response = sign_in(requests.Session(), server.url, name, password)
    assert 400 <= response.status_code < 500
    assert "too long" in response.text or "larger than it can be" in response.text


# -- the sign-in slowdown ---------------------------------------------------------------------


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failed_sign_ins_are_slowed_down_per_account(server: LiveServer, anonymous_app: object) -> None:
    clock = Clock()
    anonymous_app.registry["signin_throttle"].clock = clock
    for _ in range(FREE_FAILURES):
        assert sign_in(requests.Session(), server.url, USER[0], "wrong-password").status_code == 400
    refused = sign_in(requests.Session(), server.url, *USER)  # even the right password must wait
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    clock.now += int(refused.headers["Retry-After"])
    assert sign_in(requests.Session(), server.url, *USER).status_code == 200


def test_the_slowdown_doubles_with_each_further_failure(server: LiveServer, anonymous_app: object) -> None:
    clock = Clock()
    anonymous_app.registry["signin_throttle"].clock = clock
    waits = []
    for _ in range(FREE_FAILURES + 3):
        response = sign_in(requests.Session(), server.url, OTHER[0], "wrong-password")
        if response.status_code == 429:
            waits.append(int(response.headers["Retry-After"]))
            clock.now += waits[-1]
            sign_in(requests.Session(), server.url, OTHER[0], "wrong-password")
    assert waits == sorted(waits) and waits[-1] > waits[0]


def test_many_names_from_one_address_are_slowed_down(server: LiveServer, anonymous_app: object) -> None:
    anonymous_app.registry["signin_throttle"].clock = Clock()
    for number in range(FREE_FAILURES):
        sign_in(requests.Session(), server.url, f"guess{number}", "wrong-password")
    assert sign_in(requests.Session(), server.url, "another-guess", "wrong-password").status_code == 429


# -- API tokens -------------------------------------------------------------------------------


def test_token_uploads_without_any_csrf_token(server: LiveServer, token: Callable[..., str]) -> None:
    response = upload_with(server, bearer(token("upload")))
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("scope", "method", "path"),
    [("read", "GET", "/files"), ("upload", "POST", "/files"), ("delete", "DELETE", "/files/{id}")],
)
def test_token_without_the_scope_is_403(
    server: LiveServer, token: Callable[..., str], scope: str, method: str, path: str
) -> None:
    stored = uploaded_by(server, USER)
    others = " ".join(name for name in ("read", "upload", "delete") if name != scope)
    kwargs = {"files": {"file": FILE}} if method == "POST" else {}
    url = server.url + path.format(id=stored["id"])
    response = requests.request(method, url, headers={**JSON, **bearer(token(others))}, timeout=10, **kwargs)
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_token_with_each_scope_does_its_part(server: LiveServer, token: Callable[..., str]) -> None:
    stored = upload_with(server, bearer(token("upload"))).json()["files"][0]
    reader = {**JSON, **bearer(token("read"))}
    assert [file["id"] for file in requests.get(server.url + "/files", headers=reader, timeout=10).json()["files"]] == [
        stored["id"]
    ]
    assert requests.get(stored["url"], headers=bearer(token("read")), timeout=10).content == FILE[1]
    assert requests.delete(stored["url"], headers=bearer(token("delete")), timeout=10).status_code == 204


def test_expired_token_is_401_invalid_token(server: LiveServer, token: Callable[..., str]) -> None:
    expired = token("read", expires=datetime.now(UTC) - timedelta(seconds=1))
    response = requests.get(server.url + "/files", headers={**JSON, **bearer(expired)}, timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert "error" in response.json()


def test_revoked_token_is_401(server: LiveServer, token: Callable[..., str], database_url: str) -> None:
    secret = token("read")
    with catalogue_session(database_url) as dbsession, dbsession.begin():
        dbsession.query(ApiToken).filter_by(token_sha256=accounts.digest(secret)).one().revoked = accounts.now()
    assert requests.get(server.url + "/files", headers={**JSON, **bearer(secret)}, timeout=10).status_code == 401


def test_token_with_a_wrong_prefix_is_401(server: LiveServer, token: Callable[..., str]) -> None:
    secret = token("read")
    wrong = "xyz_" + secret.removeprefix(TOKEN_PREFIX)
    assert requests.get(server.url + "/files", headers={**JSON, **bearer(wrong)}, timeout=10).status_code == 401


def test_non_utf8_authorization_header_is_401_not_500(server: LiveServer) -> None:
    answer = raw_request(
        server.url,
        b"GET /files HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
        b"Authorization: Bearer upl_\xff\xfe\xc3\x28\r\nConnection: close\r\n\r\n",
    )
    assert answer.status == 401
    assert "error" in json.loads(answer.body)


def test_over_long_bearer_token_is_401(server: LiveServer) -> None:
    response = requests.get(server.url + "/files", headers={**JSON, **bearer(TOKEN_PREFIX + "A" * 20_000)}, timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_basic_authorization_is_401_invalid_request(server: LiveServer) -> None:
    response = requests.get(server.url + "/files", headers=JSON, auth=USER, timeout=10)
    assert response.status_code == 401
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]


@pytest.mark.pages
def test_token_made_on_the_account_page_is_shown_once_and_works(server: LiveServer) -> None:
    session = server.client(USER)
    fields = {"csrf_token": session.headers["X-CSRF-Token"], "label": "laptop", "scope": ["read", "upload"]}
    page = session.post(server.url + "/account/tokens", data=fields, timeout=10)
    assert page.status_code == 201
    secret = page.text.split('id="new-token" class="secret">')[1].split("<")[0]
    assert secret.startswith(TOKEN_PREFIX)
    assert upload_with(server, bearer(secret)).status_code == 201
    assert secret not in session.get(server.url + "/account", timeout=10).text


def test_token_cannot_manage_tokens(server: LiveServer, token: Callable[..., str]) -> None:
    response = requests.get(server.url + "/account", headers=bearer(token("read upload delete")), timeout=10)
    assert response.status_code == 403


# -- owners and admins ------------------------------------------------------------------------


def test_users_list_only_their_own_files(server: LiveServer) -> None:
    mine, theirs = uploaded_by(server, USER), uploaded_by(server, OTHER)
    assert listed_ids(server, server.client(USER)) == [mine["id"]]
    assert listed_ids(server, server.client(OTHER)) == [theirs["id"]]


def test_someone_elses_file_is_404_to_download_and_delete(server: LiveServer) -> None:
    theirs = uploaded_by(server, OTHER)
    session = server.client(USER)
    assert session.get(theirs["url"], timeout=10).status_code == 404
    assert session.delete(theirs["url"], headers=JSON, timeout=10).status_code == 404
    assert server.client(OTHER).get(theirs["url"], timeout=10).status_code == 200


def test_someone_elses_file_is_404_to_a_token(server: LiveServer, token: Callable[..., str]) -> None:
    theirs = uploaded_by(server, OTHER)
    assert requests.get(theirs["url"], headers=bearer(token("read")), timeout=10).status_code == 404


def test_admin_sees_downloads_and_deletes_every_file(server: LiveServer) -> None:
    mine, theirs = uploaded_by(server, USER), uploaded_by(server, OTHER)
    admin = server.client(ADMIN)
    assert set(listed_ids(server, admin)) == {mine["id"], theirs["id"]}
    assert admin.get(theirs["url"], timeout=10).content == FILE[1]
    assert admin.delete(theirs["url"], headers=JSON, timeout=10).status_code == 204


@pytest.mark.pages
def test_the_page_shows_only_your_files(server: LiveServer) -> None:
    uploaded_by(server, OTHER)
    page = server.client(USER).get(server.url + "/", timeout=10).text
    assert "No files yet." in page and 'class="file"' not in page


# -- share links ------------------------------------------------------------------------------


def share(server: LiveServer, session: requests.Session, file_id: str, **fields: str) -> requests.Response:
    data = {"csrf_token": session.headers["X-CSRF-Token"], **fields}
    return session.post(f"{server.url}/files/{file_id}/share", data=data, headers=JSON, timeout=10)


def test_share_link_downloads_without_signing_in_with_the_safe_headers(server: LiveServer) -> None:
    stored = uploaded_by(server, USER)
    link = share(server, server.client(USER), stored["id"]).json()
    response = requests.get(link["url"], timeout=10)
    assert response.content == FILE[1]
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]


@pytest.mark.pages
def test_revoked_share_link_is_404(server: LiveServer) -> None:
    session = server.client(USER)
    link = share(server, session, uploaded_by(server, USER)["id"]).json()
    revoke = session.post(
        f"{server.url}/account/links/{link['id']}/revoke", data={"csrf_token": session.headers["X-CSRF-Token"]}
    )
    assert revoke.status_code == 200  # the account page, after the redirect
    assert requests.get(link["url"], timeout=10).status_code == 404


def test_expired_share_link_is_404(server: LiveServer, database_url: str) -> None:
    link = share(server, server.client(USER), uploaded_by(server, USER)["id"], expires_days="1").json()
    with catalogue_session(database_url) as dbsession, dbsession.begin():
        dbsession.get(ShareLink, link["id"]).expires = datetime.now(UTC) - timedelta(seconds=1)
    assert requests.get(link["url"], timeout=10).status_code == 404


def test_made_up_share_link_is_404(server: LiveServer) -> None:
    assert requests.get(server.url + "/s/" + "A" * 43, timeout=10).status_code == 404


def test_nobody_shares_someone_elses_file(server: LiveServer) -> None:
    theirs = uploaded_by(server, OTHER)
    assert share(server, server.client(USER), theirs["id"]).status_code == 404


# -- the users command ------------------------------------------------------------------------


def users_command(ini: Path, *arguments: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("{{ cookiecutter.project_slug }}-users")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "{{ cookiecutter.project_slug }}.users"]
    return subprocess.run([*command, str(ini), *arguments], capture_output=True, text=True, timeout=60, check=False)


def test_users_command_adds_an_account_that_can_sign_in(server: LiveServer, database_url: str, tmp_path: Path) -> None:
    ini = write_ini(tmp_path / "users.ini", database_url)
    added = users_command(ini, "add", "carol", "--generate")
    assert added.returncode == 0, added.stderr
    password = added.stdout.split("password (shown once): ")[1].strip()
    assert sign_in(requests.Session(), server.url, "carol", password).status_code == 200


def test_users_command_token_uploads_with_curl_in_one_line(
    server: LiveServer, database_url: str, tmp_path: Path
) -> None:
    ini = write_ini(tmp_path / "users.ini", database_url)
    made = users_command(ini, "token", USER[0], "--label", "curl", "--scope", "upload")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.split()[-1]
    (tmp_path / "notes.txt").write_bytes(b"notes\n")
    curl = subprocess.run(
        ["curl", "-sS", "-H", f"Authorization: Bearer {secret}", "-H", "Accept: application/json",
         "-F", "file=@notes.txt", server.url + "/files"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert curl.returncode == 0, curl.stderr
    assert json.loads(curl.stdout)["files"][0]["filename"] == "notes.txt"


def test_users_command_revoke_stops_the_token(server: LiveServer, database_url: str, tmp_path: Path) -> None:
    ini = write_ini(tmp_path / "users.ini", database_url)
    made = users_command(ini, "token", USER[0], "--label", "once", "--scope", "read")
    token_id, secret = made.stdout.split()[1], made.stdout.split()[-1]
    assert users_command(ini, "revoke", token_id).returncode == 0
    assert requests.get(server.url + "/files", headers={**JSON, **bearer(secret)}, timeout=10).status_code == 401


def test_users_command_refuses_an_over_long_name_in_one_line(database_url: str, tmp_path: Path) -> None:
    refused = users_command(write_ini(tmp_path / "users.ini", database_url), "add", "n" * 65, "--generate")
    assert refused.returncode == 1
    assert "A user name is 1 to 64" in refused.stderr and "Traceback" not in refused.stderr


def test_users_command_refuses_a_taken_name(server: LiveServer, database_url: str, tmp_path: Path) -> None:
    ini = write_ini(tmp_path / "users.ini", database_url)
    refused = users_command(ini, "add", USER[0], "--generate")
    assert refused.returncode == 1
    assert "already an account" in refused.stderr


# -- a new password or a disabled account ends sessions -----------------------------------------
# The users command's reset and disable, then the same changes made directly (as a page would).


def signed_in(server: LiveServer, session: requests.Session) -> bool:
    """Whether ``session``'s cookie still signs it in (the JSON listing answers 200, not 401)."""
    status = session.get(server.url + "/files", headers=JSON, timeout=10).status_code
    assert status in (200, 401), status
    return status == 200


def change_account(database_url: str, name: str, change: Callable[[User], None]) -> None:
    with catalogue_session(database_url) as dbsession, dbsession.begin():
        change(accounts.find_user(dbsession, name))


def test_users_command_reset_signs_the_accounts_sessions_out(
    server: LiveServer, database_url: str, tmp_path: Path
) -> None:
    before = server.client(USER)
    reset = users_command(write_ini(tmp_path / "users.ini", database_url), "reset", USER[0], "--generate")
    assert reset.returncode == 0, reset.stderr
    assert not signed_in(server, before)
    password = reset.stdout.split("Password (shown once): ")[1].strip()
    assert signed_in(server, server.client((USER[0], password)))


def test_users_command_disable_signs_out_and_stops_the_accounts_tokens(
    server: LiveServer, database_url: str, tmp_path: Path, token: Callable[..., str]
) -> None:
    before, secret = server.client(USER), token("read")
    assert users_command(write_ini(tmp_path / "users.ini", database_url), "disable", USER[0]).returncode == 0
    assert not signed_in(server, before)
    assert requests.get(server.url + "/files", headers={**JSON, **bearer(secret)}, timeout=10).status_code == 401


def test_a_new_password_leaves_other_accounts_signed_in(server: LiveServer, database_url: str) -> None:
    mine, others = server.client(USER), server.client(OTHER)
    change_account(database_url, USER[0], lambda user: accounts.set_password(user, "a-new-password"))
    assert not signed_in(server, mine)
    assert signed_in(server, others)


def test_a_new_password_keeps_the_accounts_api_tokens(
    server: LiveServer, database_url: str, token: Callable[..., str]
) -> None:
    secret = token("read")
    change_account(database_url, USER[0], lambda user: accounts.set_password(user, "a-new-password"))
    assert requests.get(server.url + "/files", headers={**JSON, **bearer(secret)}, timeout=10).status_code == 200


def test_disabling_leaves_other_accounts_signed_in(server: LiveServer, database_url: str) -> None:
    others = server.client(OTHER)
    change_account(database_url, USER[0], lambda user: accounts.set_disabled(user, True))
    assert signed_in(server, others)


def test_enabling_again_does_not_bring_back_the_ended_sessions(server: LiveServer, database_url: str) -> None:
    before = server.client(USER)
    change_account(database_url, USER[0], lambda user: accounts.set_disabled(user, True))
    change_account(database_url, USER[0], lambda user: accounts.set_disabled(user, False))
    assert not signed_in(server, before)
    assert signed_in(server, server.client(USER))


def test_an_ended_session_sends_the_browser_to_sign_in(server: LiveServer, database_url: str) -> None:
    before = server.client(USER)
    change_account(database_url, USER[0], lambda user: accounts.set_password(user, "a-new-password"))
    page = before.get(server.url + "/", headers={"Accept": "text/html"}, allow_redirects=False, timeout=10)
    assert page.status_code == 303
    assert "/signin?next=" in page.headers["Location"]
