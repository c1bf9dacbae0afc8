"""The page or JSON: chosen from ``Accept`` by RFC 9110 section 12.5.1, with real clients' headers.

A client that names JSON above HTML gets JSON everywhere a browser would get
the page (uploads, errors, the list, deletes); browsers, and clients whose
``Accept`` says nothing (``*/*``), get the page.
"""

from collections.abc import Callable

import pytest
import requests

from {{ cookiecutter.project_slug }}.negotiation import preferred_offer

from .bodies import body, content_type, file_part
from .helpers import LiveServer

PAGE, JSON = "text/html", "application/json"
OFFERS = [PAGE, JSON]

AXIOS = "application/json, text/plain, */*"
CHROME = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,"
    "application/signed-exchange;v=b3;q=0.7"
)
FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SAFARI = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
JQUERY_JSON = "application/json, text/javascript, */*; q=0.01"
HTTPIE_JSON = "application/json, */*;q=0.5"

CLIENTS = [
    pytest.param(AXIOS, JSON, id="axios"),
    pytest.param(JQUERY_JSON, JSON, id="jquery-getJSON"),
    pytest.param(HTTPIE_JSON, JSON, id="httpie-json"),
    pytest.param("application/json", JSON, id="json-only"),
    pytest.param("application/json; charset=utf-8", JSON, id="json-with-parameter"),
    pytest.param("application/*", JSON, id="any-application"),
    pytest.param("text/html;q=0, */*", JSON, id="anything-but-html"),
    pytest.param("text/html;q=0.4, application/json;q=0.5", JSON, id="json-by-q-value"),
    pytest.param(CHROME, PAGE, id="chrome"),
    pytest.param(FIREFOX, PAGE, id="firefox"),
    pytest.param(SAFARI, PAGE, id="safari"),
    pytest.param("*/*", PAGE, id="curl-requests-fetch-default"),
    pytest.param(None, PAGE, id="no-header"),
    pytest.param("", PAGE, id="empty-header"),
    pytest.param("text/*", PAGE, id="any-text"),
    pytest.param("application/json;q=0, */*", PAGE, id="anything-but-json"),
    pytest.param("application/json;q=0.5, text/html;q=0.6", PAGE, id="html-by-q-value"),
    pytest.param("application/json, text/html", PAGE, id="equal-and-as-specific-is-the-server-choice"),
    pytest.param("image/png", PAGE, id="neither-acceptable"),
    pytest.param("application/json;q=0, text/html;q=0", PAGE, id="both-refused"),
    pytest.param("application/json;q=2", PAGE, id="invalid-header-ignored"),
]


@pytest.mark.parametrize(("accept", "chosen"), CLIENTS)
def test_preferred_offer_follows_q_values_then_specificity(accept: str | None, chosen: str) -> None:
    assert preferred_offer(accept, OFFERS) == chosen


# -- through real waitress, with axios's header ----------------------------------------------


@pytest.fixture
def server(make_live_server: Callable[..., LiveServer]) -> LiveServer:
    """Accepting the test's text file whatever the project's answers."""
    return make_live_server(allowed_extensions="", allowed_types="", max_size="1MB")


def post_file(server: LiveServer, accept: str, session: requests.Session | None = None) -> requests.Response:
    return (session or server.client()).post(
        server.url + "/files",
        data=body(file_part(b"hello", "a.txt")),
        headers={"Accept": accept, "Content-Type": content_type()},
        allow_redirects=False,
        timeout=30,
    )


@pytest.mark.server
def test_axios_upload_gets_201_json(server: LiveServer) -> None:
    response = post_file(server, AXIOS)
    assert response.status_code == 201
    assert response.json()["files"][0]["filename"] == "a.txt"


@pytest.mark.server
@pytest.mark.parametrize("accept", [CHROME, "*/*"], ids=["chrome", "any"])
def test_browser_or_anything_upload_gets_the_form_redirect(server: LiveServer, accept: str) -> None:
    assert post_file(server, accept).status_code == 303


@pytest.mark.server
def test_axios_refused_upload_gets_a_json_error(server: LiveServer) -> None:
    response = server.client().post(
        server.url + "/files",
        data=body(),
        headers={"Accept": AXIOS, "Content-Type": content_type()},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/json")
    assert "No file" in response.json()["error"]


@pytest.mark.server
def test_axios_not_found_gets_a_json_error(server: LiveServer) -> None:
    response = requests.get(server.url + "/files/" + "0" * 32, headers={"Accept": AXIOS}, timeout=30)
    assert response.status_code == 404
    assert set(response.json()) == {"error"}


@pytest.mark.server
def test_axios_list_gets_json(server: LiveServer) -> None:
    post_file(server, AXIOS)
    response = requests.get(server.url + "/files", headers={"Accept": AXIOS}, allow_redirects=False, timeout=30)
    assert response.status_code == 200
    assert [info["filename"] for info in response.json()["files"]] == ["a.txt"]


@pytest.mark.server
def test_axios_delete_form_gets_204(server: LiveServer) -> None:
    session = server.client()
    file_id = post_file(server, AXIOS, session).json()["files"][0]["id"]
    response = session.post(
        f"{server.url}/files/{file_id}/delete", headers={"Accept": AXIOS}, allow_redirects=False, timeout=30
    )
    assert response.status_code == 204
