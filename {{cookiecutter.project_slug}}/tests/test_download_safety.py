"""Serving what strangers uploaded without letting it act as us, or reading what it should not.

A download must never be rendered as a page of our origin (no HTML, SVG or
script types, ``nosniff``, a sandboxing CSP, always an attachment), its name
must be harmless in the header and on the user's disk, and no id or path a
client can type may reach a file outside ``storage_path``. Every test talks
to real waitress; traversal attempts go over a raw socket so that no client
library normalises the path first.
"""

import builtins
import hashlib
import io
import os
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

import pytest
import requests

from {{ cookiecutter.project_slug }}.serving import content_disposition
from {{ cookiecutter.project_slug }}.sniffing import served_type
from {{ cookiecutter.project_slug }}.storage import NotFound
from {{ cookiecutter.project_slug }}.storage.local import LocalStorage

from .bodies import body, content_type, everything_under, file_part, raw_request
from .helpers import LiveServer, on_both_backends

pytestmark = pytest.mark.server

JSON = {"Accept": "application/json"}
SECRET = b"top secret: this file is outside storage_path"

HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>'
XHTML = b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>'
# The first bytes of each format, as far as libmagic needs to see them.
MPEG_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 413  # MPEG-1 Layer III, 128 kbit/s, 44.1 kHz
MEDIA = {
    "audio/mpeg": b"ID3\x04\x00\x00\x00\x00\x00\x00" + MPEG_FRAME * 3,
    "audio/x-wav": b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 100,
    "audio/ogg": b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x1e\x01vorbis" + b"\x00" * 40,
    "audio/flac": b"fLaC\x00\x00\x00\x22" + b"\x00" * 100,
    "image/png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64,
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64,
    "image/gif": b"GIF89a" + b"\x00" * 64,
    "video/mp4": b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64,
}


@pytest.fixture
def server(make_live_server: Callable[..., LiveServer]) -> LiveServer:
    """Accepting the tests' files whatever the project's answers (any name, any type, up to 1 MiB)."""
    return make_live_server(allowed_extensions="", allowed_types="", max_size="1MB")


@pytest.fixture
def session(server: LiveServer) -> requests.Session:
    return server.client()


def upload(server: LiveServer, session: requests.Session, data: bytes, filename: str) -> dict:
    response = session.post(
        server.url + "/files",
        data=body(file_part(data, filename)),
        headers={**JSON, "Content-Type": content_type()},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()["files"][0]


def download(server: LiveServer, file_id: str, **headers: str) -> requests.Response:
    return requests.get(f"{server.url}/files/{file_id}", headers=headers, timeout=30)


# -- the headers of a download ------------------------------------------------------------


@on_both_backends
def test_download_is_an_attachment_with_ascii_fallback_and_utf8_name(
    server: LiveServer, session: requests.Session
) -> None:
    info = upload(server, session, b"x", "音乐.mp3")
    disposition = download(server, info["id"]).headers["Content-Disposition"]
    assert disposition == "attachment; filename=\"download.mp3\"; filename*=UTF-8''%E9%9F%B3%E4%B9%90.mp3"


def test_download_name_is_the_sanitized_name_not_what_the_client_sent(
    server: LiveServer, session: requests.Session
) -> None:
    info = upload(server, session, b"x", "..\\..\\evil\u202egpj.exe")
    disposition = download(server, info["id"]).headers["Content-Disposition"]
    assert 'filename="evilgpj.exe"' in disposition
    assert "filename*=UTF-8''evilgpj.exe" in disposition


@pytest.mark.parametrize(
    ("stored_name", "ascii_name"),
    [
        ("音乐.mp3", "download.mp3"),  # no ASCII stem: never the hidden ".mp3"
        ("音乐", "download"),
        ("\uff0ehtaccess", "htaccess"),  # fullwidth full stop folds to "."
        ("a\uff0fb.txt", "a_b.txt"),  # fullwidth solidus folds to "/"
        ("\uff23\uff2f\uff2e.txt", "_CON.txt"),  # fullwidth CON folds to a device name
        ("Café ü.txt", "Cafe u.txt"),
        ("100%.txt", "100_.txt"),
        ('"quoted".txt', "_quoted_.txt"),
        ("evil\r\nSet-Cookie: x.txt", "evilSet-Cookie_ x.txt"),
    ],
)
def test_ascii_fallback_name_is_itself_a_safe_filename(stored_name: str, ascii_name: str) -> None:
    assert re.search(r'filename="([^"]*)"', content_disposition(stored_name)).group(1) == ascii_name


@pytest.mark.parametrize("name", ["evil\r\nSet-Cookie: x=1.txt", 'a";\r\nX: y.txt', "音乐\n.mp3"])
def test_disposition_header_is_one_line_of_ascii_whatever_the_name(name: str) -> None:
    value = content_disposition(name)
    assert value.isascii() and value.isprintable()
    assert value.count('"') == 2


@on_both_backends
def test_download_has_nosniff_sandbox_policy_and_no_framing(server: LiveServer, session: requests.Session) -> None:
    headers = download(server, upload(server, session, b"x", "a.bin")["id"]).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (HTML, "page.html"),
        (HTML, "song.mp3"),
        (SVG, "drawing.svg"),
        (XHTML, "page.xhtml"),
        (b"alert(document.cookie)", "script.js"),
        (b"GIF89a<script>alert(1)</script>", "polyglot.html"),
    ],
    ids=["html", "html-named-mp3", "svg-with-script", "xhtml", "javascript", "gif-html-polyglot"],
)
def test_active_content_is_never_served_as_a_type_that_runs(
    server: LiveServer, session: requests.Session, data: bytes, filename: str
) -> None:
    info = upload(server, session, data, filename)
    response = download(server, info["id"], Accept="text/html")
    served = response.headers["Content-Type"].split(";")[0].strip().lower()
    assert served not in ("text/html", "application/xhtml+xml", "image/svg+xml", "text/javascript", "text/xml")
    assert "html" not in served and "xml" not in served and "script" not in served
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.content == data


def test_uploaded_html_is_recorded_as_html_and_served_as_octet_stream(
    server: LiveServer, session: requests.Session
) -> None:
    info = upload(server, session, HTML, "page.html")
    assert info["content_type"] == "text/html; charset=utf-8"
    assert download(server, info["id"]).headers["Content-Type"] == "application/octet-stream"


@pytest.mark.parametrize(("media_type", "data"), MEDIA.items(), ids=MEDIA.keys())
def test_audio_video_and_raster_images_keep_their_sniffed_type(
    server: LiveServer, session: requests.Session, media_type: str, data: bytes
) -> None:
    info = upload(server, session, data, "upload.bin")  # the name says nothing: the bytes do
    assert info["content_type"] == media_type
    assert download(server, info["id"]).headers["Content-Type"] == media_type


@pytest.mark.parametrize(
    "stored",
    [
        "text/html",
        "TEXT/HTML",
        "text/html; charset=utf-8",
        "application/xhtml+xml",
        "image/svg+xml",
        "application/xml",
        "text/xml",
        "application/rss+xml",
        "text/javascript",
        "application/javascript",
        "application/x-javascript",
        "text/ecmascript",
        "application/wasm",
        "application/x-shockwave-flash",
    ],
)
def test_served_type_of_an_active_type_is_octet_stream(stored: str) -> None:
    assert served_type(stored) == "application/octet-stream"


@pytest.mark.parametrize("stored", [*MEDIA, "video/webm", "image/webp", "application/pdf", "application/zip"])
def test_served_type_of_a_passive_type_is_kept(stored: str) -> None:
    assert served_type(stored) == stored


# -- uploads.allowed_types: checked against the sniffed bytes --------------------------------


@pytest.fixture
def picky_server(make_live_server: Callable[..., LiveServer]) -> LiveServer:
    return make_live_server(allowed_extensions="", allowed_types="audio/* image/png", max_size="1MB")


def post_to(server: LiveServer, data: bytes, filename: str) -> requests.Response:
    return server.client().post(
        server.url + "/files", data=body(file_part(data, filename)), headers={**JSON, "Content-Type": content_type()}
    )


@pytest.mark.parametrize("media_type", ["audio/mpeg", "audio/ogg", "audio/flac", "image/png"])
def test_allowed_type_is_stored(picky_server: LiveServer, media_type: str) -> None:
    response = post_to(picky_server, MEDIA[media_type], "file.bin")
    assert response.status_code == 201
    assert response.json()["files"][0]["content_type"] == media_type


@pytest.mark.parametrize(
    ("data", "filename", "sniffed"),
    [
        (MEDIA["image/gif"], "pic.png", "image/gif"),
        (MEDIA["video/mp4"], "song.mp3", "video/mp4"),
        (HTML, "song.mp3", "text/html"),
        (SVG, "image.png", "image/svg+xml"),
    ],
    ids=["gif-named-png", "mp4-named-mp3", "html-named-mp3", "svg-named-png"],
)
def test_type_not_allowed_is_415_naming_the_sniffed_type_and_keeps_nothing(
    picky_server: LiveServer, data: bytes, filename: str, sniffed: str
) -> None:
    response = post_to(picky_server, data, filename)
    assert response.status_code == 415
    assert sniffed in response.json()["error"]
    assert everything_under(picky_server.storage_path, picky_server.temp_path) == []


@on_both_backends
def test_one_refused_type_among_several_files_keeps_none(picky_server: LiveServer) -> None:
    payload = body(file_part(MEDIA["audio/mpeg"], "ok.mp3"), file_part(HTML, "evil.mp3"))
    response = picky_server.client().post(
        picky_server.url + "/files", data=payload, headers={**JSON, "Content-Type": content_type()}
    )
    assert response.status_code == 415
    assert everything_under(picky_server.storage_path, picky_server.temp_path) == []


# -- ids and paths: nothing outside storage_path is ever reached -----------------------------


@pytest.fixture
def secrets_around(server: LiveServer) -> list[Path]:
    """Files a traversal would love to read: beside and above storage_path, and in temp_path."""
    root = server.storage_path.parent
    places = [root / "secret.txt", root / "passwd", server.temp_path / "secret.txt"]
    for place in places:
        place.write_bytes(SECRET)
    return places


TRAVERSALS = [
    "/files/..%2f..%2fetc%2fpasswd",
    "/files/..%2fsecret.txt",
    "/files/%2e%2e",
    "/files/%2e%2e%2fsecret.txt",
    "/files/%2e%2e%2f%2e%2e%2fpasswd",
    "/files/..%5csecret.txt",
    "/files/../secret.txt",
    "/files/..",
    "/files/.",
    "/files/%2fetc%2fpasswd",
    "/files/..%252fsecret.txt",
    "/files/%00",
    "/files/..%00",
    "/files/" + "0" * 33,
    "/files/" + "a" * 31,
    "/files/" + "f" * 10_000,
    "/files/" + "g" * 32,
    "/files/../tmp/secret.txt",
    "/files/..%2ftmp%2fsecret.txt",
    "/files/%2e%2e%2fuploads%2f..%2fsecret.txt",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_traversal_attempt_is_404_and_reads_nothing_outside(
    server: LiveServer, secrets_around: list[Path], path: str
) -> None:
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    response = raw_request(server.url, request, shutdown=False)
    assert response.status == 404
    assert SECRET not in response.body


@pytest.mark.parametrize("path", TRAVERSALS[:8])
def test_traversal_attempt_to_delete_is_404_and_deletes_nothing(
    server: LiveServer, session: requests.Session, secrets_around: list[Path], path: str
) -> None:
    token = session.headers["X-CSRF-Token"]
    cookie = session.cookies["csrf_token"]
    request = (
        f"DELETE {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"X-CSRF-Token: {token}\r\nCookie: csrf_token={cookie}\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    assert raw_request(server.url, request, shutdown=False).status == 404
    assert all(place.read_bytes() == SECRET for place in secrets_around)


@pytest.mark.parametrize(
    "file_id", ["../secret.txt", "..", "A" * 32, "0" * 31, "0" * 33, "0" * 32 + "\n", "/etc/passwd"]
)
def test_invalid_id_is_refused_before_the_disk_is_touched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file_id: str
) -> None:
    store = LocalStorage(tmp_path / "uploads", tmp_path / "tmp")
    store.recover()
    touched: list[str] = []

    def spy(real: Callable) -> Callable:
        def call(path: object, *args: object, **kwargs: object) -> object:
            touched.append(str(path))
            return real(path, *args, **kwargs)

        return call

    for module, name in [(os, "stat"), (os, "lstat"), (os, "open"), (io, "open"), (builtins, "open")]:
        monkeypatch.setattr(module, name, spy(getattr(module, name)))
    for operation in (store.open, store.delete):
        with pytest.raises(NotFound):
            operation(file_id)
    monkeypatch.undo()
    assert touched == []


def test_uppercase_hex_id_of_a_stored_file_is_404(server: LiveServer, session: requests.Session) -> None:
    file_id = upload(server, session, b"x", "a.bin")["id"]
    assert download(server, file_id).status_code == 200
    assert download(server, file_id.upper()).status_code == 404


@pytest.mark.parametrize("suffix", [".json", ".sqlite", "%0a", "%00", "/", "%2f", "%20", "%2e"])
def test_id_with_anything_after_it_is_404(server: LiveServer, session: requests.Session, suffix: str) -> None:
    file_id = upload(server, session, b"x", "a.bin")["id"]
    request = f"GET /files/{file_id}{suffix} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    response = raw_request(server.url, request, shutdown=False)
    assert response.status == 404
    assert b'"sha256"' not in response.body  # in particular, never an old-layout record file


def test_symlink_planted_under_a_key_is_not_followed_outside(tmp_path: Path, secrets_around: list[Path]) -> None:
    """Even a link someone managed to put in storage_path leads nowhere outside it."""
    store = LocalStorage(tmp_path / "store", tmp_path / "tmp")
    store.recover()
    key = "ab" * 16
    (store.storage_path / key).symlink_to(secrets_around[0])
    with pytest.raises(NotFound):
        store.open(key)


def test_traversal_filename_is_stored_under_a_generated_id_inside_storage_path(
    server: LiveServer, session: requests.Session
) -> None:
    info = upload(server, session, SECRET, "../../../../../../tmp/evil.txt")
    assert re.fullmatch(r"[0-9a-f]{32}", info["id"])
    assert (server.storage_path / info["id"]).read_bytes() == SECRET
    written = sorted(path for path in server.storage_path.parent.rglob("*") if path.is_file())
    assert written == [server.storage_path / info["id"]]


# -- Range abuse: answered, never a 500, never the wrong bytes ------------------------------


@pytest.mark.parametrize(
    "range_header",
    [
        "bytes=5-2",
        "bytes=999999-",
        "bytes=-0",
        "bytes=0-0,5-6",
        "bytes=abc",
        "items=0-1",
        "bytes=-99999999999999999999999",
        "bytes=0-99999999999999999999999",
        "bytes=--1",
        "bytes=" + ",".join(f"{n}-{n}" for n in range(500)),
    ],
)
def test_hostile_range_is_answered_without_error_and_with_true_bytes(
    server: LiveServer, session: requests.Session, range_header: str
) -> None:
    content = bytes(range(256)) * 4
    info = upload(server, session, content, "r.bin")
    response = download(server, info["id"], Range=range_header)
    assert response.status_code in (200, 206, 416)
    if response.status_code == 200:
        assert response.content == content
    elif response.status_code == 206:
        start, end = map(int, re.fullmatch(r"bytes (\d+)-(\d+)/1024", response.headers["Content-Range"]).groups())
        assert response.content == content[start : end + 1]


# -- every page: no framing, no referrer leaks ------------------------------------------------


def test_every_kind_of_response_forbids_framing_and_cross_origin_referrers(
    server: LiveServer, session: requests.Session
) -> None:
    file_id = upload(server, session, b"x", "a.bin")["id"]
    responses = {
        "home page": session.get(server.url + "/"),
        "file list": session.get(server.url + "/files", headers=JSON),
        "list redirect": session.get(server.url + "/files", allow_redirects=False),
        "404 page": session.get(server.url + "/nowhere"),
        "404 json": session.get(server.url + "/files/" + "0" * 32, headers=JSON),
        "refused upload page": requests.post(server.url + "/files", data=b"x", headers={"Content-Type": "text/plain"}),
        "refused upload json": session.post(server.url + "/files", data=b"x", headers=JSON),
        "static file": session.get(server.url + "/static/upload.css"),
    }
    for name, response in responses.items():
        assert response.status_code < 500, name
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], name
        assert response.headers["Referrer-Policy"] == "same-origin", name
        assert response.headers["X-Content-Type-Options"] == "nosniff", name
    download_headers = download(server, file_id).headers
    assert download_headers["X-Frame-Options"] == "DENY"
    assert download_headers["Referrer-Policy"] == "same-origin"


@on_both_backends
def test_sha256_and_etag_of_a_download_match_the_bytes(server: LiveServer, session: requests.Session) -> None:
    content = os.urandom(100_000)
    info = upload(server, session, content, "random.bin")
    response = download(server, info["id"])
    assert response.content == content
    assert response.headers["ETag"] == f'"{hashlib.sha256(content).hexdigest()}"'
    assert unquote(response.headers["Content-Disposition"].rpartition("''")[2]) == "random.bin"
