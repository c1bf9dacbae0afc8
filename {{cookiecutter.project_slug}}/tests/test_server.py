"""The app under real waitress: uploads with requests and curl, large bodies, ranges, and waitress's spool file."""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from waitress.adjustments import Adjustments

from .helpers import LiveServer, waitress_options

pytestmark = pytest.mark.server

MIB = 1024 * 1024
JSON = {"Accept": "application/json"}
CURL = shutil.which("curl")


def inbuf_overflow() -> int:
    """Bodies larger than this are spooled by waitress to a temp file (testing.ini's setting or the default)."""
    return Adjustments(**waitress_options()).inbuf_overflow


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(MIB):
            digest.update(block)
    return digest.hexdigest()


def random_file(path: Path, size: int) -> Path:
    with path.open("wb") as out:
        remaining = size
        while remaining:
            block = os.urandom(min(remaining, 4 * MIB))
            out.write(block)
            remaining -= len(block)
    return path


def download_sha256(session: requests.Session, url: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with session.get(url, stream=True, timeout=60) as response:
        response.raise_for_status()
        for block in response.iter_content(MIB):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def curl_upload(server: LiveServer, session: requests.Session, *form: str) -> dict:
    """``curl -F ...`` to /files with the session's CSRF cookie; returns the JSON answer."""
    assert CURL, "curl is not installed"
    cookie = f"csrf_token={session.cookies['csrf_token']}"
    form_args = [arg for field in form for arg in ("-F", field)]
    command = [CURL, "-sS", "--fail-with-body", "-H", "Accept: application/json", "-b", cookie, *form_args]
    result = subprocess.run([*command, server.url + "/files"], capture_output=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr.decode() + result.stdout.decode()
    return json.loads(result.stdout)


@pytest.fixture
def spools(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    """Where every ``tempfile.TemporaryFile`` (waitress's body spool) was created, while the test runs."""
    created: list[Path] = []
    real = tempfile.TemporaryFile

    def recording(*args: object, **kwargs: object) -> object:
        spool = real(*args, **kwargs)
        created.append(Path(os.readlink(f"/proc/self/fd/{spool.fileno()}")).parent)
        return spool

    monkeypatch.setattr(tempfile, "TemporaryFile", recording)
    yield created


def test_upload_with_requests_larger_than_waitress_buffer_is_stored_byte_for_byte(
    live_server: LiveServer, tmp_path: Path
) -> None:
    size = inbuf_overflow() * 4 + 12345
    assert size > 2 * MIB
    source = random_file(tmp_path / "upload.bin", size)
    session = live_server.client()
    with source.open("rb") as stream:
        response = session.post(
            live_server.url + "/files", files={"file": ("upload.bin", stream)}, headers=JSON, timeout=60
        )
    assert response.status_code == 201, response.text
    (info,) = response.json()["files"]
    assert info["size"] == size
    assert info["sha256"] == sha256_file(source)
    assert sha256_file(live_server.storage_path / info["id"]) == info["sha256"]
    assert download_sha256(session, info["url"]) == (info["sha256"], size)


def test_curl_form_upload_of_a_few_mib_with_the_token_as_a_field(live_server: LiveServer, tmp_path: Path) -> None:
    source = random_file(tmp_path / "few.bin", 3 * MIB + 7)
    session = live_server.client()
    token = session.headers["X-CSRF-Token"]
    answer = curl_upload(live_server, session, f"csrf_token={token}", f"file=@{source};filename=few.bin")
    (info,) = answer["files"]
    assert info["filename"] == "few.bin"
    assert info["sha256"] == sha256_file(source)
    assert sha256_file(live_server.storage_path / info["id"]) == info["sha256"]
    assert download_sha256(session, info["url"]) == (info["sha256"], 3 * MIB + 7)
    assert list(live_server.temp_path.iterdir()) == []


def test_curl_form_upload_of_64_mib_round_trips(live_server: LiveServer, tmp_path: Path) -> None:
    size = 64 * MIB
    source = random_file(tmp_path / "large.bin", size)
    expected = sha256_file(source)
    session = live_server.client()
    token = session.headers["X-CSRF-Token"]
    answer = curl_upload(live_server, session, f"csrf_token={token}", f"file=@{source};filename=large.bin")
    (info,) = answer["files"]
    assert info["size"] == size
    assert info["sha256"] == expected
    assert sha256_file(live_server.storage_path / info["id"]) == expected
    assert download_sha256(session, info["url"]) == (expected, size)
    assert list(live_server.temp_path.iterdir()) == []
    # 128 MiB is too much to leave in pytest's kept temp directories.
    source.unlink()
    (live_server.storage_path / info["id"]).unlink()


def test_curl_upload_with_the_token_as_a_header(live_server: LiveServer, tmp_path: Path) -> None:
    source = tmp_path / "note.txt"
    source.write_bytes(b"sent by curl\n")
    session = live_server.client()
    token = session.headers["X-CSRF-Token"]
    cookie = f"csrf_token={session.cookies['csrf_token']}"
    result = subprocess.run(
        [
            CURL,
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-H",
            f"X-CSRF-Token: {token}",
            "-b",
            cookie,
            "-F",
            f"file=@{source}",
            live_server.url + "/files",
        ],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert result.stdout == b"303"
    (info,) = session.get(live_server.url + "/files", headers=JSON, timeout=60).json()["files"]
    assert info["filename"] == "note.txt"


def test_curl_upload_without_the_token_is_refused_and_keeps_nothing(live_server: LiveServer, tmp_path: Path) -> None:
    source = random_file(tmp_path / "refused.bin", 2 * MIB)
    result = subprocess.run(
        [
            CURL,
            "-sS",
            "-H",
            "Accept: application/json",
            "-w",
            "\n%{http_code}",
            "-F",
            f"file=@{source}",
            live_server.url + "/files",
        ],
        capture_output=True,
        timeout=60,
        check=True,
    )
    body, _, status = result.stdout.rpartition(b"\n")
    assert status == b"400"
    assert "CSRF" in json.loads(body)["error"]
    assert list(live_server.storage_path.iterdir()) == []
    assert list(live_server.temp_path.iterdir()) == []


def test_several_files_in_one_request(live_server: LiveServer) -> None:
    payloads = {"one.bin": os.urandom(1000), "two.bin": os.urandom(inbuf_overflow() + 1), "three.bin": b""}
    session = live_server.client()
    files = [("file", (name, data)) for name, data in payloads.items()]
    response = session.post(live_server.url + "/files", files=files, headers=JSON, timeout=60)
    assert response.status_code == 201, response.text
    stored = response.json()["files"]
    assert [info["filename"] for info in stored] == list(payloads)
    for info in stored:
        assert (live_server.storage_path / info["id"]).read_bytes() == payloads[info["filename"]]


def test_chunked_transfer_encoding_upload_is_stored(live_server: LiveServer) -> None:
    session = live_server.client()
    boundary = "chunkedboundary42"
    data = os.urandom(MIB + 3)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="chunked.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:  # a generator: requests sends it chunked, without Content-Length
        yield head
        for start in range(0, len(data), 100_000):
            yield data[start : start + 100_000]
        yield tail

    response = session.post(
        live_server.url + "/files",
        data=body(),
        headers={**JSON, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        timeout=60,
    )
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert response.status_code == 201, response.text
    (info,) = response.json()["files"]
    assert info["sha256"] == hashlib.sha256(data).hexdigest()


def test_range_requests_over_http(live_server: LiveServer) -> None:
    data = os.urandom(3 * MIB)
    session = live_server.client()
    info = session.post(live_server.url + "/files", files={"file": ("r.bin", data)}, headers=JSON, timeout=60).json()[
        "files"
    ][0]
    for header, expected in [
        ("bytes=0-99", data[:100]),
        ("bytes=1048570-2097160", data[1048570:2097161]),
        ("bytes=-1000", data[-1000:]),
        ("bytes=3145000-", data[3145000:]),
    ]:
        response = session.get(info["url"], headers={"Range": header}, timeout=30)
        assert response.status_code == 206, header
        assert response.content == expected, header
        assert int(response.headers["Content-Length"]) == len(expected)


def test_download_over_http_has_length_etag_and_304(live_server: LiveServer) -> None:
    data = os.urandom(inbuf_overflow() + 1)
    session = live_server.client()
    info = session.post(live_server.url + "/files", files={"file": ("d.bin", data)}, headers=JSON, timeout=60).json()[
        "files"
    ][0]
    response = session.get(info["url"], timeout=30)
    assert response.content == data
    assert int(response.headers["Content-Length"]) == len(data)
    assert response.headers["ETag"] == f'"{info["sha256"]}"'
    again = session.get(info["url"], headers={"If-None-Match": response.headers["ETag"]}, timeout=30)
    assert again.status_code == 304
    head = session.head(info["url"], timeout=30)
    assert head.status_code == 200
    assert int(head.headers["Content-Length"]) == len(data)
    assert head.content == b""


def test_waitress_spools_large_bodies_in_temp_path_and_leaves_nothing_there(
    live_server: LiveServer, spools: list[Path]
) -> None:
    session = live_server.client()
    data = os.urandom(inbuf_overflow() * 2)
    response = session.post(live_server.url + "/files", files={"file": ("s.bin", data)}, headers=JSON, timeout=60)
    assert response.status_code == 201, response.text
    assert spools, "waitress did not spool the body to a temp file"
    assert set(spools) == {live_server.temp_path.resolve()}
    assert list(live_server.temp_path.iterdir()) == []


def test_delete_over_http(live_server: LiveServer) -> None:
    session = live_server.client()
    info = session.post(live_server.url + "/files", files={"file": ("x.bin", b"x")}, headers=JSON, timeout=30).json()[
        "files"
    ][0]
    assert session.delete(info["url"], timeout=30).status_code == 204
    assert session.get(info["url"], timeout=30).status_code == 404
    assert list(live_server.storage_path.iterdir()) == []
