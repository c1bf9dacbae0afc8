"""What is stored is exactly what was sent, completely, or not at all.

Disk failures are injected into the running server (the waitress thread
shares this process, so ``monkeypatch`` reaches it): a full disk answers 507,
any other I/O error 500, each with a message, and leaves no partial file.
Durability is checked by watching the system calls the store makes, a crash
by SIGKILLing a real ``pserve`` in the middle of storing an upload, races by
sixteen clients at once, and permissions under a hostile umask.
"""

import contextlib
import errno
import fcntl
import hashlib
import os
import random
import signal
import stat
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from {{ cookiecutter.project_slug }}.storage import local as storage_module

from .bodies import body, content_type, everything_under, file_part
from .helpers import LiveServer, PserveServer, poll_while_running

pytestmark = pytest.mark.server

JSON = {"Accept": "application/json"}


def send(server: LiveServer | PserveServer, session: requests.Session, *files: tuple[str, bytes]) -> requests.Response:
    """Upload ``(filename, bytes)`` files in one request."""
    payload = body(*(file_part(data, name) for name, data in files))
    headers = {**JSON, "Content-Type": content_type()}
    return session.post(server.url + "/files", data=payload, headers=headers, timeout=120)


def listed(server: LiveServer | PserveServer, client: requests.Session | None = None) -> dict[str, dict]:
    """Every listed file by id, following the ``next`` links; a file listed twice fails."""
    files: dict[str, dict] = {}
    url: str | None = server.url + "/files?limit=500"
    while url is not None:
        page = (client or requests).get(url, headers=JSON, timeout=30).json()
        for info in page["files"]:
            assert info["id"] not in files, f"{info['id']} listed twice"
            files[info["id"]] = info
        url = page["next"]
    return files


def fetch(server: LiveServer | PserveServer, file_id: str, client: requests.Session | None = None) -> bytes:
    response = (client or requests).get(f"{server.url}/files/{file_id}", timeout=60)
    assert response.status_code == 200
    return response.content


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def server(make_live_server: Callable[..., LiveServer]) -> LiveServer:
    return make_live_server()


# -- fault injection ------------------------------------------------------------------------


def fd_path(fd: int) -> Path | None:
    """The path a file descriptor was opened with; ``None`` for pipes, sockets and the like."""
    try:
        if hasattr(fcntl, "F_GETPATH"):  # macOS
            return Path(fcntl.fcntl(fd, fcntl.F_GETPATH, bytes(1024)).rstrip(b"\0").decode())
        return Path(os.readlink(f"/proc/self/fd/{fd}"))  # Linux
    except OSError:
        return None


class FailingWrites:
    """A file whose every write fails with ``code``, the way a full disk fails it."""

    def __init__(self, file: object, code: int) -> None:
        self._file = file
        self._code = code

    def write(self, data: bytes) -> int:
        raise OSError(self._code, os.strerror(self._code))

    def __getattr__(self, name: str) -> object:
        return getattr(self._file, name)

    def __enter__(self) -> "FailingWrites":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._file.close()


def fail_writes(monkeypatch: pytest.MonkeyPatch, code: int, when: Callable[[Path | None], bool]) -> None:
    """Make writes to files for which ``when(path)`` holds fail with ``code``.

    The store writes through ``open`` (a buffered file) or ``os.write``;
    both are intercepted, and only for the files chosen, so the server's
    sockets, pipes and logs keep working.
    """
    real_open, real_write = open, os.write

    def faulty_open(file: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        opened = real_open(file, mode, *args, **kwargs)
        path = fd_path(file) if isinstance(file, int) else Path(file)
        return FailingWrites(opened, code) if "w" in mode and when(path) else opened

    def faulty_write(fd: int, data: bytes) -> int:
        if when(fd_path(fd)):
            raise OSError(code, os.strerror(code))
        return real_write(fd, data)

    monkeypatch.setattr(storage_module, "open", faulty_open, raising=False)
    monkeypatch.setattr(os, "write", faulty_write)


def below(directory: Path) -> Callable[[Path | None], bool]:
    return lambda path: path is not None and directory in path.parents


def nothing_left(server: LiveServer) -> bool:
    return everything_under(server.storage_path, server.temp_path) == []


def still_serves(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Once the disk is healthy again, the same server stores and serves a file."""
    monkeypatch.undo()
    response = send(server, server.client(), ("after.bin", b"healthy again"))
    return response.status_code == 201 and fetch(server, response.json()["files"][0]["id"]) == b"healthy again"


# -- a full disk, or a failing one ----------------------------------------------------------


def test_disk_full_while_writing_the_file_is_507_with_a_message_and_nothing_left(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_writes(monkeypatch, errno.ENOSPC, below(server.temp_path))
    response = send(server, server.client(), ("big.bin", os.urandom(300_000)))
    assert response.status_code == 507
    assert response.json() == {"error": "The server has no space left to store this upload."}
    assert nothing_left(server)
    assert still_serves(server, monkeypatch)


def test_quota_exceeded_while_writing_is_507(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    fail_writes(monkeypatch, errno.EDQUOT, below(server.temp_path))
    assert send(server, server.client(), ("big.bin", b"q" * 100_000)).status_code == 507
    assert nothing_left(server)


def test_other_io_error_while_writing_is_500_with_a_message_and_nothing_left(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_writes(monkeypatch, errno.EIO, below(server.temp_path))
    response = send(server, server.client(), ("big.bin", b"e" * 100_000))
    assert response.status_code == 500
    assert "could not store this upload" in response.json()["error"]
    assert nothing_left(server)
    assert still_serves(server, monkeypatch)


def test_disk_full_when_fsyncing_is_507_and_nothing_left(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    real_fsync = os.fsync

    def full_fsync(fd: int) -> None:
        if below(server.temp_path)(fd_path(fd)):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_fsync)
    assert send(server, server.client(), ("late.bin", b"f" * 100_000)).status_code == 507
    assert nothing_left(server)


def fail_directory_fsync(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``fsync`` of a directory (a new or removed entry) fail with EIO; files still sync."""
    real_fsync = os.fsync

    def failing_directory_fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_directory_fsync)


def test_failure_making_the_new_entry_durable_is_500_and_the_file_is_not_kept(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client is told the upload failed, so the file must not appear later either."""
    fail_directory_fsync(monkeypatch)
    assert send(server, server.client(), ("durable.bin", b"d" * 1000)).status_code == 500
    assert nothing_left(server)
    monkeypatch.undo()
    assert listed(server) == {}


def test_io_error_removing_the_bytes_after_a_delete_still_deletes_the_file(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record goes first and is committed: the file is deleted; bytes left behind are cleaning's."""
    session = server.client()
    file_id = send(server, session, ("doomed.bin", b"x" * 1000)).json()["files"][0]["id"]
    fail_directory_fsync(monkeypatch)
    response = session.delete(f"{server.url}/files/{file_id}", headers=JSON, timeout=30)
    assert response.status_code == 204
    monkeypatch.undo()
    assert listed(server) == {}
    assert session.get(f"{server.url}/files/{file_id}", timeout=30).status_code == 404


def test_disk_full_when_committing_the_second_file_keeps_neither(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_link = os.link
    links: list[str] = []

    def link_until_full(source: object, destination: object, *args: object, **kwargs: object) -> None:
        links.append(Path(destination).name)
        if len(links) > 1:  # the first file fits; the second does not
            raise OSError(errno.ENOSPC, "No space left on device")
        real_link(source, destination, *args, **kwargs)

    monkeypatch.setattr(os, "link", link_until_full)
    response = send(server, server.client(), ("one.bin", b"1" * 5000), ("two.bin", b"2" * 5000))
    assert response.status_code == 507
    assert len(links) == 2
    assert nothing_left(server)


def test_file_that_cannot_be_created_is_500_and_nothing_left(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_mkstemp = storage_module.tempfile.mkstemp

    def denied_in_temp_path(*args: object, dir: object = None, **kwargs: object) -> tuple[int, str]:
        if dir is not None and Path(dir) == server.temp_path:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(storage_module.tempfile, "mkstemp", denied_in_temp_path)
    response = send(server, server.client(), ("x.bin", b"x"))
    assert response.status_code == 500
    assert "Permission denied" in response.json()["error"]
    assert nothing_left(server)


# -- durability: fsync, and the order things become visible ---------------------------------


@contextmanager
def recorded_fsyncs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Record what each ``os.fsync`` was for: a file's path, or ``dir:`` and the directory."""
    calls: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        path = fd_path(fd)
        calls.append(("dir:" if stat.S_ISDIR(os.fstat(fd).st_mode) else "") + str(path))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    yield calls
    monkeypatch.undo()


def test_with_fsync_on_the_file_and_the_storage_directory_are_synced(
    make_live_server: Callable[..., LiveServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_live_server()  # testing.ini: uploads.fsync = true, the default
    with recorded_fsyncs(monkeypatch) as calls:
        assert send(server, server.client(), ("a.bin", b"a" * 1000)).status_code == 201
    assert any(call.startswith(str(server.temp_path)) and call.endswith(".part") for call in calls)
    assert f"dir:{server.storage_path}" in calls


def test_with_fsync_off_nothing_is_synced(
    make_live_server: Callable[..., LiveServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_live_server(fsync="false")
    with recorded_fsyncs(monkeypatch) as calls:
        assert send(server, server.client(), ("a.bin", b"a" * 1000)).status_code == 201
    assert calls == []


def test_data_is_synced_before_it_appears(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []
    real_fsync, real_link = os.fsync, os.link

    def fsync(fd: int) -> None:
        events.append("sync " + (fd_path(fd) or Path()).suffix)
        real_fsync(fd)

    def link(source: object, destination: object, *args: object, **kwargs: object) -> None:
        events.append("show " + (Path(destination).suffix or "data"))
        real_link(source, destination, *args, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "link", link)
    assert send(server, server.client(), ("a.bin", b"a" * 1000)).status_code == 201
    assert events.index("sync .part") < events.index("show data")


# -- what is stored is what was sent ---------------------------------------------------------


def test_many_files_of_awkward_sizes_are_stored_byte_for_byte(server: LiveServer) -> None:
    chunk = 64 * 1024  # testing.ini's uploads.chunk_size
    sizes = [0, 1, chunk - 1, chunk, chunk + 1, 3 * chunk + 7, 8192, 8191, 1_000_003]
    files = [(f"f{size}.bin", os.urandom(size)) for size in sizes]
    response = send(server, server.client(), *files)
    assert response.status_code == 201
    for (name, data), info in zip(files, response.json()["files"], strict=True):
        assert (info["filename"], info["size"], info["sha256"]) == (name, len(data), sha256(data))
        assert fetch(server, info["id"]) == data
        assert (server.storage_path / info["id"]).read_bytes() == data


# -- permissions: explicit, whatever the umask ----------------------------------------------


@contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def modes(server: LiveServer, file_id: str) -> tuple[int, int, int]:
    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    return (
        mode(server.storage_path / file_id),
        mode(server.storage_path),
        mode(server.temp_path),
    )


@pytest.mark.parametrize("hostile_umask", [0o000, 0o077, 0o777], ids=["world-writable", "owner-only", "nothing"])
def test_default_modes_are_applied_whatever_the_umask(
    make_live_server: Callable[..., LiveServer], hostile_umask: int
) -> None:
    with umask(hostile_umask):
        server = make_live_server()
        file_id = send(server, server.client(), ("a.bin", b"a")).json()["files"][0]["id"]
    assert modes(server, file_id) == (0o640, 0o750, 0o750)


def test_configured_modes_are_applied_whatever_the_umask(make_live_server: Callable[..., LiveServer]) -> None:
    with umask(0o000):
        server = make_live_server(file_mode="0o600", dir_mode="0o700")
        file_id = send(server, server.client(), ("a.bin", b"a")).json()["files"][0]["id"]
    assert modes(server, file_id) == (0o600, 0o700, 0o700)


# -- sixteen clients at once -----------------------------------------------------------------

CLIENTS = 16


def test_parallel_uploads_and_deletes_by_sixteen_clients_lose_nothing(server: LiveServer) -> None:
    """Each client uploads three files (two share their bytes with every other client) and deletes one."""
    shared = os.urandom(200_000)
    sessions = [server.client() for _ in range(CLIENTS)]  # each with its CSRF cookie, before the race
    start = threading.Barrier(CLIENTS)

    def client(n: int) -> dict[str, bytes]:
        session = sessions[n]
        own = random.Random(n).randbytes(50_000 + n * 7919)
        start.wait()
        first = send(server, session, (f"shared-{n}.bin", shared), (f"own-{n}.bin", own))
        second = send(server, session, (f"gone-{n}.bin", own[::-1]))
        assert first.status_code == second.status_code == 201
        doomed = second.json()["files"][0]["id"]
        assert session.delete(f"{server.url}/files/{doomed}", timeout=60).status_code == 204
        return {info["id"]: data for info, data in zip(first.json()["files"], (shared, own), strict=True)}

    with ThreadPoolExecutor(CLIENTS) as pool:
        kept = {file_id: data for result in pool.map(client, range(CLIENTS)) for file_id, data in result.items()}

    assert len(kept) == 2 * CLIENTS
    assert set(listed(server)) == set(kept)
    for file_id, data in kept.items():
        assert fetch(server, file_id) == data
    assert len(list(server.storage_path.iterdir())) == len(kept)  # the files, nothing else
    assert list(server.temp_path.iterdir()) == []


def test_sixteen_clients_deleting_the_same_file_at_once_delete_it_exactly_once(server: LiveServer) -> None:
    session = server.client()
    target = send(server, session, ("target.bin", b"t" * 10_000)).json()["files"][0]["id"]
    bystander = send(server, session, ("bystander.bin", b"b" * 10_000)).json()["files"][0]["id"]
    clients = [server.client() for _ in range(CLIENTS)]
    start = threading.Barrier(CLIENTS)

    def delete(n: int) -> int:
        client = clients[n]
        start.wait()
        return client.delete(f"{server.url}/files/{target}", timeout=60).status_code

    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = sorted(pool.map(delete, range(CLIENTS)))
    assert statuses == [204] + [404] * (CLIENTS - 1)
    assert set(listed(server)) == {bystander}
    assert fetch(server, bystander) == b"b" * 10_000


def test_downloads_racing_a_delete_get_the_whole_file_or_404(server: LiveServer) -> None:
    content = os.urandom(2_000_000)
    file_id = send(server, server.client(), ("race.bin", content)).json()["files"][0]["id"]
    clients = [server.client() for _ in range(CLIENTS)]
    start = threading.Barrier(CLIENTS)

    def download(n: int) -> int:
        client = clients[n]
        start.wait()
        if n == CLIENTS // 2:
            return client.delete(f"{server.url}/files/{file_id}", timeout=60).status_code
        response = client.get(f"{server.url}/files/{file_id}", timeout=60)
        assert response.status_code == 404 or response.content == content
        return response.status_code

    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = list(pool.map(download, range(CLIENTS)))
    assert statuses[CLIENTS // 2] == 204
    assert set(statuses) <= {200, 204, 404}
    assert everything_under(server.storage_path, server.temp_path) == []


# -- a server killed in the middle of storing ----------------------------------------------


def test_server_killed_while_storing_leaves_only_complete_files_after_restart(
    pserve: Callable[..., PserveServer], storage_path: Path, temp_path: Path
) -> None:
    # A small chunk size makes storing a big file take long enough to kill it mid-way.
    first = pserve(chunk_size="1KB")
    session = LiveServer(first.url, storage_path, temp_path).client()  # signed in, with the CSRF token
    complete = os.urandom(100_000)
    survivor = send(first, session, ("survivor.bin", complete)).json()["files"][0]

    big = os.urandom(64 * 1024 * 1024)
    uploader = threading.Thread(target=lambda: _ignore_errors(send, first, session, ("big.bin", big)))
    uploader.start()

    def partial_upload_on_disk() -> bool:
        return any(0 < path.stat().st_size < len(big) for path in temp_path.glob("upload-*.part"))

    server_running = lambda: first.process.poll() is None  # noqa: E731
    assert poll_while_running(partial_upload_on_disk, server_running, uploader.is_alive), (
        "the big upload never started being stored"
    )
    # Freeze the server, check that it is mid-store, then kill it: nothing can
    # finish in between, whatever the machine's speed.
    first.process.send_signal(signal.SIGSTOP)
    assert partial_upload_on_disk(), "the store finished before the server could be stopped"
    first.process.kill()  # SIGKILL: no cleanup handler runs
    first.process.wait()
    uploader.join()

    # The other moments a crash can strike, as they would be left on disk.
    unrecorded = "a" * 32
    (storage_path / unrecorded).write_bytes(b"committed, but the record was never inserted")
    (storage_path / ".incoming-crashed").write_bytes(b"half a cross-device copy")

    second = pserve(chunk_size="1KB", clean_after="0s")  # clean every unrecorded file at start-up
    assert list(temp_path.iterdir()) == []
    assert sorted(path.name for path in storage_path.iterdir()) == [survivor["id"]]
    client = LiveServer(second.url, storage_path, temp_path).client()
    assert set(listed(second, client)) == {survivor["id"]}
    assert fetch(second, survivor["id"], client) == complete
    assert client.get(f"{second.url}/files/{unrecorded}", timeout=30).status_code == 404


def _ignore_errors(function: Callable[..., object], *args: object) -> None:
    """Run ``function``; the server it talks to is about to be killed, so errors are expected."""
    with contextlib.suppress(requests.RequestException):
        function(*args)
