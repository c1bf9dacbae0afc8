"""The HTTP contract, end to end through the WSGI app (WebTest): page, upload, list, download, delete, errors."""

import hashlib
import io
import json
import re
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import webob
import webob.request
import webtest

from {{ cookiecutter.project_slug }} import main, receiving
from {{ cookiecutter.project_slug }}.storage import KEY_PATTERN
from {{ cookiecutter.project_slug }}.storage.local import LocalStorage

from .helpers import {% if cookiecutter.access == "accounts" %}ACCOUNT, {% endif %}CSRF_INPUT, PROJECT, TESTING_INI, {% if cookiecutter.access == "accounts" %}SignedIn, {% endif %}on_both_backends, stored_files

JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
BOUNDARY = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64


# -- helpers ------------------------------------------------------------------------


def form_data(*parts: tuple, boundary: str = BOUNDARY) -> tuple[str, bytes]:
    """A multipart/form-data body: ``(name, value)`` fields and ``(name, filename, bytes)`` files."""
    body = bytearray()
    for part in parts:
        body += f"--{boundary}\r\n".encode()
        if len(part) == 2:
            name, value = part
            body += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            body += value.encode() if isinstance(value, str) else value
        else:
            name, filename, data = part[:3]
            content_type = part[3] if len(part) > 3 else "application/octet-stream"
            body += f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'.encode()
            body += f"Content-Type: {content_type}\r\n\r\n".encode()
            body += data
        body += b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", bytes(body)


def raw_post(
    testapp: webtest.TestApp,
    content_type: str,
    body: bytes,
    headers: dict[str, str] | None = None,
    status: int | str = "*",
    url: str = "/files",
) -> webtest.TestResponse:
    """POST ``body`` as it is (``TestApp.post`` would re-encode a multipart body)."""
    return testapp.request(
        url,
        method="POST",
        body=body,
        content_type=content_type,
        headers=JSON if headers is None else headers,
        status=status,
    )


def post_files(
    testapp: webtest.TestApp,
    token: str | None,
    *files: tuple,
    headers: dict[str, str] | None = None,
    status: int | str = "*",
) -> webtest.TestResponse:
    """POST ``files`` to /files with the CSRF token as the first form field."""
    parts = ((("csrf_token", token),) if token is not None else ()) + files
    content_type, body = form_data(*parts)
    return raw_post(testapp, content_type, body, headers, status)


def upload_one(testapp: webtest.TestApp, token: str, data: bytes, filename: str = "song.mp3") -> dict:
    return post_files(testapp, token, ("file", filename, data), status=201).json["files"][0]


def temp_entries(temp_path: Path) -> list[Path]:
    return sorted(temp_path.iterdir()) if temp_path.exists() else []


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list["Node"] = field(default_factory=list)
    text: str = ""

    def walk(self) -> Iterator["Node"]:
        yield self
        for child in self.children:
            yield from child.walk()

    def find_all(self, tag: str, **attrs: str) -> list["Node"]:
        return [
            node
            for node in self.walk()
            if node.tag == tag
            and all(
                value in (node.attrs.get(key) or "").split() if key == "class_" else node.attrs.get(key) == value
                for key, value in (("class" if k == "class_" else k, v) for k, v in attrs.items())
            )
        ]

    def find(self, tag: str, **attrs: str) -> "Node":
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag} {attrs}> in the page"
        return found[0]

    def all_text(self) -> str:
        return " ".join(" ".join([node.text for node in self.walk()]).split())


class TreeBuilder(HTMLParser):
    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})

    def __init__(self) -> None:
        super().__init__()
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].text += data


def parse_html(text: str) -> Node:
    builder = TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


@pytest.fixture
def make_testapp(app_settings: dict[str, str]) -> Iterator[Callable[..., tuple[webtest.TestApp, str]]]:
    """Build the app with some ``uploads.*`` settings changed; returns it and a CSRF token."""
    saved = tempfile.tempdir

    def make(**overrides: str) -> tuple[webtest.TestApp, str]:
        settings = {**app_settings, **{f"uploads.{name}": value for name, value in overrides.items()}}
        app = main({"here": str(PROJECT), "__file__": str(TESTING_INI)}, **settings)
{%- if cookiecutter.access == "accounts" %}
        app = SignedIn(app, *ACCOUNT)
{%- endif %}
        testapp = webtest.TestApp(app)
        return testapp, CSRF_INPUT.search(testapp.get("/").text).group(1)

    yield make
    tempfile.tempdir = saved


# -- GET / ------------------------------------------------------------------------------


@pytest.mark.answers
def test_home_page_is_html(testapp: webtest.TestApp) -> None:
    page = testapp.get("/", status=200)
    assert page.content_type == "text/html"
    assert page.text.lstrip().lower().startswith("<!doctype html>")


def test_upload_form_posts_utf8_multipart_to_files(testapp: webtest.TestApp) -> None:
    form = parse_html(testapp.get("/").text).find("form", action="/files")
    assert form.attrs["method"].lower() == "post"
    assert form.attrs["enctype"] == "multipart/form-data"
    assert form.attrs["accept-charset"].lower() == "utf-8"


def test_upload_form_has_the_csrf_token_before_a_multiple_file_input(testapp: webtest.TestApp) -> None:
    page = testapp.get("/")
    form = parse_html(page.text).find("form", action="/files")
    inputs = form.find_all("input")
    names = [node.attrs.get("name") for node in inputs]
    assert names.index("csrf_token") < names.index("file")
    token_input = inputs[names.index("csrf_token")]
    file_input = inputs[names.index("file")]
    assert token_input.attrs["type"] == "hidden"
    assert token_input.attrs["value"] == testapp.cookies["csrf_token"]
    assert file_input.attrs["type"] == "file"
    assert "multiple" in file_input.attrs


@pytest.mark.pages
def test_home_lists_no_files_when_none_are_stored(testapp: webtest.TestApp) -> None:
    assert parse_html(testapp.get("/").text).find_all("tr", class_="file") == []


@pytest.mark.answers
def test_home_lists_stored_files_newest_first_with_name_size_time_link_and_delete_button(
    testapp: webtest.TestApp, csrf_token: str
) -> None:
    first = upload_one(testapp, csrf_token, b"a" * 2048, "first.txt")
    second = upload_one(testapp, csrf_token, b"b" * 10, "second.txt")
    page = parse_html(testapp.get("/").text)
    items = page.find("table", id="file-table").find_all("tr", class_="file")
    assert [item.attrs["data-id"] for item in items] == [second["id"], first["id"]]
    newest, oldest = items
    link = newest.find("th", scope="row").find("a", href=f"/files/{second['id']}")
    assert link.all_text() == "second.txt"
    assert newest.find("td", class_="file-size").all_text() == "10 bytes"
    assert oldest.find("td", class_="file-size").all_text() == "2 KiB"
    time = newest.find("time")
    assert datetime.fromisoformat(time.attrs["datetime"]) == datetime.fromisoformat(second["created"])
    assert time.attrs["title"].endswith(" UTC")
    # "Delete selected": each row's checkbox belongs to the one bulk form.
    checkbox = newest.find("input", type="checkbox")
    assert (checkbox.attrs["name"], checkbox.attrs["value"]) == ("id", second["id"])
    assert checkbox.attrs["form"] == "bulk-form"
    bulk_form = page.find("form", id="bulk-form")
    assert (bulk_form.attrs["method"].lower(), bulk_form.attrs["action"]) == ("post", "/files/delete")
    assert bulk_form.find("input", name="csrf_token").attrs["value"] == csrf_token
    delete_form = newest.find("form", action=f"/files/{second['id']}/delete")
    assert delete_form.attrs["method"].lower() == "post"
    assert delete_form.find("input", name="csrf_token").attrs["value"] == csrf_token
    assert delete_form.find_all("button")


# -- POST /files -------------------------------------------------------------------------


def test_form_upload_stores_the_file_and_redirects_to_home(
    testapp: webtest.TestApp, csrf_token: str, storage_path: Path
) -> None:
    response = post_files(testapp, csrf_token, ("file", "notes.txt", b"hello"), headers=HTML, status=303)
    assert urlsplit(response.location).path == "/"
    (info,) = testapp.get("/files", headers=JSON).json["files"]
    assert info["filename"] == "notes.txt"
    assert (storage_path / info["id"]).read_bytes() == b"hello"


@pytest.mark.pages
def test_page_after_a_form_upload_names_the_stored_files(testapp: webtest.TestApp, csrf_token: str) -> None:
    response = post_files(
        testapp, csrf_token, ("file", "one.txt", b"1"), ("file", "two.txt", b"2"), headers=HTML, status=303
    )
    page = response.follow(headers=HTML)
    statuses = [node.all_text() for node in parse_html(page.text).walk() if node.attrs.get("role") == "status"]
    assert any("one.txt" in text and "two.txt" in text for text in statuses), statuses


@on_both_backends
def test_json_upload_answers_201_with_the_files_and_the_location_of_the_first(
    testapp: webtest.TestApp, csrf_token: str
) -> None:
    response = post_files(testapp, csrf_token, ("file", "a.bin", b"AAA"), ("file", "b.bin", b"BB"), status=201)
    assert response.content_type == "application/json"
    files = response.json["files"]
    assert [(info["filename"], info["size"]) for info in files] == [("a.bin", 3), ("b.bin", 2)]
    assert urlsplit(response.location).path == f"/files/{files[0]['id']}"
    for info in files:
        assert set(info) == {"id", "filename", "size", "sha256", "content_type", "url", "created"}
        assert KEY_PATTERN.fullmatch(info["id"])
        assert urlsplit(info["url"]).path == f"/files/{info['id']}"
    assert files[0]["sha256"] == hashlib.sha256(b"AAA").hexdigest()


def test_upload_without_accept_header_gets_the_form_redirect(testapp: webtest.TestApp, csrf_token: str) -> None:
    content_type, body = form_data(("csrf_token", csrf_token), ("file", "a.txt", b"x"))
    raw_post(testapp, content_type, body, {}, 303)


def test_every_part_named_file_is_stored(testapp: webtest.TestApp, csrf_token: str, storage_path: Path) -> None:
    payloads = {f"part{n}.bin": bytes([n]) * (n * 1000 + 1) for n in range(4)}
    response = post_files(testapp, csrf_token, *(("file", name, data) for name, data in payloads.items()), status=201)
    assert len(response.json["files"]) == 4
    for info in response.json["files"]:
        assert (storage_path / info["id"]).read_bytes() == payloads[info["filename"]]


def test_file_parts_with_another_name_and_plain_fields_are_not_stored(
    testapp: webtest.TestApp, csrf_token: str
) -> None:
    response = post_files(
        testapp,
        csrf_token,
        ("comment", "just a field"),
        ("avatar", "face.png", PNG),
        ("file", "kept.txt", b"kept"),
        status=201,
    )
    assert [info["filename"] for info in response.json["files"]] == ["kept.txt"]
    assert len(testapp.get("/files", headers=JSON).json["files"]) == 1


def test_stored_bytes_are_exactly_the_uploaded_bytes(
    testapp: webtest.TestApp, csrf_token: str, storage_path: Path
) -> None:
    # Every byte value, CRLFs, and something that looks like a boundary but is not one.
    data = bytes(range(256)) * 300 + b"\r\n--" + BOUNDARY[:-1].encode() + b"\r\n" + b"\r\n\r\n" + bytes(range(256))
    info = upload_one(testapp, csrf_token, data, "tricky.bin")
    assert (storage_path / info["id"]).read_bytes() == data
    assert info["size"] == len(data)
    assert info["sha256"] == hashlib.sha256(data).hexdigest()


def test_content_type_is_sniffed_from_the_bytes_not_taken_from_the_client(
    testapp: webtest.TestApp, csrf_token: str
) -> None:
    response = post_files(testapp, csrf_token, ("file", "picture.mp3", PNG, "audio/mpeg"), status=201)
    assert response.json["files"][0]["content_type"] == "image/png"


def test_file_names_are_kept_in_utf8(testapp: webtest.TestApp, csrf_token: str) -> None:
    info = upload_one(testapp, csrf_token, b"x", "Grüße — фото ☃.txt")
    assert info["filename"] == "Grüße — фото ☃.txt"


def test_client_path_in_the_file_name_is_dropped(testapp: webtest.TestApp, csrf_token: str) -> None:
    info = upload_one(testapp, csrf_token, b"x", "C:\\Users\\me\\song.mp3")
    assert info["filename"] == "song.mp3"


def test_an_empty_file_part_with_no_name_means_no_file_chosen_and_is_skipped(
    testapp: webtest.TestApp, csrf_token: str
) -> None:
    response = post_files(testapp, csrf_token, ("file", "", b""), ("file", "real.txt", b"real"), status=201)
    assert [info["filename"] for info in response.json["files"]] == ["real.txt"]


def test_an_empty_file_is_stored(testapp: webtest.TestApp, csrf_token: str) -> None:
    info = upload_one(testapp, csrf_token, b"", "empty.txt")
    assert info["size"] == 0
    assert testapp.get(f"/files/{info['id']}").body == b""


def test_the_upload_never_touches_request_post_params_or_body(
    testapp: webtest.TestApp, csrf_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    touched: list[str] = []
    for name in ("POST", "params", "body", "body_file_seekable", "json_body", "text"):
        original = getattr(webob.request.BaseRequest, name)

        def forbidden(request: object, name: str = name) -> object:
            touched.append(name)
            raise AssertionError(f"request.{name} read the whole body")

        monkeypatch.setattr(webob.request.BaseRequest, name, property(forbidden, original.fset, original.fdel))
    monkeypatch.setattr(webob.request.BaseRequest, "make_body_seekable", lambda request: touched.append("seekable"))
    response = post_files(testapp, csrf_token, ("file", "a.bin", b"z" * 200_000), status=201)
    assert touched == []
    assert response.json["files"][0]["size"] == 200_000


# -- GET /files ---------------------------------------------------------------------------


def test_list_is_json_newest_first(testapp: webtest.TestApp, csrf_token: str) -> None:
    ids = [upload_one(testapp, csrf_token, bytes([n]), f"{n}.bin")["id"] for n in range(3)]
    response = testapp.get("/files", headers=JSON, status=200)
    assert response.content_type == "application/json"
    assert [info["id"] for info in response.json["files"]] == list(reversed(ids))
    assert set(response.json["files"][0]) == {"id", "filename", "size", "sha256", "content_type", "url", "created"}


def test_list_is_empty_when_nothing_is_stored(testapp: webtest.TestApp) -> None:
    assert testapp.get("/files", headers=JSON).json == {"files": [], "next": None}


def test_list_for_a_browser_redirects_to_the_page(testapp: webtest.TestApp) -> None:
    response = testapp.get("/files", headers=HTML, status=303)
    assert urlsplit(response.location).path == "/"


# -- GET /files/{id} ----------------------------------------------------------------------


@pytest.fixture
def stored(testapp: webtest.TestApp, csrf_token: str) -> dict:
    """One stored file of 1000 known bytes."""
    data = bytes(range(250)) * 4
    return {**upload_one(testapp, csrf_token, data, "data.bin"), "data": data}


@on_both_backends
def test_download_returns_the_bytes_as_an_attachment(testapp: webtest.TestApp, stored: dict) -> None:
    response = testapp.get(f"/files/{stored['id']}", status=200)
    assert response.body == stored["data"]
    assert response.headers["Content-Length"] == "1000"
    assert response.headers["ETag"] == f'"{stored["sha256"]}"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Content-Disposition"].startswith("attachment;")


def test_download_names_the_file_in_ascii_and_in_utf8(testapp: webtest.TestApp, csrf_token: str) -> None:
    info = upload_one(testapp, csrf_token, b"x", "Café “menu” ü.txt")
    disposition = testapp.get(f"/files/{info['id']}").headers["Content-Disposition"]
    ascii_name = re.search(r'filename="([^"]*)"', disposition).group(1)
    utf8_name = re.search(r"filename\*=UTF-8''([^;\s]+)", disposition).group(1)
    assert ascii_name.isascii()
    assert ascii_name.endswith(".txt")
    assert "Cafe" in ascii_name
    assert unquote(utf8_name, encoding="utf-8", errors="strict") == "Café “menu” ü.txt"
    assert disposition.isascii()


@on_both_backends
def test_range_request_gets_206_with_those_bytes(testapp: webtest.TestApp, stored: dict) -> None:
    response = testapp.get(f"/files/{stored['id']}", headers={"Range": "bytes=10-19"}, status=206)
    assert response.body == stored["data"][10:20]
    assert response.headers["Content-Range"] == "bytes 10-19/1000"
    assert response.headers["Content-Length"] == "10"


@on_both_backends
def test_suffix_range_gets_the_last_bytes(testapp: webtest.TestApp, stored: dict) -> None:
    response = testapp.get(f"/files/{stored['id']}", headers={"Range": "bytes=-100"}, status=206)
    assert response.body == stored["data"][-100:]
    assert response.headers["Content-Range"] == "bytes 900-999/1000"


def test_open_ended_range_runs_to_the_end_of_the_file(testapp: webtest.TestApp, stored: dict) -> None:
    response = testapp.get(f"/files/{stored['id']}", headers={"Range": "bytes=990-"}, status=206)
    assert response.body == stored["data"][990:]
    assert response.headers["Content-Range"] == "bytes 990-999/1000"


def test_range_of_the_very_last_byte(testapp: webtest.TestApp, stored: dict) -> None:
    response = testapp.get(f"/files/{stored['id']}", headers={"Range": "bytes=999-999"}, status=206)
    assert response.body == stored["data"][999:]


def test_range_past_the_end_is_cut_to_the_file(testapp: webtest.TestApp, stored: dict) -> None:
    response = testapp.get(f"/files/{stored['id']}", headers={"Range": "bytes=995-5000"}, status=206)
    assert response.body == stored["data"][995:]
    assert response.headers["Content-Range"] == "bytes 995-999/1000"


def test_range_starting_past_the_end_is_not_satisfiable(testapp: webtest.TestApp, stored: dict) -> None:
    response = testapp.get(f"/files/{stored['id']}", headers={"Range": "bytes=1000-"}, status=416)
    assert response.headers["Content-Range"] == "bytes */1000"


@on_both_backends
def test_large_range_in_the_middle_of_a_large_file(testapp: webtest.TestApp, csrf_token: str) -> None:
    data = bytes(range(256)) * 12_000  # ~3 MB: several serving blocks
    info = upload_one(testapp, csrf_token, data, "big.bin")
    response = testapp.get(f"/files/{info['id']}", headers={"Range": "bytes=1048570-2097160"}, status=206)
    assert response.body == data[1048570:2097161]


@on_both_backends
def test_if_none_match_with_the_etag_gets_304(testapp: webtest.TestApp, stored: dict) -> None:
    response = testapp.get(f"/files/{stored['id']}", headers={"If-None-Match": f'"{stored["sha256"]}"'}, status=304)
    assert response.body == b""


def test_if_none_match_with_another_etag_gets_the_file(testapp: webtest.TestApp, stored: dict) -> None:
    response = testapp.get(f"/files/{stored['id']}", headers={"If-None-Match": '"something-else"'}, status=200)
    assert response.body == stored["data"]


@on_both_backends
def test_head_gets_the_headers_without_the_body(testapp: webtest.TestApp, stored: dict) -> None:
    response = testapp.head(f"/files/{stored['id']}", status=200)
    assert response.headers["Content-Length"] == "1000"
    assert response.headers["ETag"] == f'"{stored["sha256"]}"'
    assert response.body == b""


def test_unknown_id_is_404_json(testapp: webtest.TestApp) -> None:
    response = testapp.get("/files/" + "0" * 32, headers=JSON, status=404)
    assert set(response.json) == {"error"}


@pytest.mark.answers
def test_unknown_id_is_404_page(testapp: webtest.TestApp) -> None:
    response = testapp.get("/files/" + "0" * 32, headers=HTML, status=404)
    assert response.content_type == "text/html"


@pytest.mark.parametrize("file_id", ["not-an-id", "..%2F..%2Fetc%2Fpasswd", "A" * 32])
def test_malformed_id_is_404(testapp: webtest.TestApp, file_id: str) -> None:
    testapp.get(f"/files/{file_id}", headers=JSON, status=404)


def test_unknown_route_is_404(testapp: webtest.TestApp) -> None:
    response = testapp.get("/no/such/page", headers=JSON, status=404)
    assert "error" in response.json


# -- delete ----------------------------------------------------------------------------------


@on_both_backends
def test_delete_with_the_csrf_header_is_204_and_removes_file_and_metadata(
    testapp: webtest.TestApp, csrf_token: str, stored: dict, storage_path: Path
) -> None:
    testapp.delete(f"/files/{stored['id']}", headers={"X-CSRF-Token": csrf_token}, status=204)
    assert stored_files(storage_path) == []
    testapp.get(f"/files/{stored['id']}", status=404)
    assert testapp.get("/files", headers=JSON).json == {"files": [], "next": None}


def test_delete_form_with_the_csrf_field_redirects_home_and_removes_the_file(
    testapp: webtest.TestApp, csrf_token: str, stored: dict, storage_path: Path
) -> None:
    response = testapp.post(f"/files/{stored['id']}/delete", {"csrf_token": csrf_token}, headers=HTML, status=303)
    assert urlsplit(response.location).path == "/"
    assert stored_files(storage_path) == []


def test_delete_form_without_script_says_the_file_was_deleted(
    testapp: webtest.TestApp, csrf_token: str, stored: dict
) -> None:
    page = testapp.post(f"/files/{stored['id']}/delete", {"csrf_token": csrf_token}, headers=HTML, status=303).follow()
    assert parse_html(page.text).find("p", class_="notice notice-ok").all_text() == "Deleted 1 file."


def test_delete_form_from_the_page_works(testapp: webtest.TestApp, stored: dict, storage_path: Path) -> None:
    page = testapp.get("/")
    form = next(form for form in page.forms.values() if form.action == f"/files/{stored['id']}/delete")
    form.submit(status=303)
    assert stored_files(storage_path) == []


def test_delete_form_for_a_json_client_is_204(
    testapp: webtest.TestApp, csrf_token: str, stored: dict, storage_path: Path
) -> None:
    testapp.post(f"/files/{stored['id']}/delete", {"csrf_token": csrf_token}, headers=JSON, status=204)
    assert stored_files(storage_path) == []


@on_both_backends
def test_delete_leaves_the_other_files(testapp: webtest.TestApp, csrf_token: str) -> None:
    keep = upload_one(testapp, csrf_token, b"keep", "keep.txt")
    gone = upload_one(testapp, csrf_token, b"gone", "gone.txt")
    testapp.delete(f"/files/{gone['id']}", headers={"X-CSRF-Token": csrf_token}, status=204)
    assert [info["id"] for info in testapp.get("/files", headers=JSON).json["files"]] == [keep["id"]]
    assert testapp.get(f"/files/{keep['id']}").body == b"keep"


@pytest.mark.parametrize(
    "request_kwargs",
    [
        pytest.param({"method": "DELETE", "path": "", "headers": {}}, id="delete-without-token"),
        pytest.param({"method": "DELETE", "path": "", "headers": {"X-CSRF-Token": "wrong"}}, id="delete-wrong-token"),
        pytest.param({"method": "POST", "path": "/delete", "params": {}}, id="form-without-token"),
        pytest.param({"method": "POST", "path": "/delete", "params": {"csrf_token": "wrong"}}, id="form-wrong-token"),
    ],
)
@on_both_backends
def test_delete_without_a_valid_csrf_token_is_400_and_deletes_nothing(
    testapp: webtest.TestApp, stored: dict, storage_path: Path, request_kwargs: dict
) -> None:
    before = stored_files(storage_path)
    url = f"/files/{stored['id']}{request_kwargs['path']}"
    if request_kwargs["method"] == "DELETE":
        response = testapp.delete(url, headers={**JSON, **request_kwargs["headers"]}, status=400)
    else:
        response = testapp.post(url, request_kwargs["params"], headers=JSON, status=400)
    assert "CSRF" in response.json["error"]
    assert stored_files(storage_path) == before
    assert testapp.get(f"/files/{stored['id']}").body == stored["data"]


def test_delete_with_a_token_but_no_cookie_is_400(testapp: webtest.TestApp, csrf_token: str, stored: dict) -> None:
    testapp.reset()  # forget the cookie
    testapp.delete(f"/files/{stored['id']}", headers={**JSON, "X-CSRF-Token": csrf_token}, status=400)
    testapp.get(f"/files/{stored['id']}", status=200)


def test_delete_of_an_unknown_id_is_404(testapp: webtest.TestApp, csrf_token: str) -> None:
    testapp.delete("/files/" + "0" * 32, headers={**JSON, "X-CSRF-Token": csrf_token}, status=404)


# -- upload errors ------------------------------------------------------------------------------


def _no_token(testapp: webtest.TestApp, token: str, headers: dict) -> webtest.TestResponse:
    return post_files(testapp, None, ("file", "a.txt", b"data"), headers=headers)


def _wrong_token(testapp: webtest.TestApp, token: str, headers: dict) -> webtest.TestResponse:
    return post_files(testapp, "0" * len(token), ("file", "a.txt", b"data"), headers=headers)


def _wrong_header_token(testapp: webtest.TestApp, token: str, headers: dict) -> webtest.TestResponse:
    return post_files(testapp, None, ("file", "a.txt", b"data"), headers={**headers, "X-CSRF-Token": "nope"})


def _token_after_the_file(testapp: webtest.TestApp, token: str, headers: dict) -> webtest.TestResponse:
    content_type, body = form_data(("file", "a.txt", b"data"), ("csrf_token", token))
    return raw_post(testapp, content_type, body, headers)


def _no_file_part(testapp: webtest.TestApp, token: str, headers: dict) -> webtest.TestResponse:
    return post_files(testapp, token, ("comment", "hello"), headers=headers)


def _only_empty_file_input(testapp: webtest.TestApp, token: str, headers: dict) -> webtest.TestResponse:
    return post_files(testapp, token, ("file", "", b""), headers=headers)


def _malformed_multipart(testapp: webtest.TestApp, token: str, headers: dict) -> webtest.TestResponse:
    content_type, body = form_data(("csrf_token", token), ("file", "a.txt", b"data" * 1000))
    body = body.replace(b"Content-Disposition", b"Content-Dispositionnnn\x00:", 1)
    return raw_post(testapp, content_type, body, headers)


def _truncated_multipart(testapp: webtest.TestApp, token: str, headers: dict) -> webtest.TestResponse:
    content_type, body = form_data(("csrf_token", token), ("file", "a.txt", b"data" * 1000))
    return raw_post(testapp, content_type, body[:-200], headers)


def _no_boundary(testapp: webtest.TestApp, token: str, headers: dict) -> webtest.TestResponse:
    _, body = form_data(("csrf_token", token), ("file", "a.txt", b"data"))
    return raw_post(testapp, "multipart/form-data", body, headers)


def _not_multipart(testapp: webtest.TestApp, token: str, headers: dict) -> webtest.TestResponse:
    body = json.dumps({"file": "data"}).encode()
    return testapp.post(
        "/files", body, content_type="application/json", headers={**headers, "X-CSRF-Token": token}, expect_errors=True
    )


def _urlencoded(testapp: webtest.TestApp, token: str, headers: dict) -> webtest.TestResponse:
    return testapp.post("/files", {"csrf_token": token, "file": "data"}, headers=headers, expect_errors=True)


def _multipart_mixed(testapp: webtest.TestApp, token: str, headers: dict) -> webtest.TestResponse:
    _, body = form_data(("csrf_token", token), ("file", "a.txt", b"data"))
    content_type = f"multipart/mixed; boundary={BOUNDARY}"
    return raw_post(testapp, content_type, body, headers)


ERROR_CASES = [
    pytest.param(_no_token, 400, id="missing-csrf-token"),
    pytest.param(_wrong_token, 400, id="wrong-csrf-token"),
    pytest.param(_wrong_header_token, 400, id="wrong-csrf-header"),
    pytest.param(_token_after_the_file, 400, id="csrf-token-after-the-file"),
    pytest.param(_no_file_part, 400, id="no-file-part"),
    pytest.param(_only_empty_file_input, 400, id="no-file-chosen"),
    pytest.param(_malformed_multipart, 400, id="malformed-multipart"),
    pytest.param(_truncated_multipart, 400, id="truncated-multipart"),
    pytest.param(_no_boundary, 400, id="no-boundary"),
    pytest.param(_not_multipart, 415, id="json-body"),
    pytest.param(_urlencoded, 415, id="urlencoded-body"),
    pytest.param(_multipart_mixed, 415, id="multipart-mixed"),
]


@pytest.mark.parametrize(("send", "status"), ERROR_CASES)
def test_refused_upload_answers_json_error_to_json_clients(
    testapp: webtest.TestApp, csrf_token: str, send: Callable, status: int
) -> None:
    response = send(testapp, csrf_token, JSON)
    assert response.status_int == status
    assert response.content_type == "application/json"
    assert set(response.json) == {"error"}
    assert response.json["error"].strip()


@pytest.mark.parametrize(("send", "status"), ERROR_CASES)
@pytest.mark.answers
def test_refused_upload_answers_a_readable_page_to_browsers(
    testapp: webtest.TestApp, csrf_token: str, send: Callable, status: int
) -> None:
    response = send(testapp, csrf_token, HTML)
    assert response.status_int == status
    assert response.content_type == "text/html"
    alerts = [node for node in parse_html(response.text).walk() if node.attrs.get("role") == "alert"]
    assert alerts, "the page shows no message"
    assert len(alerts[0].all_text()) > 10


@pytest.mark.parametrize(("send", "status"), ERROR_CASES)
def test_refused_upload_keeps_nothing(
    testapp: webtest.TestApp, csrf_token: str, storage_path: Path, temp_path: Path, send: Callable, status: int
) -> None:
    send(testapp, csrf_token, JSON)
    assert stored_files(storage_path) == []
    assert temp_entries(temp_path) == []


def test_csrf_is_checked_before_any_file_byte_is_kept(
    testapp: webtest.TestApp, csrf_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged: list[str] = []
    real_stage = LocalStorage.stage

    def spy(self: LocalStorage, key: str, chunks: object) -> object:
        staged.append(key)
        return real_stage(self, key, chunks)

    monkeypatch.setattr(LocalStorage, "stage", spy)
    _token_after_the_file(testapp, csrf_token, JSON)
    assert staged == []


def test_csrf_token_in_the_header_is_enough(testapp: webtest.TestApp, csrf_token: str) -> None:
    post_files(testapp, None, ("file", "a.txt", b"x"), headers={**JSON, "X-CSRF-Token": csrf_token}, status=201)


def test_csrf_token_without_the_cookie_is_refused(testapp: webtest.TestApp, csrf_token: str) -> None:
    testapp.reset()
    post_files(testapp, csrf_token, ("file", "a.txt", b"x"), status=400)


def test_error_messages_name_the_problem(testapp: webtest.TestApp, csrf_token: str) -> None:
    assert "CSRF" in _no_token(testapp, csrf_token, JSON).json["error"]
    assert "multipart/form-data" in _not_multipart(testapp, csrf_token, JSON).json["error"]
    assert "file" in _no_file_part(testapp, csrf_token, JSON).json["error"]


# -- limits and filters (settings changed per test) -----------------------------------


def _body_of_size(token: str, total: int) -> tuple[str, bytes]:
    """A valid upload body of exactly ``total`` bytes."""
    content_type, empty = form_data(("csrf_token", token), ("file", "exact.bin", b""))
    _, body = form_data(("csrf_token", token), ("file", "exact.bin", b"e" * (total - len(empty))))
    assert len(body) == total
    return content_type, body


def test_body_exactly_at_max_size_is_accepted(make_testapp: Callable) -> None:
    testapp, token = make_testapp(max_size="64KB", chunk_size="4KB")
    content_type, body = _body_of_size(token, 64 * 1024)
    raw_post(testapp, content_type, body, JSON, 201)


@on_both_backends
def test_body_one_byte_over_max_size_is_413(make_testapp: Callable, storage_path: Path, temp_path: Path) -> None:
    testapp, token = make_testapp(max_size="64KB", chunk_size="4KB")
    content_type, body = _body_of_size(token, 64 * 1024 + 1)
    response = raw_post(testapp, content_type, body, JSON, 413)
    assert "64 KiB" in response.json["error"]
    assert stored_files(storage_path) == []
    assert temp_entries(temp_path) == []


def test_body_over_max_size_is_413_page_for_browsers(make_testapp: Callable) -> None:
    testapp, token = make_testapp(max_size="64KB", chunk_size="4KB")
    content_type, body = _body_of_size(token, 100_000)
    response = raw_post(testapp, content_type, body, HTML, 413)
    assert response.content_type == "text/html"
    assert "64 KiB" in response.text


def test_declared_length_over_max_size_is_refused_before_reading_the_body(make_testapp: Callable) -> None:
    testapp, token = make_testapp(max_size="64KB", chunk_size="4KB")
    content_type, body = _body_of_size(token, 100_000)
    stream = io.BytesIO(body)
    request = webob.Request.blank(
        "/files",
        method="POST",
        content_type=content_type,
        headers={**JSON, "Cookie": f"csrf_token={token}", "X-CSRF-Token": token},
    )
    request.body_file = stream
    request.environ["CONTENT_LENGTH"] = str(len(body))
    response = request.get_response(testapp.app)
    assert response.status_int == 413
    assert stream.tell() == 0


def test_extension_not_allowed_is_415(make_testapp: Callable, storage_path: Path, temp_path: Path) -> None:
    testapp, token = make_testapp(allowed_extensions="mp3 ogg")
    response = post_files(testapp, token, ("file", "evil.exe", b"MZ"), status=415)
    assert ".exe" in response.json["error"]
    assert stored_files(storage_path) == []
    assert temp_entries(temp_path) == []


def test_extension_not_allowed_is_415_page_for_browsers(make_testapp: Callable) -> None:
    testapp, token = make_testapp(allowed_extensions="mp3 ogg")
    response = post_files(testapp, token, ("file", "evil.exe", b"MZ"), headers=HTML, status=415)
    assert response.content_type == "text/html"
    assert "evil.exe" in response.text


def test_allowed_extension_is_accepted_whatever_its_case(make_testapp: Callable) -> None:
    testapp, token = make_testapp(allowed_extensions="mp3 ogg")
    post_files(testapp, token, ("file", "LOUD.MP3", b"ID3"), status=201)


def test_file_without_extension_is_415_when_extensions_are_restricted(make_testapp: Callable) -> None:
    testapp, token = make_testapp(allowed_extensions="mp3")
    post_files(testapp, token, ("file", "README", b"text"), status=415)


@on_both_backends
def test_multi_file_upload_with_the_second_file_refused_keeps_neither(
    make_testapp: Callable, storage_path: Path, temp_path: Path
) -> None:
    testapp, token = make_testapp(allowed_extensions="txt")
    post_files(testapp, token, ("file", "good.txt", b"g" * 100_000), ("file", "bad.exe", b"MZ"), status=415)
    assert stored_files(storage_path) == []
    assert temp_entries(temp_path) == []
    assert testapp.get("/files", headers=JSON).json == {"files": [], "next": None}


@on_both_backends
def test_sniffed_type_not_allowed_is_415(make_testapp: Callable, storage_path: Path) -> None:
    testapp, token = make_testapp(allowed_types="audio/*")
    post_files(testapp, token, ("file", "song.mp3", PNG, "audio/mpeg"), status=415)
    assert stored_files(storage_path) == []


def test_sniffed_type_allowed_is_stored(make_testapp: Callable) -> None:
    testapp, token = make_testapp(allowed_types="image/*")
    post_files(testapp, token, ("file", "pic.png", PNG), status=201)


def test_max_files_files_are_accepted(make_testapp: Callable) -> None:
    testapp, token = make_testapp(max_files="2")
    post_files(testapp, token, ("file", "1.txt", b"x"), ("file", "2.txt", b"y"), status=201)


def test_file_mode_setting_applies_to_uploaded_files(make_testapp: Callable, storage_path: Path) -> None:
    testapp, token = make_testapp(file_mode="0o600", dir_mode="0o700")
    info = post_files(testapp, token, ("file", "private.txt", b"secret"), status=201).json["files"][0]
    assert stat.S_IMODE((storage_path / info["id"]).stat().st_mode) == 0o600
    assert stat.S_IMODE(storage_path.stat().st_mode) == 0o700


def test_chunk_size_and_max_size_settings_drive_the_body_reader(
    make_testapp: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    testapp, token = make_testapp(chunk_size="8KB", max_size="1MB")
    calls: list[tuple[int, int | None]] = []
    chunk_lengths: list[int] = []
    real_file_buffer = receiving.file_buffer

    def spy(stream: object, chunk_size: int, limit: int | None = None) -> Iterator[bytes]:
        calls.append((chunk_size, limit))
        for chunk in real_file_buffer(stream, chunk_size, limit):
            chunk_lengths.append(len(chunk))
            yield chunk

    monkeypatch.setattr(receiving, "file_buffer", spy)
    post_files(testapp, token, ("file", "big.bin", b"b" * 100_000), status=201)
    assert calls == [(8 * 1024, 1024 * 1024)]
    assert sum(chunk_lengths) > 100_000
    assert max(chunk_lengths) == 8 * 1024
