"""Out of space on a real small filesystem: every case answers 507 and keeps nothing.

``temp_path`` (where waitress spools bodies and uploads are staged) is a
4 MiB tmpfs mounted for each test, so the disk really fills, in waitress's
spool or in the staging file, as it would in production. Mounting needs
root (or CAP_SYS_ADMIN): without it these tests are skipped, saying so,
unless ``REQUIRE_TMPFS=1`` is set (as the template's CI does), when they fail.
"""

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest

from .bodies import body, content_type, everything_under, file_part, raw_request
from .helpers import LiveServer
from .tus_helpers import create, patch, tus_session
from .wire import head, served

pytestmark = pytest.mark.server

MIB = 1024 * 1024
DISK = 4 * MIB
LIMIT = 64 * MIB  # far above the disk: space, not size, is what runs out
JSON = {"Accept": "application/json"}


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs, mounted for the test and unmounted after it."""
    mountpoint = tmp_path / "small-disk"
    mountpoint.mkdir()
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK // 1024}k,mode=0700", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
    )
    if mount.returncode != 0:
        reason = (
            f"these tests mount a {DISK // MIB} MiB tmpfs and need root (or CAP_SYS_ADMIN) for it: "
            f"mount said {mount.stderr.strip() or mount.returncode!r}"
        )
        if os.environ.get("REQUIRE_TMPFS"):
            pytest.fail(reason + " (REQUIRE_TMPFS is set, so this is a failure)")
        pytest.skip(reason)
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", str(mountpoint)], check=True)


@pytest.fixture
def server(app_settings: dict[str, str], small_disk: Path) -> Iterator[LiveServer]:
    """The app under server.py with ``temp_path`` on the small disk."""
    with served(app_settings, max_size=LIMIT, temp_path=str(small_disk / "tmp")) as live:
        yield live


def used(directory: Path) -> int:
    """Bytes in use on the filesystem of ``directory``."""
    stats = os.statvfs(directory)
    return (stats.f_blocks - stats.f_bfree) * stats.f_frsize


def chunked(data: bytes, size: int = 256 * 1024) -> Iterator[bytes]:
    return iter([data[i : i + size] for i in range(0, len(data), size)])


def test_declared_length_over_the_free_space_is_507_before_the_body_is_read(server: LiveServer) -> None:
    fields = ("Host: 127.0.0.1", "Accept: application/json", f"Content-Type: {content_type()}", "Expect: 100-continue")
    sent = head("POST /files HTTP/1.1", *fields, f"Content-Length: {50 * MIB}")  # the head only
    response = raw_request(server.url, sent, shutdown=False, timeout=30)
    assert response.status == 507
    assert b"100 Continue" not in response.body
    assert "no space" in json.loads(response.body)["error"]
    assert everything_under(server.storage_path, server.temp_path) == []


def test_spool_filling_up_while_a_chunked_body_arrives_is_507(server: LiveServer) -> None:
    """No declared length: waitress's spool runs out of space mid-body (it closed the connection unanswered)."""
    session = server.client()
    data = body(file_part(b"s" * (6 * MIB)))
    response = session.post(
        server.url + "/files", data=chunked(data), headers={**JSON, "Content-Type": content_type()}, timeout=60
    )
    assert response.status_code == 507
    assert "no space" in response.json()["error"]
    assert everything_under(server.storage_path, server.temp_path) == []


def test_space_running_out_while_staging_is_507(server: LiveServer) -> None:
    """3 MiB fit in the spool, not twice: the staging file fills the disk (and its close() fails again)."""
    session = server.client()
    data = body(file_part(b"t" * (3 * MIB)))
    response = session.post(
        server.url + "/files", data=data, headers={**JSON, "Content-Type": content_type()}, timeout=60
    )
    assert response.status_code == 507
    assert "no space" in response.json()["error"]
    assert everything_under(server.storage_path, server.temp_path) == []


def test_browser_gets_the_page_with_the_message_when_the_disk_is_full(server: LiveServer) -> None:
    session = server.client()
    data = body(file_part(b"s" * (6 * MIB)))
    response = session.post(
        server.url + "/files", data=chunked(data), headers={"Content-Type": content_type()}, timeout=60
    )
    assert response.status_code == 507
    assert response.headers["Content-Type"].startswith("text/html")
    assert "no space left" in response.text


def test_server_stores_uploads_again_once_a_full_spool_is_refused(server: LiveServer, small_disk: Path) -> None:
    session = server.client()
    headers = {**JSON, "Content-Type": content_type()}
    refused = session.post(
        server.url + "/files", data=chunked(body(file_part(b"s" * (6 * MIB)))), headers=headers, timeout=60
    )
    assert refused.status_code == 507
    assert used(small_disk) < MIB  # the spool was given back before the answer
    stored = session.post(server.url + "/files", data=body(file_part(b"k" * MIB)), headers=headers, timeout=60)
    assert stored.status_code == 201


def test_a_finished_resumable_upload_that_finds_the_disk_full_is_kept_and_stored_once_there_is_space(
    app_settings: dict[str, str], small_disk: Path
) -> None:
    """Here ``storage_path`` is on the small disk (``temp_path`` is not): storing the finished
    upload runs out of space, its bytes stay staged, and the client's next HEAD stores them."""
    filler = small_disk / "filler"
    with served(app_settings, max_size=LIMIT, storage_path=str(small_disk / "files")) as server:
        filler.write_bytes(b"f" * (3 * MIB))
        session = tus_session(server)
        data = os.urandom(2 * MIB)
        url = create(session, server.url, len(data))
        refused = patch(session, url, 0, data, Accept="application/json")
        assert refused.status_code == 507
        assert "no space" in refused.json()["error"]
        assert list((small_disk / "files").iterdir()) == []
        filler.unlink()
        done = session.head(url, timeout=30)
        assert done.status_code == 200
        assert done.headers["Upload-Offset"] == str(len(data))
        stored = session.get(urljoin(server.url, done.headers["Upload-File-Location"]), timeout=30)
        assert stored.content == data
