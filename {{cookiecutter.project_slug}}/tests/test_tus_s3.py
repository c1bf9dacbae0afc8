"""Resumable (tus) uploads on the S3 backend, as the bucket sees them: parts, a tail, nothing left behind.

The tus suites (``test_tus_protocol.py``, ``test_tus_clients.py``) run on
Ceph's RADOS Gateway too; these tests look into the bucket (the objects and
multipart uploads under the prefix) where S3 differs from the local disk:
whole parts go to a multipart upload, the rest to a tail object, the last
byte completes the object, and termination, expiry and cleaning must leave
neither. Parts are 5 MiB (conftest's ``app_settings``), S3's smallest.
"""

import hashlib
import io
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import delete
from tusclient.client import TusClient

from {{ cookiecutter.project_slug }}.models import UploadInProgress

from .ceph import CephCluster, bucket_contents
from .helpers import JSON, LiveServer
from .tus_helpers import backdate, client_headers, create, lease_held_elsewhere, patch, run_clean, tus_session

pytestmark = [pytest.mark.s3, pytest.mark.tus, pytest.mark.server]

MIB = 1024 * 1024


@pytest.fixture
def backend() -> str:
    return "s3"


@pytest.fixture
def app_settings(app_settings: dict[str, str]) -> dict[str, str]:
    """Whatever the project's answers: any name, any type."""
    return {**app_settings, "uploads.allowed_extensions": "", "uploads.allowed_types": ""}


@pytest.fixture
def bucket(ceph: CephCluster, s3_settings: dict[str, str]) -> Callable[[], tuple[list[str], list[str]]]:
    """What the bucket holds under the prefix: ``(object keys, multipart upload keys)``."""
    client = ceph.client()
    return lambda: bucket_contents(client, s3_settings["uploads.s3.bucket"], s3_settings["uploads.s3.prefix"])


def started(server: LiveServer, data: bytes, sent: int) -> tuple[object, str, str]:
    """An upload of ``data`` with its first ``sent`` bytes sent: the session, its URL and its id."""
    session = tus_session(server)
    url = create(session, server.url, len(data))
    assert patch(session, url, 0, data[:sent]).status_code == 204
    return session, url, url.rsplit("/", 1)[1]


def test_a_finished_upload_is_one_object_with_its_sniffed_type_and_nothing_else(
    live_server: LiveServer, ceph: CephCluster, s3_settings: dict[str, str], bucket: Callable
) -> None:
    data = b"%PDF-1.4\n" + os.urandom(12 * MIB)
    session, url, upload_id = started(live_server, data, 7 * MIB)
    assert bucket()[1] == [upload_id]  # a whole part was sent
    last = patch(session, url, 7 * MIB, data[7 * MIB :])
    assert last.status_code == 204
    assert bucket() == ([upload_id], [])
    stored = ceph.client().get_object(
        Bucket=s3_settings["uploads.s3.bucket"], Key=s3_settings["uploads.s3.prefix"] + upload_id
    )
    assert stored["ContentType"] == "application/pdf"
    assert stored["Body"].read() == data


def test_termination_aborts_the_multipart_upload_and_removes_every_object(
    live_server: LiveServer, bucket: Callable
) -> None:
    session, url, upload_id = started(live_server, os.urandom(12 * MIB), 7 * MIB)
    assert bucket()[1] == [upload_id]
    assert session.delete(url, timeout=30).status_code == 204
    assert bucket() == ([], [])


def test_the_clean_command_removes_an_expired_upload_with_its_parts(
    app: object,
    live_server: LiveServer,
    bucket: Callable,
    tmp_path: Path,
    database_url: str,
    app_settings: dict[str, str],
) -> None:
    _, url, _ = started(live_server, os.urandom(12 * MIB), 7 * MIB)
    backdate(app, url)
    assert "removed 1 expired uploads in progress" in run_clean(tmp_path / "clean.ini", database_url, app_settings)
    assert bucket() == ([], [])


def test_cleaning_removes_an_upload_no_record_names(
    app: object,
    live_server: LiveServer,
    bucket: Callable,
    tmp_path: Path,
    database_url: str,
    app_settings: dict[str, str],
) -> None:
    started(live_server, os.urandom(12 * MIB), 7 * MIB)
    with app.registry["dbsession_factory"]() as dbsession, dbsession.begin():  # as a crash at creation leaves it
        dbsession.execute(delete(UploadInProgress))
    output = run_clean(tmp_path / "clean.ini", database_url, app_settings, clean_after="0s")
    assert "and 1 without a record" in output
    assert bucket() == ([], [])


def test_cleaning_leaves_the_parts_of_an_upload_in_progress_however_old(
    live_server: LiveServer,
    bucket: Callable,
    tmp_path: Path,
    database_url: str,
    app_settings: dict[str, str],
) -> None:
    data = os.urandom(12 * MIB)
    session, url, upload_id = started(live_server, data, 7 * MIB)
    run_clean(tmp_path / "clean.ini", database_url, app_settings, clean_after="0s")
    assert bucket()[1] == [upload_id]
    last = patch(session, url, 7 * MIB, data[7 * MIB :])
    assert session.get(last.headers["Upload-File-Location"], timeout=60).content == data


@pytest.mark.postgresql
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_chunks_sent_to_two_instances_make_one_identical_file(pserve: Callable, tmp_path: Path) -> None:
    servers = [
        LiveServer(pserve(allowed_extensions="", allowed_types="", temp_path=str(tmp_path / name)).url, None, None)
        for name in ("tmp-one", "tmp-two")
    ]
    sessions = [tus_session(server) for server in servers]
    data = os.urandom(12 * MIB + 5)
    url = create(sessions[0], servers[0].url, len(data)).rsplit("/", 1)[1]
    for number, offset in enumerate(range(0, len(data), 3 * MIB)):  # each chunk to the other instance
        server, session = servers[number % 2], sessions[number % 2]
        answer = patch(session, f"{server.url}/uploads/{url}", offset, data[offset : offset + 3 * MIB])
        assert answer.status_code == 204, answer.text
    listed = sessions[1].get(servers[1].url + "/files", headers=JSON, timeout=30).json()["files"]
    assert [(file["id"], file["sha256"]) for file in listed] == [(url, hashlib.sha256(data).hexdigest())]
    assert sessions[0].get(answer.headers["Upload-File-Location"], timeout=60).content == data


def test_a_completion_the_store_refused_is_finished_once_by_tuspy_when_the_store_is_back(
    app: object, live_server: LiveServer, ceph: CephCluster, s3_settings: dict[str, str]
) -> None:
    data = b"%PDF-1.4\n" + os.urandom(100_000)  # one tail: the last PATCH writes it, completion makes the object
    session = tus_session(live_server)
    url = create(session, live_server.url, len(data))
    upload_id = url.rsplit("/", 1)[1]
    bucket_name = s3_settings["uploads.s3.bucket"]
    the_object = f"arn:aws:s3:::{bucket_name}/{s3_settings['uploads.s3.prefix']}{upload_id}"  # not its tail
    statement = {"Effect": "Deny", "Principal": "*", "Action": ["s3:PutObject"], "Resource": [the_object]}
    policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    ceph.client().put_bucket_policy(Bucket=bucket_name, Policy=policy)
    try:
        refused = patch(session, url, 0, data)
        still_refused = session.head(url, timeout=30)
    finally:
        ceph.client().delete_bucket_policy(Bucket=bucket_name)
    assert refused.status_code == 503
    assert "refused access" in refused.json()["error"]
    assert still_refused.status_code == 423  # what tus clients retry after a delay
    with lease_held_elsewhere(app, upload_id):  # as if another instance were completing it now
        assert session.head(url, timeout=30).status_code == 423

    client = TusClient(live_server.url + "/uploads/", headers=client_headers(session))
    resumed = client.uploader(file_stream=io.BytesIO(data), url=url, chunk_size=MIB)  # its HEAD completes it
    resumed.upload()
    assert resumed.offset == len(data)
    listed = session.get(live_server.url + "/files", headers=JSON, timeout=30).json()["files"]
    assert [(info["id"], info["sha256"]) for info in listed] == [(upload_id, hashlib.sha256(data).hexdigest())]
    assert session.get(f"{live_server.url}/files/{upload_id}", timeout=60).content == data
