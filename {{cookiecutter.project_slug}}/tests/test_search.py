"""Searching the stored files by name: ``?q=`` on ``GET /files`` and on the page."""

import pytest
import requests

from .helpers import JSON, LiveServer, upload

pytestmark = [pytest.mark.server]


@pytest.fixture
def app_settings(app_settings: dict[str, str]) -> dict[str, str]:
    """Whatever the project's answers: the test files' names and types are accepted."""
    return {**app_settings, "uploads.allowed_extensions": "", "uploads.allowed_types": ""}


def names(server: LiveServer, **params: str) -> list[str]:
    response = requests.get(server.url + "/files", params=params, headers=JSON, timeout=10)
    assert response.status_code == 200, response.text
    return [file["filename"] for file in response.json()["files"]]


def test_a_search_lists_the_names_that_contain_it_ignoring_case(live_server):
    session = live_server.client()
    upload(live_server, session, ("Holiday.txt", b"a"), ("notes.txt", b"b"), ("holiday-2.txt", b"c"))
    assert sorted(names(live_server, q="HOLIDAY")) == ["Holiday.txt", "holiday-2.txt"]


def test_like_wildcards_in_a_search_are_plain_characters(live_server):
    session = live_server.client()
    upload(live_server, session, ("100%_done.txt", b"a"), ("100 done.txt", b"b"))
    assert names(live_server, q="%_") == ["100%_done.txt"]


def test_a_search_is_paged_and_its_next_link_keeps_it(live_server):
    session = live_server.client()
    upload(live_server, session, *[(f"match{number}.txt", b"x") for number in range(3)], ("other.txt", b"y"))
    first = requests.get(live_server.url + "/files", params={"q": "match", "limit": "2"}, headers=JSON, timeout=10)
    assert "q=match" in first.json()["next"]
    second = requests.get(first.json()["next"], headers=JSON, timeout=10).json()
    assert len(first.json()["files"]) + len(second["files"]) == 3
    assert second["next"] is None


def test_a_search_longer_than_200_characters_is_400(live_server):
    response = requests.get(live_server.url + "/files", params={"q": "x" * 201}, headers=JSON, timeout=10)
    assert response.status_code == 400


@pytest.mark.answers  # the search form, in each page language
def test_the_page_searches_and_shows_what_was_searched(live_server):
    session = live_server.client()
    upload(live_server, session, ("findme.txt", b"a"), ("hidden.txt", b"b"))
    page = requests.get(live_server.url + "/", params={"q": "findme"}, timeout=10).text
    assert "findme.txt" in page
    assert "hidden.txt" not in page
    assert 'value="findme"' in page


@pytest.mark.pages  # the empty-list sentence, in each page language
def test_a_search_that_finds_nothing_says_so_rather_than_no_files_yet(live_server):
    session = live_server.client()
    upload(live_server, session, ("kept.txt", b"a"))
    page = requests.get(live_server.url + "/", params={"q": "absent"}, timeout=10).text
    assert "No file name contains this search." in page
    assert "No files yet." not in page
