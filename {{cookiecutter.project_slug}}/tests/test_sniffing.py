"""The type of a file, from its bytes with libmagic: text is text, with its charset.

The rules are in ``sniffing.py``'s docstring; each has a row here. The HTTP
tests upload through real waitress and check what is recorded, what is
served, and that ``uploads.allowed_types`` matches the type without its
charset.
"""

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from {{ cookiecutter.project_slug }}.sniffing import SNIFF_BYTES, peek, served_type, sniff_type, type_allowed

from .bodies import body, content_type, everything_under, file_part
from .helpers import LiveServer

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64

SAMPLES = {
    "ascii-is-given-as-utf8": (b"hello world\nsecond line\n", "text/plain; charset=utf-8"),
    "utf8": ("Grüße, фото ☃\n".encode(), "text/plain; charset=utf-8"),
    "utf8-with-bom": (b"\xef\xbb\xbfhello\n", "text/plain; charset=utf-8"),
    "latin1": ("café au lait\n".encode("latin-1"), "text/plain; charset=iso-8859-1"),
    "utf16": ("hello\n".encode("utf-16"), "text/plain; charset=utf-16le"),
    "javascript-is-text": (b"function f() { return document.cookie; }\n", "text/plain; charset=utf-8"),
    "csv": (b"name,size\nsong.mp3,1234\ncover.png,5678\n", "text/csv; charset=utf-8"),
    "json": (b'{"a": [1, 2, 3], "b": "x"}', "application/json"),
    "html": (b"<!DOCTYPE html><html><body><p>hi</p></body></html>", "text/html; charset=utf-8"),
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="1"/></svg>', "image/svg+xml"),
    "xml": (b'<?xml version="1.0"?><root><a/></root>', "text/xml; charset=utf-8"),
    "shell-script": (b"#!/bin/sh\necho hi\n", "text/x-shellscript; charset=utf-8"),
    "one-letter-unnamed-but-text": (b"x", "text/plain; charset=utf-8"),
    "control-characters-are-binary": (b"abc\x01\x02def", "application/octet-stream"),
    "zeros": (b"\x00" * 100, "application/octet-stream"),
    "empty": (b"", "application/octet-stream"),
    "png": (PNG, "image/png"),
    "pdf": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
}


@pytest.mark.parametrize(("head", "expected"), SAMPLES.values(), ids=SAMPLES.keys())
def test_sniffed_type(head: bytes, expected: str) -> None:
    assert sniff_type(head) == expected


def test_utf8_text_whose_last_character_is_cut_by_the_sniffing_limit_is_still_utf8() -> None:
    text = ("a" * (SNIFF_BYTES - 2) + "€" * 10).encode()  # "€" is 3 bytes: the limit falls inside one
    head, _ = peek([text])
    assert len(head) == SNIFF_BYTES
    assert sniff_type(head) == "text/plain; charset=utf-8"


def test_threads_sniffing_at_once_get_the_same_answers_as_one_thread() -> None:
    heads = [head for head, _ in SAMPLES.values()] * 20
    alone = [sniff_type(head) for head in heads]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(sniff_type, heads)) == alone


@pytest.mark.parametrize(
    ("stored", "patterns", "allowed"),
    [
        ("text/plain; charset=utf-8", ["text/*"], True),
        ("text/plain; charset=utf-8", ["text/plain"], True),
        ("text/plain; charset=utf-8", ["TEXT/PLAIN"], True),
        ("text/csv; charset=utf-8", ["text/plain"], False),
        ("image/png", ["text/*", "image/png"], True),
        ("image/png", ["audio/*"], False),
    ],
)
def test_allowed_types_match_the_media_type_without_its_charset(stored: str, patterns: list, allowed: bool) -> None:
    assert type_allowed(stored, patterns) is allowed


@pytest.mark.parametrize(
    ("stored", "served"),
    [
        ("text/plain; charset=utf-8", "text/plain; charset=utf-8"),
        ("text/csv; charset=utf-8", "text/csv; charset=utf-8"),
        ("application/json", "application/json"),
        ("image/svg+xml; charset=us-ascii", "application/octet-stream"),
        ("text/xml; charset=utf-8", "application/octet-stream"),
        ("text/x-shellscript; charset=utf-8", "application/octet-stream"),
    ],
)
def test_served_type_judges_the_media_type_whatever_its_parameters(stored: str, served: str) -> None:
    assert served_type(stored) == served


# -- through real waitress ---------------------------------------------------------------------


def post(server: LiveServer, data: bytes, filename: str) -> requests.Response:
    return server.client().post(
        server.url + "/files",
        data=body(file_part(data, filename)),
        headers={"Accept": "application/json", "Content-Type": content_type()},
        timeout=30,
    )


@pytest.mark.server
def test_text_file_is_recorded_and_served_as_text_with_its_charset(
    make_live_server: Callable[..., LiveServer],
) -> None:
    server = make_live_server(allowed_extensions="", allowed_types="")
    response = post(server, "Grüße\n".encode(), "notes.txt")
    assert response.status_code == 201
    info = response.json()["files"][0]
    assert info["content_type"] == "text/plain; charset=utf-8"
    download = requests.get(f"{server.url}/files/{info['id']}", timeout=30)
    assert download.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.text == "Grüße\n"


@pytest.mark.server
def test_allowed_types_text_star_accepts_text(make_live_server: Callable[..., LiveServer]) -> None:
    server = make_live_server(allowed_extensions="", allowed_types="text/*")
    assert post(server, b"hello\n", "notes.txt").status_code == 201


@pytest.mark.server
def test_allowed_types_text_star_refuses_an_image_naming_its_type(
    make_live_server: Callable[..., LiveServer],
) -> None:
    server = make_live_server(allowed_extensions="", allowed_types="text/*")
    response = post(server, PNG, "notes.txt")
    assert response.status_code == 415
    assert "is image/png, which is not accepted" in response.json()["error"]
    assert everything_under(server.storage_path, server.temp_path) == []


@pytest.mark.server
@pytest.mark.pages
def test_page_shows_a_png_thumbnail_but_not_an_svg_served_inert(make_live_server: Callable[..., LiveServer]) -> None:
    server = make_live_server(allowed_extensions="", allowed_types="")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="1"/></svg>'
    ids = {name: post(server, data, name).json()["files"][0]["id"] for name, data in [("a.png", PNG), ("b.svg", svg)]}
    page = requests.get(server.url + "/", timeout=30).text
    assert re.search(rf'<img class="thumbnail" src="/files/{ids["a.png"]}"', page)
    assert f'src="/files/{ids["b.svg"]}"' not in page
    assert re.search(r'<span class="file-type" data-kind="other" title="application/octet-stream">FILE</span>', page)
