"""Page states that only the pages show, in the project's template language: paging links{% if cookiecutter.access == "accounts" %}, the account page{% endif %}.

Marked ``pages`` (their outcome depends on the template language): the
template runs them in a bake of every language. Each test renders one
state of a page template's logic that the other ``pages`` tests do not
(the home page's other states are in test_functional.py and
test_sniffing.py{% if cookiecutter.access == "accounts" %}, the sign-in page's in test_accounts.py{% endif %}).
"""

import re

import pytest
import requests

from .helpers import LiveServer, upload

pytestmark = [pytest.mark.pages, pytest.mark.server]

PAGE_SIZE = 50  # files on one page (``catalogue.page``'s default)
OLDER_LINK = re.compile(r'<a href="([^"]+)" rel="next">Older files</a>')
NEWEST_LINK = re.compile(r'<a href="([^"]+)">Newest files</a>')


@pytest.fixture
def app_settings(app_settings: dict[str, str]) -> dict[str, str]:
    """Whatever the project's answers: the test files' names are accepted."""
    return {**app_settings, "uploads.allowed_extensions": "", "uploads.allowed_types": ""}


def test_the_page_links_older_files_and_back_to_the_newest(live_server: LiveServer) -> None:
    session = live_server.client()
    names = [f"file-{number:02}.txt" for number in range(PAGE_SIZE + 1)]  # the oldest first
    for start in range(0, len(names), 20):
        upload(live_server, session, *[(name, b"x") for name in names[start : start + 20]])
    first = requests.get(live_server.url + "/", timeout=30).text
    assert names[0] not in first and names[-1] in first
    assert NEWEST_LINK.search(first) is None
    older = requests.get(live_server.url + OLDER_LINK.search(first).group(1).replace("&amp;", "&"), timeout=30).text
    assert names[0] in older and names[-1] not in older
    assert OLDER_LINK.search(older) is None
    assert NEWEST_LINK.search(older).group(1) == "/"
{%- if cookiecutter.access == "accounts" %}


# -- the account page ---------------------------------------------------------------------------


def account_form(session: requests.Session, **fields: object) -> dict[str, object]:
    return {"csrf_token": session.headers["X-CSRF-Token"], **fields}


def test_the_account_page_shows_a_new_share_link_once(live_server: LiveServer) -> None:
    session = live_server.client()
    (stored,) = upload(live_server, session, ("shared.txt", b"shared\n"))
    page = session.post(f"{live_server.url}/files/{stored['id']}/share", data=account_form(session), timeout=10)
    assert page.status_code == 201
    link = re.search(r'<code id="new-link" class="secret">([^<]+)</code>', page.text).group(1)
    assert requests.get(link, timeout=10).content == b"shared\n"
    again = session.get(live_server.url + "/account", timeout=10).text
    assert link not in again
    assert "shared.txt" in again  # listed, with a button that revokes it


def test_the_account_page_marks_a_revoked_token_and_offers_no_button_for_it(live_server: LiveServer) -> None:
    session = live_server.client()
    made = session.post(
        live_server.url + "/account/tokens", data=account_form(session, label="old laptop", scope="read"), timeout=10
    )
    revoke_url = re.search(r'action="(/account/tokens/[0-9a-f]+/revoke)"', made.text).group(1)
    page = session.post(live_server.url + revoke_url, data=account_form(session), timeout=10)
    assert page.status_code == 200  # the account page, after the redirect
    assert re.search(r"old laptop · read · [^<]*revoked \d{4}-\d\d-\d\d", page.text)
    assert revoke_url not in page.text


def test_the_account_page_shows_why_a_token_was_refused(live_server: LiveServer) -> None:
    session = live_server.client()
    page = session.post(live_server.url + "/account/tokens", data=account_form(session, label="no scopes"), timeout=10)
    assert page.status_code == 400
    assert re.search(r'role="alert">Scopes are one or more of read, upload, delete\.<', page.text)
{%- endif %}
