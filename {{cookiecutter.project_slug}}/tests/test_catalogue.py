"""The catalogue through real HTTP, on SQLite and on PostgreSQL: paged listings, the page, records.

``GET /files`` answers ``{"files": [...], "next": URL or null}``, newest
first, ``?limit=`` 1 to 500 (default 50), and an opaque keyset cursor that
stays right while files come and go. ``GET /`` shows 50 files, the totals,
and a link to older ones.
"""

import base64
import hashlib
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from .helpers import BOTH_DATABASES, JSON, LiveServer, list_all, on_both_backends, upload

pytestmark = pytest.mark.parametrize("database_url", BOTH_DATABASES, indirect=True)

ROW = re.compile(r'<tr class="file" data-id="([0-9a-f]{32})"')
TOTALS = re.compile(r'id="file-totals" class="totals" data-count="(?P<count>\d+)" data-size="(?P<size>\d+)"')
OLDER_LINK = re.compile(r'<a href="(/\?cursor=[^"]+)" rel="next">')


@pytest.fixture
def server(live_server: LiveServer) -> LiveServer:
    return live_server


@pytest.fixture
def session(server: LiveServer) -> requests.Session:
    return server.client()


def upload_many(server: LiveServer, session: requests.Session, count: int) -> list[str]:
    """Upload ``count`` small files, 20 to a request; their ids, oldest first."""
    ids: list[str] = []
    for start in range(0, count, 20):
        files = [(f"f{n}.txt", f"file {n}".encode()) for n in range(start, min(count, start + 20))]
        ids += [info["id"] for info in upload(server, session, *files)]
    return ids


# -- GET /files ---------------------------------------------------------------------------


@on_both_backends
def test_listing_is_newest_first_and_ends_with_next_null(server: LiveServer, session: requests.Session) -> None:
    ids = [upload(server, session, (f"{n}.txt", b"x"))[0]["id"] for n in range(3)]
    answer = requests.get(server.url + "/files", headers=JSON, timeout=30).json()
    assert [info["id"] for info in answer["files"]] == list(reversed(ids))
    assert answer["next"] is None


def test_empty_catalogue_lists_nothing(server: LiveServer) -> None:
    assert requests.get(server.url + "/files", headers=JSON, timeout=30).json() == {"files": [], "next": None}


@on_both_backends
def test_following_next_reaches_every_file_once_in_order(server: LiveServer, session: requests.Session) -> None:
    ids = upload_many(server, session, 7)
    assert [info["id"] for info in list_all(server, limit=2)] == list(reversed(ids))


def test_next_keeps_the_limit_and_is_an_absolute_url(server: LiveServer, session: requests.Session) -> None:
    upload_many(server, session, 3)
    answer = requests.get(server.url + "/files?limit=2", headers=JSON, timeout=30).json()
    assert len(answer["files"]) == 2
    assert answer["next"].startswith(server.url + "/files?")
    assert "limit=2" in answer["next"]


def test_default_page_is_50_files(server: LiveServer, session: requests.Session) -> None:
    upload_many(server, session, 51)
    answer = requests.get(server.url + "/files", headers=JSON, timeout=30).json()
    assert len(answer["files"]) == 50
    assert answer["next"] is not None
    assert len(requests.get(answer["next"], headers=JSON, timeout=30).json()["files"]) == 1


@pytest.mark.parametrize("limit", ["0", "501", "-1", "abc", "1.5", "", " 5", "\uff11"])
def test_limit_out_of_range_or_not_a_number_is_400_with_a_message(server: LiveServer, limit: str) -> None:
    response = requests.get(server.url + "/files", params={"limit": limit}, headers=JSON, timeout=30)
    assert response.status_code == 400
    assert response.json() == {"error": "limit must be a whole number from 1 to 500."}


def test_limit_500_is_accepted(server: LiveServer) -> None:
    response = requests.get(server.url + "/files?limit=500", headers=JSON, timeout=30)
    assert response.status_code == 200


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


BAD_CURSORS = [
    "",
    "x",
    "!!!!",
    "%00",
    "é",
    b64("1700000000000000"),
    b64("1700000000000000." + "g" * 32),
    b64("1700000000000000." + "a" * 31),
    b64("-5." + "a" * 32),
    b64("9" * 30 + "." + "a" * 32),
    b64("9" * 19 + "." + "a" * 32),  # well-formed, but past any date Python can hold
    b64("1700000000000000." + "a" * 32) + "====",
    "A" * 5000,
]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_malformed_or_tampered_cursor_is_400_never_500(server: LiveServer, cursor: str) -> None:
    response = requests.get(server.url + "/files", params={"cursor": cursor}, headers=JSON, timeout=30)
    assert response.status_code == 400
    assert "cursor" in response.json()["error"]


@pytest.mark.parametrize("cursor", BAD_CURSORS[:4])
def test_malformed_cursor_on_the_page_is_400_with_the_page(server: LiveServer, cursor: str) -> None:
    response = requests.get(server.url + "/", params={"cursor": cursor}, timeout=30)
    assert response.status_code == 400
    assert "cursor" in response.text
    assert 'id="upload-form"' in response.text


def test_a_well_formed_made_up_cursor_just_names_a_position(server: LiveServer, session: requests.Session) -> None:
    """The cursor is not signed: one a client makes up can only name a place in the listing."""
    ids = upload_many(server, session, 2)
    far_future = b64(f"{10**17}.{'f' * 32}")  # the year 5138
    answer = requests.get(server.url + "/files", params={"cursor": far_future}, headers=JSON, timeout=30).json()
    assert [info["id"] for info in answer["files"]] == list(reversed(ids))


@on_both_backends
def test_paging_is_stable_while_files_are_added_and_deleted(server: LiveServer, session: requests.Session) -> None:
    ids = list(reversed(upload_many(server, session, 9)))  # newest first
    first = requests.get(server.url + "/files?limit=3", headers=JSON, timeout=30).json()
    assert [info["id"] for info in first["files"]] == ids[:3]
    # Meanwhile: two new files, one listed file deleted, one not yet reached deleted.
    upload_many(server, session, 2)
    for gone in (ids[1], ids[5]):
        assert session.delete(f"{server.url}/files/{gone}", timeout=30).status_code == 204
    rest: list[str] = []
    url = first["next"]
    while url is not None:
        answer = requests.get(url, headers=JSON, timeout=30).json()
        rest += [info["id"] for info in answer["files"]]
        url = answer["next"]
    assert rest == [file_id for file_id in ids[3:] if file_id != ids[5]]


# -- GET / --------------------------------------------------------------------------------


def test_page_shows_the_count_and_total_size(server: LiveServer, session: requests.Session) -> None:
    upload(server, session, ("a.bin", b"a" * 1000), ("b.bin", b"b" * 24))
    page = requests.get(server.url + "/", timeout=30).text
    assert re.search(r'id="file-totals"[^>]*>2 files, 1(\.0)? ?KiB in all<', page), page


def test_page_shows_50_files_and_links_to_older_ones_until_every_file_was_shown_once(
    server: LiveServer, session: requests.Session
) -> None:
    ids = upload_many(server, session, 120)
    shown: list[str] = []
    path: str | None = "/"
    pages = 0
    while path is not None:
        page = requests.get(server.url + path.replace("&amp;", "&"), timeout=30).text
        rows = ROW.findall(page)
        assert len(rows) <= 50
        shown += rows
        pages += 1
        older = OLDER_LINK.search(page)
        path = older.group(1) if older else None
    assert pages == 3
    assert shown == list(reversed(ids))


def test_page_has_no_older_link_when_everything_fits(server: LiveServer, session: requests.Session) -> None:
    upload_many(server, session, 3)
    page = requests.get(server.url + "/", timeout=30).text
    assert len(ROW.findall(page)) == 3
    assert OLDER_LINK.search(page) is None


# -- records ------------------------------------------------------------------------------


@on_both_backends
def test_the_record_holds_what_the_upload_path_counted_and_hashed(
    server: LiveServer, session: requests.Session
) -> None:
    data = bytes(range(256)) * 1000
    (info,) = upload(server, session, ("data.bin", data))
    assert info["size"] == len(data)
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    assert info["created"].endswith("+00:00")
    assert requests.get(info["url"], timeout=30).content == data


@on_both_backends
def test_sixteen_clients_uploading_and_deleting_lose_nothing_and_list_each_file_once(
    server: LiveServer, make_session: Callable[[], requests.Session]
) -> None:
    clients = 16

    def client(number: int) -> tuple[dict[str, bytes], list[int]]:
        session = make_session()
        kept: dict[str, bytes] = {}
        statuses: list[int] = []
        for round_ in range(3):
            files = [(f"c{number}-{round_}-{n}.bin", f"{number}/{round_}/{n}".encode() * 500) for n in range(2)]
            response = session.post(server.url + "/files", files=[("file", f) for f in files], headers=JSON, timeout=60)
            statuses.append(response.status_code)
            if response.status_code != 201:
                assert "locked" not in response.text
                continue
            stored = response.json()["files"]
            kept.update({info["id"]: data for info, (_, data) in zip(stored, files, strict=True)})
            doomed = stored[0]["id"]
            deleted = session.delete(f"{server.url}/files/{doomed}", timeout=60)
            statuses.append(deleted.status_code)
            if deleted.status_code == 204:
                del kept[doomed]
        return kept, statuses

    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(client, range(clients)))
    statuses = [status for _, codes in results for status in codes]
    assert set(statuses) <= {201, 204}, statuses
    kept = {file_id: data for files, _ in results for file_id, data in files.items()}
    assert len(kept) == clients * 3
    listed = [info["id"] for info in list_all(server, limit=7)]
    assert sorted(listed) == sorted(kept)  # each acknowledged upload exactly once
    for file_id, data in kept.items():
        assert requests.get(f"{server.url}/files/{file_id}", timeout=30).content == data
    totals = TOTALS.search(requests.get(server.url + "/", timeout=30).text)
    assert (int(totals["count"]), int(totals["size"])) == (len(kept), sum(map(len, kept.values())))


@pytest.fixture
def make_session(server: LiveServer) -> Callable[[], requests.Session]:
    return server.client
