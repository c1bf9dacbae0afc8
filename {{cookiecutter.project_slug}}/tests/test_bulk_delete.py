"""``POST /files/delete``: several files deleted at once, through real waitress.

The page's "Delete selected" posts the checked rows' ids as a form (it works
without JavaScript); scripts may send JSON. All or nothing: an id that names
no file the requester may delete{% if cookiecutter.access == "accounts" %} (unknown, or someone else's){% endif %} is a 404 and
nothing is deleted, neither records nor bytes.
"""

import pytest
import requests

from .helpers import (
{%- if cookiecutter.access == "accounts" %}
    ACCOUNT,
    CSRF_INPUT,
{%- endif %}
    JSON,
    LiveServer,
{%- if cookiecutter.access == "accounts" %}
    add_account,
    add_token,
    bearer,
{%- endif %}
    list_all,
    stored_files,
    upload,
)

pytestmark = pytest.mark.server

NOBODY_S_ID = "0" * 32  # the form of an id, naming no file


def kept_bytes(server: LiveServer) -> list[bytes]:
    """The stored files' bytes (not their ``.json`` metadata), sorted."""
    return sorted(path.read_bytes() for path in stored_files(server.storage_path) if path.suffix != ".json")


def as_a_form(session: requests.Session) -> str:
    """Make ``session`` send no CSRF header, as a browser without script; the token, for the form."""
    return session.headers.pop("X-CSRF-Token")


def test_the_form_deletes_every_selected_file_and_goes_back_to_the_page(live_server: LiveServer) -> None:
    session = live_server.client()
    a, b, c = upload(live_server, session, ("a.txt", b"alpha"), ("b.txt", b"bravo"), ("c.txt", b"charlie"))
    token = as_a_form(session)
    response = session.post(
        live_server.url + "/files/delete",
        data=[("csrf_token", token), ("id", a["id"]), ("id", c["id"])],
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 303, response.text
    assert response.headers["Location"].endswith("/?deleted=2")
    assert [file["id"] for file in list_all(live_server)] == [b["id"]]
    assert kept_bytes(live_server) == [b"bravo"]


def test_a_script_deletes_with_json_and_gets_the_deleted_ids(live_server: LiveServer) -> None:
    session = live_server.client()
    a, b = upload(live_server, session, ("a.txt", b"alpha"), ("b.txt", b"bravo"))
    response = session.post(
        live_server.url + "/files/delete", json={"ids": [a["id"], b["id"]]}, headers=JSON, timeout=30
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"deleted": [a["id"], b["id"]]}
    assert kept_bytes(live_server) == []


def test_without_the_csrf_token_nothing_is_deleted(live_server: LiveServer) -> None:
    session = live_server.client()
    [kept] = upload(live_server, session, ("kept.txt", b"kept"))
    as_a_form(session)
    response = session.post(live_server.url + "/files/delete", data={"id": kept["id"]}, headers=JSON, timeout=30)
    assert response.status_code == 400
    assert "CSRF" in response.json()["error"]
    assert kept_bytes(live_server) == [b"kept"]


def test_an_unknown_id_among_the_selected_deletes_nothing(live_server: LiveServer) -> None:
    session = live_server.client()
    [kept] = upload(live_server, session, ("kept.txt", b"kept"))
    response = session.post(
        live_server.url + "/files/delete", json={"ids": [kept["id"], NOBODY_S_ID]}, headers=JSON, timeout=30
    )
    assert response.status_code == 404
    assert NOBODY_S_ID in response.json()["error"]
    assert [file["id"] for file in list_all(live_server)] == [kept["id"]]  # its record came back
    assert kept_bytes(live_server) == [b"kept"]


def test_an_empty_selection_is_refused_with_a_reason(live_server: LiveServer) -> None:
    session = live_server.client()
    token = as_a_form(session)
    response = session.post(live_server.url + "/files/delete", data={"csrf_token": token}, headers=JSON, timeout=30)
    assert response.status_code == 400
    assert response.json() == {"error": "No file was selected: select the files to delete first."}


def test_a_body_that_is_neither_a_form_nor_json_is_refused(live_server: LiveServer) -> None:
    session = live_server.client()
    response = session.post(
        live_server.url + "/files/delete", data=b"id=x", headers={**JSON, "Content-Type": "text/plain"}, timeout=30
    )
    assert response.status_code == 400
    assert "as a form" in response.json()["error"]
{%- if cookiecutter.access == "accounts" %}


def test_someone_elses_file_among_the_selected_is_not_found_and_nothing_is_deleted(
    accounts_server: LiveServer, database_url: str
) -> None:
    add_account(database_url, "alice", "alice-password")
    add_account(database_url, "bob", "bob-password")
    alice, bob = accounts_server.client(("alice", "alice-password")), accounts_server.client(("bob", "bob-password"))
    [mine] = upload(accounts_server, alice, ("mine.txt", b"mine"))
    [theirs] = upload(accounts_server, bob, ("theirs.txt", b"theirs"))
    response = alice.post(
        accounts_server.url + "/files/delete", json={"ids": [mine["id"], theirs["id"]]}, headers=JSON, timeout=30
    )
    assert response.status_code == 404
    assert sorted(file["filename"] for file in list_all(accounts_server)) == ["mine.txt", "theirs.txt"]
    assert kept_bytes(accounts_server) == [b"mine", b"theirs"]


@pytest.mark.parametrize(("scopes", "status"), [("delete", 200), ("read upload", 403)], ids=["delete", "no-delete"])
def test_a_token_needs_the_delete_scope_and_no_csrf_token(
    accounts_server: LiveServer, database_url: str, scopes: str, status: int
) -> None:
    [stored] = upload(accounts_server, accounts_server.client(ACCOUNT), ("scoped.txt", b"scoped"))
    token = add_token(database_url, ACCOUNT[0], scopes)
    response = requests.post(
        accounts_server.url + "/files/delete",
        json={"ids": [stored["id"]]},
        headers={**JSON, **bearer(token)},
        timeout=30,
    )
    assert response.status_code == status, response.text
    assert kept_bytes(accounts_server) == ([] if status == 200 else [b"scoped"])


def test_signed_out_nothing_is_deleted(accounts_server: LiveServer) -> None:
    [stored] = upload(accounts_server, accounts_server.client(ACCOUNT), ("kept.txt", b"kept"))
    session = requests.Session()
    page = session.get(accounts_server.url + "/signin", timeout=30)
    token = CSRF_INPUT.search(page.text).group(1)
    response = session.post(
        accounts_server.url + "/files/delete", data={"csrf_token": token, "id": stored["id"]}, headers=JSON, timeout=30
    )
    assert response.status_code in (401, 403)
    assert kept_bytes(accounts_server) == [b"kept"]
{%- endif %}
