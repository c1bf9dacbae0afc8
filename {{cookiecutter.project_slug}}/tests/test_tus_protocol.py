"""The tus 1.0 endpoint, request by request over real HTTP: every status the protocol names.

Raw requests (``requests``), not a tus client, so that each rule is seen
on the wire. The clock of expiry is the application's own, replaced by the
test (``app.registry["resumable"].clock``): nothing waits.

The tests whose outcome depends on where the bytes are kept (creation with
bytes, completion, hashing at the end, a chunk refused after it was read,
termination, concatenation, expiry and cleaning) run on both backends
(``on_both_backends``: local disk and Ceph's RADOS Gateway); the rest (headers,
offsets, leases, owners, CORS) are decided before the backend is asked, and
run on the local disk only.
"""

import base64
import hashlib
import socket
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from {{ cookiecutter.project_slug }} import {% if cookiecutter.access == "accounts" %}accounts, {% endif %}main
from {{ cookiecutter.project_slug }}.models import UploadInProgress
from {{ cookiecutter.project_slug }}.resumable import holder_name

from .helpers import BOTH_DATABASES, JSON, PROJECT, TESTING_INI, LiveServer, on_both_backends, server_options
from .tus_helpers import (
    GATED,
    OCTETS,
    TUS,
    GatedLocalStorage,
    backdate,
    create,
    in_thread,
    metadata,
    patch,
    run_clean,
    tus_session,
    twin,
)

pytestmark = [pytest.mark.tus, pytest.mark.server]

BODY = b"0123456789" * 1000


@pytest.fixture
def app_settings(app_settings: dict[str, str]) -> dict[str, str]:
    """Whatever the project's answers: any name, any type, room for the tests' files."""
    return {
        **app_settings,
        "uploads.allowed_extensions": "",
        "uploads.allowed_types": "",
        "uploads.max_size": "1MB",
        "uploads.tus_max_chunk": "64KB",
    }


@pytest.fixture
def session(live_server: LiveServer) -> requests.Session:
    return tus_session(live_server)


def tus_files(temp_path: Path) -> list[Path]:
    return sorted(temp_path.glob("tus-*"))


# -- OPTIONS and versions ------------------------------------------------------


def test_options_advertises_version_size_extensions_and_algorithms(live_server):
    response = requests.options(live_server.url + "/uploads/", timeout=10)
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert response.headers["Tus-Max-Size"] == str(1024 * 1024)
    assert set(response.headers["Tus-Extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "termination",
        "checksum",
        "expiration",
        "concatenation",
    }
    assert response.headers["Tus-Checksum-Algorithm"] == "sha1,sha256"


def test_a_request_without_tus_resumable_is_412_with_the_version(live_server, session):
    del session.headers["Tus-Resumable"]
    response = session.post(live_server.url + "/uploads/", headers={"Upload-Length": "10"}, timeout=10)
    assert response.status_code == 412
    assert response.headers["Tus-Version"] == "1.0.0"
    assert response.json()["code"] == "unsupported_version"


def test_another_tus_version_is_412(live_server, session):
    response = session.post(
        live_server.url + "/uploads/", headers={"Upload-Length": "10", "Tus-Resumable": "0.2.2"}, timeout=10
    )
    assert response.status_code == 412


# -- creation ------------------------------------------------------------------


def test_creation_answers_201_with_the_upload_url_and_head_reports_offset_zero(live_server, session):
    url = create(session, live_server.url, len(BODY))
    head = session.head(url, timeout=10)
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == "0"
    assert head.headers["Upload-Length"] == str(len(BODY))
    assert head.headers["Cache-Control"] == "no-store"
    assert head.headers["Upload-Metadata"] == metadata(filename="data.bin")
    assert head.headers["Tus-Resumable"] == "1.0.0"


def test_an_upload_length_over_the_limit_is_413_and_nothing_is_kept(live_server, session, temp_path):
    response = session.post(live_server.url + "/uploads/", headers={"Upload-Length": str(2**20 + 1)}, timeout=10)
    assert response.status_code == 413
    assert tus_files(temp_path) == []


def test_creation_without_csrf_token_is_403(live_server):
    response = requests.post(live_server.url + "/uploads/", headers={**TUS, "Upload-Length": "10"}, timeout=10)
    assert response.status_code == 403


def test_creation_with_both_length_and_deferral_is_400(live_server, session):
    headers = {"Upload-Length": "10", "Upload-Defer-Length": "1"}
    assert session.post(live_server.url + "/uploads/", headers=headers, timeout=10).status_code == 400


@on_both_backends
def test_creation_with_upload_stores_the_first_bytes(live_server, session):
    response = session.post(
        live_server.url + "/uploads/",
        data=BODY[:100],
        headers={**OCTETS, "Upload-Length": str(len(BODY))},
        timeout=10,
    )
    assert response.status_code == 201
    assert response.headers["Upload-Offset"] == "100"


@on_both_backends
def test_an_empty_upload_is_a_stored_file_at_creation(live_server, session):
    response = session.post(live_server.url + "/uploads/", headers={"Upload-Length": "0"}, timeout=10)
    assert response.status_code == 201
    assert requests.get(response.headers["Upload-File-Location"], timeout=10).content == b""


@pytest.mark.parametrize("value", ["-1", "abc", "1e3", "5 5", "0x10", "99999999999999999999"])
def test_a_malformed_upload_length_is_400(live_server, session, value):
    response = session.post(live_server.url + "/uploads/", headers={"Upload-Length": value}, timeout=10)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_header"


@pytest.mark.parametrize("value", ["filename ***", "filename YQ==,filename YQ==", "a b c", "filename /w==", ","])
def test_malformed_metadata_is_400(live_server, session, value):
    response = session.post(
        live_server.url + "/uploads/", headers={"Upload-Length": "1", "Upload-Metadata": value}, timeout=10
    )
    assert response.status_code == 400


def test_ten_thousand_metadata_pairs_are_400(live_server, session, temp_path):
    value = ",".join(f"k{number} YQ==" for number in range(10_000))
    response = session.post(
        live_server.url + "/uploads/", headers={"Upload-Length": "1", "Upload-Metadata": value}, timeout=10
    )
    assert response.status_code in (400, 431)
    assert tus_files(temp_path) == []


def test_a_refused_extension_is_415_at_creation(make_live_server, temp_path):
    server = make_live_server(allowed_extensions="png", allowed_types="", max_size="1MB")
    session = tus_session(server)
    response = session.post(
        server.url + "/uploads/",
        headers={"Upload-Length": "5", "Upload-Metadata": metadata(filename="a.exe")},
        timeout=10,
    )
    assert response.status_code == 415
    assert tus_files(temp_path) == []


# -- PATCH ---------------------------------------------------------------------


@on_both_backends
@pytest.mark.parametrize("database_url", BOTH_DATABASES, indirect=True)
def test_patches_complete_the_upload_into_a_stored_file(live_server, session):
    url = create(session, live_server.url, len(BODY))
    assert patch(session, url, 0, BODY[:4000]).headers["Upload-Offset"] == "4000"
    last = patch(session, url, 4000, BODY[4000:])
    assert last.status_code == 204
    stored = requests.get(last.headers["Upload-File-Location"], headers=JSON, timeout=10)
    assert stored.content == BODY
    listed = requests.get(live_server.url + "/files", headers=JSON, timeout=10).json()["files"]
    assert listed[0]["sha256"] == hashlib.sha256(BODY).hexdigest()
    assert listed[0]["filename"] == "data.bin"


def test_a_finished_upload_counts_in_the_catalogues_totals(live_server, session):
    url = create(session, live_server.url, len(BODY))
    patch(session, url, 0, BODY)
    page = requests.get(live_server.url + "/", timeout=10).text
    assert "1 file, 9.8 KiB in all" in page


@on_both_backends
def test_the_sha256_is_right_when_another_instance_received_a_chunk(app, live_server, session):
    url = create(session, live_server.url, len(BODY))
    patch(session, url, 0, BODY[:4000])
    app.registry["resumable"].hashes.forget(url.rsplit("/", 1)[1])  # as if another process had it
    patch(session, url, 4000, BODY[4000:])
    listed = requests.get(live_server.url + "/files", headers=JSON, timeout=10).json()["files"]
    assert listed[0]["sha256"] == hashlib.sha256(BODY).hexdigest()


def test_a_wrong_offset_is_409(live_server, session):
    url = create(session, live_server.url, len(BODY))
    patch(session, url, 0, BODY[:10])
    response = patch(session, url, 5, BODY[5:20])
    assert response.status_code == 409
    assert session.head(url, timeout=10).headers["Upload-Offset"] == "10"


def test_a_wrong_content_type_is_415(live_server, session):
    url = create(session, live_server.url, len(BODY))
    response = session.patch(
        url, data=b"abc", headers={"Content-Type": "application/octet-stream", "Upload-Offset": "0"}, timeout=10
    )
    assert response.status_code == 415


@pytest.mark.parametrize("value", ["-1", "x", "", "1.5"])
def test_a_malformed_upload_offset_is_400(live_server, session, value):
    url = create(session, live_server.url, len(BODY))
    response = session.patch(url, data=b"abc", headers={**OCTETS, "Upload-Offset": value}, timeout=10)
    assert response.status_code == 400


@on_both_backends
def test_a_patch_past_the_length_is_413_and_keeps_nothing(live_server, session):
    url = create(session, live_server.url, 10)
    assert patch(session, url, 0, b"x" * 11).status_code == 413
    assert session.head(url, timeout=10).headers["Upload-Offset"] == "0"


def test_a_patch_body_over_the_chunk_limit_is_413(live_server, session):
    url = create(session, live_server.url, 100 * 1024)
    response = patch(session, url, 0, b"x" * (64 * 1024 + 1))
    assert response.status_code == 413
    assert "tus_max_chunk" in response.json()["error"]


@on_both_backends
def test_a_checksum_mismatch_is_460_and_the_chunk_is_discarded(live_server, session):
    url = create(session, live_server.url, len(BODY))
    wrong = base64.b64encode(hashlib.sha1(b"other").digest()).decode()
    response = patch(session, url, 0, BODY[:100], **{"Upload-Checksum": f"sha1 {wrong}"})
    assert response.status_code == 460
    assert session.head(url, timeout=10).headers["Upload-Offset"] == "0"


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
def test_a_matching_checksum_is_accepted(live_server, session, algorithm):
    url = create(session, live_server.url, len(BODY))
    digest = base64.b64encode(hashlib.new(algorithm, BODY[:100]).digest()).decode()
    response = patch(session, url, 0, BODY[:100], **{"Upload-Checksum": f"{algorithm} {digest}"})
    assert response.status_code == 204


def test_an_unknown_checksum_algorithm_is_400(live_server, session):
    url = create(session, live_server.url, len(BODY))
    assert patch(session, url, 0, b"a", **{"Upload-Checksum": "md5 AAAA"}).status_code == 400


def test_x_http_method_override_turns_a_post_into_a_patch(live_server, session):
    url = create(session, live_server.url, len(BODY))
    response = session.post(
        url, data=BODY[:10], headers={**OCTETS, "Upload-Offset": "0", "X-HTTP-Method-Override": "PATCH"}, timeout=10
    )
    assert response.status_code == 204
    assert response.headers["Upload-Offset"] == "10"


@pytest.mark.parametrize("database_url", BOTH_DATABASES, indirect=True)
def test_a_patch_while_another_holds_the_upload_is_423(app, live_server, session):
    url = create(session, live_server.url, len(BODY))
    upload_id = url.rsplit("/", 1)[1]
    resumable = app.registry["resumable"]
    holder = resumable._acquire(upload_id)
    assert patch(session, url, 0, BODY[:10]).status_code == 423
    resumable._release(upload_id, holder)
    assert patch(session, url, 0, BODY[:10]).status_code == 204


def test_a_lease_held_by_a_dead_process_of_this_host_is_taken_over(app, live_server, session):
    url = create(session, live_server.url, len(BODY))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    factory = app.registry["dbsession_factory"]
    with factory() as dbsession, dbsession.begin():
        upload = dbsession.get(UploadInProgress, url.rsplit("/", 1)[1])
        upload.locked_by = f"{holder_name().rpartition(':')[0]}:{dead.pid}:0000"
        upload.locked_until = datetime.now(UTC) + timedelta(hours=1)
    assert patch(session, url, 0, BODY[:10]).status_code == 204


@pytest.mark.parametrize("method", ["DELETE", "HEAD", "PATCH"])
def test_a_request_while_the_last_patch_completes_the_upload_is_423_and_the_file_is_stored_whole(
    make_live_server, method
):
    """The lease covers the completion: nothing can remove the bytes being hashed and committed."""
    GatedLocalStorage.reset()
    server = make_live_server(storage=GATED)
    session = tus_session(server)
    url = create(session, server.url, len(BODY))
    last, answers = in_thread(lambda: patch(twin(session), url, 0, BODY))
    try:
        completing = GatedLocalStorage.completing.wait(60)
        headers = {**OCTETS, "Upload-Offset": str(len(BODY))} if method == "PATCH" else {}
        during = session.request(method, url, headers=headers, timeout=30)
    finally:
        GatedLocalStorage.gate.set()
        last.join()
    assert completing
    assert during.status_code == 423
    (answer,) = answers
    assert answer.status_code == 204
    assert session.get(answer.headers["Upload-File-Location"], timeout=30).content == BODY


def test_a_patch_on_a_finished_upload_is_410(live_server, session):
    url = create(session, live_server.url, 10)
    patch(session, url, 0, b"x" * 10)
    assert patch(session, url, 10, b"x").status_code == 410
    head = session.head(url, timeout=10)
    assert head.headers["Upload-Offset"] == head.headers["Upload-Length"] == "10"


def test_another_owners_upload_is_404(app, live_server, session):
    url = create(session, live_server.url, len(BODY))
    factory = app.registry["dbsession_factory"]
    with factory() as dbsession, dbsession.begin():
        upload = dbsession.get(UploadInProgress, url.rsplit("/", 1)[1])
{%- if cookiecutter.access == "accounts" %}
        # The owner is an account (a foreign key): hand the upload to another one.
        upload.owner = accounts.add_user(dbsession, "someone-else", "someone-else's password").id
{%- else %}
        upload.owner = "someone else"
{%- endif %}
    assert patch(session, url, 0, BODY[:10]).status_code == 404
    assert session.head(url, timeout=10).status_code == 404


def test_an_unknown_upload_is_404(live_server, session):
    assert session.head(live_server.url + "/uploads/" + "0" * 32, timeout=10).status_code == 404


@on_both_backends
def test_a_refused_type_is_415_and_the_upload_is_removed(make_live_server, store_contents):
    server = make_live_server(allowed_extensions="", allowed_types="image/png", max_size="1MB")
    session = tus_session(server)
    url = create(session, server.url, len(BODY), filename="a.png")
    assert patch(session, url, 0, BODY[:100]).status_code == 415
    assert store_contents() == []
    assert session.head(url, timeout=10).status_code == 404


# -- deferred length, termination, concatenation ---------------------------------


@on_both_backends
def test_a_deferred_length_is_declared_with_the_last_patch(live_server, session):
    response = session.post(live_server.url + "/uploads/", headers={"Upload-Defer-Length": "1"}, timeout=10)
    url = response.headers["Location"]
    assert session.head(url, timeout=10).headers["Upload-Defer-Length"] == "1"
    patch(session, url, 0, BODY[:10])
    last = patch(session, url, 10, BODY[10:20], **{"Upload-Length": "20"})
    assert requests.get(last.headers["Upload-File-Location"], timeout=10).content == BODY[:20]


@on_both_backends
def test_termination_removes_the_upload_and_its_bytes(live_server, session, store_contents):
    url = create(session, live_server.url, len(BODY))
    patch(session, url, 0, BODY[:10])
    assert session.delete(url, timeout=10).status_code == 204
    assert session.head(url, timeout=10).status_code == 404
    assert store_contents() == []


@on_both_backends
@pytest.mark.parametrize("database_url", BOTH_DATABASES, indirect=True)
def test_concatenation_joins_partial_uploads_in_order(live_server, session, store_contents):
    urls = []
    for part in (BODY[:3000], BODY[3000:]):
        response = session.post(
            live_server.url + "/uploads/",
            headers={"Upload-Length": str(len(part)), "Upload-Concat": "partial"},
            timeout=10,
        )
        patch(session, response.headers["Location"], 0, part)
        urls.append(response.headers["Location"])
    final = session.post(
        live_server.url + "/uploads/",
        headers={"Upload-Concat": "final;" + " ".join(urls), "Upload-Metadata": metadata(filename="whole.bin")},
        timeout=10,
    )
    assert final.status_code == 201
    assert requests.get(final.headers["Upload-File-Location"], timeout=10).content == BODY
    assert store_contents() == [final.headers["Upload-File-Location"].rsplit("/", 1)[1]]  # the partials are gone


# -- expiry ----------------------------------------------------------------------


def test_an_expired_upload_is_410(app, live_server, session):
    url = create(session, live_server.url, len(BODY))
    later = datetime.now(UTC) + timedelta(hours=25)
    app.registry["resumable"].clock = lambda: later
    assert patch(session, url, 0, BODY[:10]).status_code == 410
    assert session.head(url, timeout=10).status_code == 410


@on_both_backends
@pytest.mark.parametrize("database_url", BOTH_DATABASES, indirect=True)
def test_expired_uploads_are_removed_with_their_bytes(app, live_server, session, store_contents):
    url = create(session, live_server.url, len(BODY))
    patch(session, url, 0, BODY[:10])
    resumable = app.registry["resumable"]
    later = datetime.now(UTC) + timedelta(hours=25)
    resumable.clock = lambda: later
    assert resumable.expire() == [url.rsplit("/", 1)[1]]
    assert store_contents() == []
    assert session.head(url, timeout=10).status_code == 404


@on_both_backends
def test_the_clean_command_removes_expired_uploads_with_their_bytes(
    app, app_settings, live_server, session, tmp_path, database_url, store_contents
):
    url = create(session, live_server.url, len(BODY))
    patch(session, url, 0, BODY[:10])
    backdate(app, url)
    output = run_clean(tmp_path / "clean.ini", database_url, app_settings)
    assert "removed 1 expired uploads in progress" in output
    assert store_contents() == []
    assert session.head(url, timeout=10).status_code == 404


@on_both_backends
def test_start_up_removes_expired_uploads_with_their_bytes(app, live_server, session, app_settings, store_contents):
    url = create(session, live_server.url, len(BODY))
    patch(session, url, 0, BODY[:10])
    backdate(app, url)
    saved = tempfile.tempdir
    try:
        main({"here": str(PROJECT), "__file__": str(TESTING_INI)}, **app_settings)
    finally:
        tempfile.tempdir = saved
    assert store_contents() == []


def test_a_patch_refreshes_the_expiry(live_server, session):
    url = create(session, live_server.url, len(BODY))
    before = session.head(url, timeout=10).headers["Upload-Expires"]
    assert patch(session, url, 0, BODY[:10]).headers["Upload-Expires"] >= before


# -- CORS --------------------------------------------------------------------------


def test_no_cors_headers_unless_configured(live_server):
    response = requests.options(live_server.url + "/uploads/", headers={"Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_configured_origin_gets_cors_headers(make_live_server):
    server = make_live_server(cors_origins="https://app.example", max_size="1MB")
    response = requests.options(
        server.url + "/uploads/",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "PATCH"},
        timeout=10,
    )
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "PATCH" in response.headers["Access-Control-Allow-Methods"]
    assert "Upload-Offset" in response.headers["Access-Control-Expose-Headers"]


# -- the server's own limit on a chunk ---------------------------------------------


def test_the_server_refuses_a_patch_over_its_limit_from_the_head_alone(live_server, session):
    url = create(session, live_server.url, 100 * 1024)
    limit = int(server_options()["max_patch_body_size"])
    parts = urlsplit(url)
    head = (
        f"PATCH {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nTus-Resumable: 1.0.0\r\n"
        f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: {limit + 1}\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as connection:
        connection.sendall(head.encode("ascii"))  # and not one byte of the body
        answer = connection.makefile("rb").readline()
    assert answer.startswith(b"HTTP/1.1 413")
