"""Resumable uploads with a real tus client (``tuspy``), through broken connections and a killed server.

The file is compared byte for byte with what the server then serves, and
its recorded SHA-256 with the file's. The broken connection and the killed
server run on both backends (``on_both_backends``: local disk and Ceph's RADOS
Gateway, with 5 MiB parts, so the cut falls between parts); the plain upload
is the cut one without the cut, so it runs on the local disk only.
"""

import hashlib
import io
import os
import signal

import pytest
from tusclient.client import TusClient

from .helpers import JSON, LiveServer, on_both_backends
from .tus_helpers import client_headers, send_half_and_close, tus_session

pytestmark = [pytest.mark.tus, pytest.mark.server]

MIB = 1024 * 1024


@pytest.fixture
def app_settings(app_settings: dict[str, str]) -> dict[str, str]:
    """Whatever the project's answers: any name, any type, room for a 64 MiB file."""
    return {**app_settings, "uploads.allowed_extensions": "", "uploads.allowed_types": "", "uploads.max_size": "1GB"}


def payload(size: int) -> bytes:
    """``size`` bytes that differ from chunk to chunk (a repeated block would hide a misplaced chunk)."""
    return b"".join(hashlib.sha256(str(block).encode()).digest() * 1024 for block in range(size // 32768 + 1))[:size]


def uploader(server: LiveServer, data: bytes, chunk_size: int, url: str | None = None):
    session = tus_session(server)
    client = TusClient(server.url + "/uploads/", headers=client_headers(session))
    return client.uploader(
        file_stream=io.BytesIO(data), chunk_size=chunk_size, metadata={"filename": "big.bin"}, url=url
    )


def stored(server: LiveServer, response_headers: dict[str, str]) -> tuple[bytes, dict]:
    """The bytes the server serves for the finished upload, and its record."""
    location = response_headers["upload-file-location"]
    session = server.client()  # signed in when accounts are on (a pserve server has no ``SignedIn``)
    record = next(f for f in session.get(server.url + "/files", headers=JSON, timeout=30).json()["files"])
    assert record["url"] == location
    return session.get(location, timeout=60).content, record


def test_tuspy_uploads_64_mib_in_8_mib_chunks(live_server):
    data = payload(64 * MIB)
    client = uploader(live_server, data, 8 * MIB)
    client.upload()
    content, record = stored(live_server, client.request.response_headers)
    assert content == data
    assert record["sha256"] == hashlib.sha256(data).hexdigest()


@on_both_backends
def test_a_64_mib_upload_cut_mid_chunk_resumes_to_an_identical_file(live_server):
    data = payload(64 * MIB)
    first = uploader(live_server, data, 8 * MIB)
    first.upload(stop_at=24 * MIB)
    assert first.offset == 24 * MIB
    send_half_and_close(first.url, tus_session(live_server), 24 * MIB, data[24 * MIB : 32 * MIB])
    resumed = uploader(live_server, data, 8 * MIB, url=first.url)
    assert resumed.offset == 24 * MIB  # the half chunk was never counted
    resumed.upload()
    content, record = stored(live_server, resumed.request.response_headers)
    assert content == data
    assert record["sha256"] == hashlib.sha256(data).hexdigest()


@on_both_backends
def test_an_upload_resumes_after_the_server_is_killed(pserve):
    data = payload(12 * MIB + 777)
    server = pserve(allowed_extensions="", allowed_types="", max_size="1GB")
    live = LiveServer(server.url, None, None)
    first = uploader(live, data, 2 * MIB)
    first.upload(stop_at=6 * MIB)  # on S3: one whole part and a tail
    send_half_and_close(first.url, tus_session(live), 6 * MIB, data[6 * MIB : 8 * MIB])
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=30)

    restarted = pserve(allowed_extensions="", allowed_types="", max_size="1GB")
    live = LiveServer(restarted.url, None, None)
    url = restarted.url + "/uploads/" + first.url.rsplit("/", 1)[1]
    resumed = uploader(live, data, 2 * MIB, url=url)
    assert resumed.offset == 6 * MIB
    resumed.upload()
    content, record = stored(live, resumed.request.response_headers)
    assert content == data
    assert record["sha256"] == hashlib.sha256(data).hexdigest()
    assert os.path.basename(record["url"]) == url.rsplit("/", 1)[1]
