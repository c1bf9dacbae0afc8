"""The S3 backend through real HTTP, on a real Ceph RADOS Gateway (``ceph.py``).

The suites of uploads, downloads (Range, conditional), deletes and hostile
inputs run on both backends (``helpers.on_both_backends``). Here: what only
S3 has or can do wrong: the object's type and ACL, ranges across parts,
refusals that keep no multipart upload, a store that goes down, refuses
access or loses its bucket and comes back, HEAD without a GetObject, a
server SIGKILLed mid-upload, presigned redirects, cleaning, and two
``pserve`` instances sharing PostgreSQL and one bucket.
"""

import contextlib
import hashlib
import json
import os
import signal
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from {{ cookiecutter.project_slug }} import main
from {{ cookiecutter.project_slug }}.settings import SettingsError
from {{ cookiecutter.project_slug }}.sniffing import served_type

from .bodies import body, content_type, file_part, raw_request
from .ceph import CephCluster, bucket_contents
from .helpers import JSON, PROJECT, TESTING_INI, LiveServer, PserveServer, list_all, poll_while_running, upload

pytestmark = [pytest.mark.s3, pytest.mark.server]

MIB = 1024 * 1024
# Whatever the project's answers: the tests' files are accepted.
OPEN = {"allowed_extensions": "", "allowed_types": ""}


def uploads_settings(s3_settings: dict[str, str]) -> dict[str, str]:
    """``s3_settings`` as ``make_live_server`` and ``pserve`` take them (without the ``uploads.``)."""
    return {name.removeprefix("uploads."): value for name, value in s3_settings.items()}


@pytest.fixture
def server(make_live_server: Callable[..., LiveServer], s3_settings: dict[str, str]) -> LiveServer:
    return make_live_server(**OPEN, **uploads_settings(s3_settings), **{"s3.part_size": "5MiB"})


@pytest.fixture
def bucket(ceph: CephCluster, s3_settings: dict[str, str]) -> Callable[[], tuple[list[str], list[str]]]:
    """What the bucket holds under the prefix: ``(object keys, multipart upload keys)``."""
    client = ceph.client()
    return lambda: bucket_contents(client, s3_settings["uploads.s3.bucket"], s3_settings["uploads.s3.prefix"])


def test_an_upload_is_kept_byte_identical_with_its_sniffed_type_and_no_acl(
    server: LiveServer, ceph: CephCluster, s3_settings: dict[str, str], bucket: Callable
) -> None:
    data = b"%PDF-1.4\n" + os.urandom(12 * MIB)  # three parts of 5 MiB
    (record,) = upload(server, server.client(), ("report.pdf", data))
    name = s3_settings["uploads.s3.prefix"] + record["id"]
    stored = ceph.client().get_object(Bucket=s3_settings["uploads.s3.bucket"], Key=name)
    assert hashlib.sha256(stored["Body"].read()).hexdigest() == hashlib.sha256(data).hexdigest() == record["sha256"]
    assert stored["ContentType"] == "application/pdf"
    acl = ceph.client().get_object_acl(Bucket=s3_settings["uploads.s3.bucket"], Key=name)
    assert [grant["Permission"] for grant in acl["Grants"]] == ["FULL_CONTROL"]  # the owner only
    assert bucket() == ([record["id"]], [])


def test_an_upload_is_listed_and_downloaded_with_the_local_backends_headers(server: LiveServer) -> None:
    data = os.urandom(100_000)
    (record,) = upload(server, server.client(), ("été.bin", data))
    assert [file["id"] for file in list_all(server)] == [record["id"]]
    response = requests.get(f"{server.url}/files/{record['id']}", timeout=30)
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["ETag"] == f'"{record["sha256"]}"'
    disposition = "attachment; filename=\"ete.bin\"; filename*=UTF-8''%C3%A9t%C3%A9.bin"
    assert response.headers["Content-Disposition"] == disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in response.headers
    assert response.headers["Accept-Ranges"] == "bytes"


def test_a_range_is_206_with_those_bytes_only(server: LiveServer) -> None:
    data = os.urandom(7 * MIB)
    (record,) = upload(server, server.client(), ("a.bin", data))
    ranged = {"Range": "bytes=5000000-5999999"}
    response = requests.get(f"{server.url}/files/{record['id']}", headers=ranged, timeout=30)
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 5000000-5999999/{len(data)}"
    assert response.content == data[5_000_000:6_000_000]


def test_delete_removes_the_record_and_the_object(server: LiveServer, bucket: Callable) -> None:
    client = server.client()
    (record,) = upload(server, client, ("a.bin", b"to delete"))
    assert client.delete(f"{server.url}/files/{record['id']}", timeout=30).status_code == 204
    assert requests.get(f"{server.url}/files/{record['id']}", timeout=30).status_code == 404
    assert list_all(server) == []
    assert bucket() == ([], [])


@pytest.mark.parametrize(
    ("overrides", "status"),
    [({"max_size": "6MiB"}, 413), ({"allowed_types": "image/*"}, 415)],
    ids=["over-max-size", "disallowed-type"],
)
def test_a_refused_upload_keeps_no_object_and_no_multipart_upload(
    make_live_server: Callable[..., LiveServer],
    s3_settings: dict[str, str],
    bucket: Callable,
    overrides: dict[str, str],
    status: int,
) -> None:
    settings = {**OPEN, **uploads_settings(s3_settings), "s3.part_size": "5MiB", **overrides}
    server = make_live_server(**settings)
    session = server.client()
    # Chunked, without a Content-Length to refuse it by: the limit strikes after parts were sent.
    payload = body(file_part(b"\0" * (8 * MIB)))
    response = session.post(
        f"{server.url}/files",
        data=(payload[i : i + MIB] for i in range(0, len(payload), MIB)),
        headers={**JSON, "Content-Type": content_type()},
        timeout=60,
    )
    assert response.status_code == status, response.text
    assert bucket() == ([], [])
    assert list_all(server) == []


def test_a_truncated_body_after_parts_were_sent_keeps_nothing(server: LiveServer, bucket: Callable) -> None:
    session = server.client()
    payload = body(file_part(os.urandom(11 * MIB)), close=False)  # no closing boundary
    token = session.headers["X-CSRF-Token"]
    cookie = "; ".join(f"{name}={value}" for name, value in session.cookies.items())
    head = (
        f"POST /files HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type()}\r\n"
        f"Content-Length: {len(payload)}\r\nAccept: application/json\r\nX-CSRF-Token: {token}\r\n"
        f"Cookie: {cookie}\r\nConnection: close\r\n\r\n"
    ).encode()
    assert raw_request(server.url, head + payload).status == 400
    assert bucket() == ([], [])
    assert list_all(server) == []


def test_a_client_gone_mid_body_leaves_nothing_and_the_server_serving(server: LiveServer, bucket: Callable) -> None:
    session = server.client()
    payload = body(file_part(os.urandom(6 * MIB)))
    head = (
        f"POST /files HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type()}\r\n"
        f"Content-Length: {len(payload)}\r\nAccept: application/json\r\n"
        f"X-CSRF-Token: {session.headers['X-CSRF-Token']}\r\n"
        f"Cookie: {'; '.join(f'{name}={value}' for name, value in session.cookies.items())}\r\n\r\n"
    ).encode()
    assert raw_request(server.url, head + payload[: len(payload) // 2]).status == 0  # gave up half-way
    assert bucket() == ([], [])
    (record,) = upload(server, session, ("after.bin", b"still serving"))
    assert bucket() == ([record["id"]], [])


def test_a_store_that_is_down_answers_503_keeps_nothing_and_recovers_without_a_restart(
    server: LiveServer, ceph: CephCluster, bucket: Callable
) -> None:
    session = server.client()
    (kept,) = upload(server, session, ("kept.bin", b"before the outage"))
    ceph.stop_gateway()
    try:
        refused = session.post(f"{server.url}/files", files=[("file", ("a.bin", b"x"))], headers=JSON, timeout=60)
        assert refused.status_code == 503
        assert "uploads.s3.endpoint_url" in refused.json()["error"]
        download = requests.get(f"{server.url}/files/{kept['id']}", headers=JSON, timeout=60)
        assert download.status_code == 503
    finally:
        ceph.start_gateway()
    assert bucket() == ([kept["id"]], [])
    (again,) = upload(server, session, ("a.bin", b"after the outage"))
    assert requests.get(f"{server.url}/files/{again['id']}", timeout=30).content == b"after the outage"


def test_a_bucket_gone_while_serving_answers_503_naming_the_setting_and_recovers(
    server: LiveServer, ceph: CephCluster, s3_settings: dict[str, str]
) -> None:
    session = server.client()
    name = s3_settings["uploads.s3.bucket"]
    ceph.client().delete_bucket(Bucket=name)
    refused = session.post(f"{server.url}/files", files=[("file", ("a.bin", b"x"))], headers=JSON, timeout=60)
    assert refused.status_code == 503
    assert "uploads.s3.bucket" in refused.json()["error"]
    ceph.client().create_bucket(Bucket=name)
    (record,) = upload(server, session, ("a.bin", b"the bucket is back"))
    assert requests.get(f"{server.url}/files/{record['id']}", timeout=30).content == b"the bucket is back"


def denying(bucket: str, *actions: str) -> str:
    """A bucket policy that refuses ``actions`` on every object of ``bucket`` to everyone, its owner too."""
    statement = {"Effect": "Deny", "Principal": "*", "Action": list(actions), "Resource": [f"arn:aws:s3:::{bucket}/*"]}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def test_a_store_that_refuses_access_answers_503_naming_the_cause_keeps_nothing_and_recovers(
    server: LiveServer, ceph: CephCluster, s3_settings: dict[str, str], bucket: Callable
) -> None:
    session = server.client()
    (kept,) = upload(server, session, ("kept.bin", b"before the refusal"))
    name = s3_settings["uploads.s3.bucket"]
    ceph.client().put_bucket_policy(Bucket=name, Policy=denying(name, "s3:PutObject", "s3:GetObject"))
    try:
        refused = session.post(f"{server.url}/files", files=[("file", ("a.bin", b"x"))], headers=JSON, timeout=60)
        assert refused.status_code == 503
        assert "refused access" in refused.json()["error"]
        download = requests.get(f"{server.url}/files/{kept['id']}", headers=JSON, timeout=60)
        assert download.status_code == 503
        assert "refused access" in download.json()["error"]
    finally:
        ceph.client().delete_bucket_policy(Bucket=name)
    assert bucket() == ([kept["id"]], [])
    (again,) = upload(server, session, ("a.bin", b"access is back"))
    assert requests.get(f"{server.url}/files/{again['id']}", timeout=30).content == b"access is back"


def test_head_answers_the_headers_of_get_without_reading_the_object(
    server: LiveServer, ceph: CephCluster, s3_settings: dict[str, str]
) -> None:
    (record,) = upload(server, server.client(), ("été.pdf", b"%PDF-1.4\n" + os.urandom(50_000)))
    url = f"{server.url}/files/{record['id']}"
    get = requests.get(url, timeout=30)
    name = s3_settings["uploads.s3.bucket"]
    # With GetObject refused, only an answer that never reads the object can succeed.
    ceph.client().put_bucket_policy(Bucket=name, Policy=denying(name, "s3:GetObject"))
    try:
        head = requests.head(url, timeout=30)
        assert requests.get(url, headers=JSON, timeout=30).status_code == 503
    finally:
        ceph.client().delete_bucket_policy(Bucket=name)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    del head.headers["Date"], get.headers["Date"]
    assert head.headers == get.headers


def test_a_bucket_gone_with_its_objects_answers_downloads_503_naming_the_setting(
    server: LiveServer, ceph: CephCluster, s3_settings: dict[str, str]
) -> None:
    (record,) = upload(server, server.client(), ("a.bin", b"soon without a bucket"))
    name = s3_settings["uploads.s3.bucket"]
    ceph.client().delete_object(Bucket=name, Key=s3_settings["uploads.s3.prefix"] + record["id"])
    ceph.client().delete_bucket(Bucket=name)
    try:
        download = requests.get(f"{server.url}/files/{record['id']}", headers=JSON, timeout=60)
        assert download.status_code == 503
        assert "uploads.s3.bucket" in download.json()["error"]
    finally:
        ceph.client().create_bucket(Bucket=name)


def test_a_missing_bucket_at_start_up_stops_the_app_naming_the_setting(
    app_settings: dict[str, str], s3_settings: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", tempfile.tempdir)  # main() points it at temp_path
    settings = {**app_settings, **s3_settings, "uploads.s3.bucket": "no-such-bucket"}
    with pytest.raises(SettingsError, match=r"^uploads\.s3\.bucket: .*no-such-bucket"):
        main({"here": str(PROJECT), "__file__": str(TESTING_INI)}, **settings)


def test_redirect_downloads_answer_307_to_a_url_that_serves_the_same_safe_headers(
    make_live_server: Callable[..., LiveServer], s3_settings: dict[str, str]
) -> None:
    server = make_live_server(**OPEN, **uploads_settings(s3_settings), **{"s3.redirect_downloads": "true"})
    page = b"<!DOCTYPE html><html><script>alert(1)</script></html>"
    (record,) = upload(server, server.client(), ("page.html", page))
    proxied_disposition = "attachment; filename=\"page.html\"; filename*=UTF-8''page.html"
    response = requests.get(f"{server.url}/files/{record['id']}", allow_redirects=False, timeout=30)
    assert response.status_code == 307
    assert response.headers["Cache-Control"] == "private, no-store"
    from_store = requests.get(response.headers["Location"], headers={"Range": "bytes=0-14"}, timeout=30)
    assert (from_store.status_code, from_store.content) == (206, page[:15])
    assert from_store.headers["Content-Type"] == served_type(record["content_type"]) == "application/octet-stream"
    assert from_store.headers["Content-Disposition"] == proxied_disposition


def test_redirect_downloads_still_answer_conditional_requests_in_the_app(
    make_live_server: Callable[..., LiveServer], s3_settings: dict[str, str]
) -> None:
    server = make_live_server(**OPEN, **uploads_settings(s3_settings), **{"s3.redirect_downloads": "true"})
    (record,) = upload(server, server.client(), ("a.bin", b"cached"))
    etag = {"If-None-Match": f'"{record["sha256"]}"'}
    response = requests.get(f"{server.url}/files/{record['id']}", headers=etag, allow_redirects=False, timeout=30)
    assert response.status_code == 304


# -- cleaning and crashes -------------------------------------------------------------------


def test_clean_removes_unrecorded_objects_and_stale_multipart_uploads(
    pserve: Callable[..., PserveServer], ceph: CephCluster, s3_settings: dict[str, str], bucket: Callable
) -> None:
    client = ceph.client()
    name, prefix = s3_settings["uploads.s3.bucket"], s3_settings["uploads.s3.prefix"]
    client.put_object(Bucket=name, Key=prefix + "a" * 32, Body=b"no record names me")
    client.create_multipart_upload(Bucket=name, Key=prefix + "b" * 32)
    client.put_object(Bucket=name, Key="elsewhere/" + "c" * 32, Body=b"not under the prefix: not ours")
    server = pserve(**OPEN, **uploads_settings(s3_settings), clean_after="0s")
    assert bucket() == ([], [])
    assert client.head_object(Bucket=name, Key="elsewhere/" + "c" * 32)["ContentLength"] == 30
    assert list_all(LiveServer(server.url, Path(), Path())) == []


def test_server_killed_mid_upload_leaves_no_object_no_multipart_upload_and_no_record_after_restart(
    pserve: Callable[..., PserveServer], s3_settings: dict[str, str], temp_path: Path, bucket: Callable
) -> None:
    settings = {**OPEN, **uploads_settings(s3_settings), "s3.part_size": "5MiB", "chunk_size": "1KB"}
    first = pserve(**settings)
    session = LiveServer(first.url, Path(), temp_path).client()
    survivor = os.urandom(100_000)
    (kept,) = upload(LiveServer(first.url, Path(), temp_path), session, ("survivor.bin", survivor))
    big = os.urandom(64 * MIB)

    def send() -> None:
        with contextlib.suppress(requests.RequestException):  # the server is killed under it
            session.post(f"{first.url}/files", files=[("file", ("big.bin", big))], headers=JSON, timeout=120)

    uploader = threading.Thread(target=send)
    uploader.start()
    server_running = lambda: first.process.poll() is None  # noqa: E731
    multipart_open = lambda: bucket()[1] != []  # noqa: E731
    assert poll_while_running(multipart_open, server_running, uploader.is_alive), "the big upload never started"
    # Freeze the server, check that the upload is still open, then kill it:
    # nothing can finish in between, whatever the machine's speed.
    first.process.send_signal(signal.SIGSTOP)
    assert multipart_open(), "the upload finished before the server could be stopped"
    first.process.kill()  # SIGKILL: no handler runs, the multipart upload stays open
    first.process.wait()
    uploader.join()  # its connection was reset by the kill

    second = pserve(**settings)  # the same temp_path: it finds its note of the upload it started
    assert bucket() == ([kept["id"]], [])
    assert [file["id"] for file in list_all(LiveServer(second.url, Path(), temp_path))] == [kept["id"]]
    assert list(temp_path.glob("s3-upload-*")) == []


# -- many instances, one service ------------------------------------------------------------


@pytest.mark.postgresql
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_instances_sharing_postgresql_and_a_bucket_behave_as_one_service(
    pserve: Callable[..., PserveServer], s3_settings: dict[str, str], tmp_path: Path, bucket: Callable
) -> None:
    settings = {**OPEN, **uploads_settings(s3_settings)}
    one = LiveServer(pserve(**settings, temp_path=str(tmp_path / "tmp-one")).url, Path(), tmp_path / "tmp-one")
    two = LiveServer(pserve(**settings, temp_path=str(tmp_path / "tmp-two")).url, Path(), tmp_path / "tmp-two")
    data = os.urandom(300_000)
    (record,) = upload(one, one.client(), ("a.bin", data))
    assert [file["id"] for file in list_all(two)] == [record["id"]]
    assert two.client().get(f"{two.url}/files/{record['id']}", timeout=30).content == data
    ranged = two.client().get(f"{two.url}/files/{record['id']}", headers={"Range": "bytes=1000-1999"}, timeout=30)
    assert (ranged.status_code, ranged.content) == (206, data[1000:2000])
    assert two.client().delete(f"{two.url}/files/{record['id']}", timeout=30).status_code == 204
    assert one.client().get(f"{one.url}/files/{record['id']}", timeout=30).status_code == 404

    # Sixteen clients over both: each uploads through one instance and checks through the other;
    # every other one deletes its file there.
    servers = (one, two)

    def client(n: int) -> tuple[str, bool]:
        near, far = servers[n % 2], servers[(n + 1) % 2]
        content = f"client {n} ".encode() * 1000
        (stored,) = upload(near, near.client(), (f"{n}.txt", content))
        assert far.client().get(f"{far.url}/files/{stored['id']}", timeout=30).content == content
        if n % 2:
            assert far.client().delete(f"{far.url}/files/{stored['id']}", timeout=30).status_code == 204
        return stored["id"], n % 2 == 0

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(client, range(16)))
    kept = sorted(file_id for file_id, keep in results if keep)
    for server in servers:
        listed = [file["id"] for file in list_all(server)]
        assert sorted(listed) == kept  # nothing lost, no duplicate
    assert sorted(bucket()[0]) == kept
    assert bucket()[1] == []


@pytest.mark.postgresql
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_an_instances_start_up_never_touches_another_instances_upload_in_flight(
    pserve: Callable[..., PserveServer],
    ceph: CephCluster,
    s3_settings: dict[str, str],
    tmp_path: Path,
    bucket: Callable,
) -> None:
    settings = {**OPEN, **uploads_settings(s3_settings)}
    # Instance one's upload in flight, as its process keeps it: a multipart upload, noted in its temp_path.
    name = s3_settings["uploads.s3.prefix"] + "d" * 32
    in_flight = ceph.client().create_multipart_upload(Bucket=s3_settings["uploads.s3.bucket"], Key=name)
    (tmp_path / "tmp-one").mkdir()
    (tmp_path / "tmp-one" / f"s3-upload-{'d' * 32}").write_text(in_flight["UploadId"])
    pserve(**settings, temp_path=str(tmp_path / "tmp-two"))  # instance two starts, and cleans
    assert bucket() == ([], ["d" * 32])
    pserve(**settings, temp_path=str(tmp_path / "tmp-one"))  # instance one restarts: its own is aborted
    assert bucket() == ([], [])
