"""A throwaway PostgreSQL server for the tests, in a temp dir, on a free loopback port.

Debian's ``postgresql`` package (15 or newer) provides ``initdb`` and
``pg_ctl`` under ``/usr/lib/postgresql/<version>/bin``; nothing else is
needed (no service, no systemd). When the tests run as root, the server
runs as the ``postgres`` system user, as PostgreSQL refuses to run as root.
Durability is off (``fsync=off``): it is a test server. Start-up takes
about a second.
"""

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import sqlalchemy

OS_USER = "postgres"


def find_bin() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl``: ``POSTGRESQL_BIN``, Debian's newest, or ``PATH``."""
    candidates = [os.environ.get("POSTGRESQL_BIN", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(Path(path).parent.name))[::-1]
    if initdb := shutil.which("initdb"):
        candidates.append(str(Path(initdb).parent))
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


class PostgreSQLServer:
    """One server: :meth:`start`, :meth:`stop` (and start again), :meth:`create_database`, :meth:`destroy`."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        # Not under pytest's tmp dirs: their parents are private to the user
        # running the tests, and the server may run as ``postgres``.
        self.dir = Path(tempfile.mkdtemp(prefix="pg-tests-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.as_user = ["runuser", "-u", OS_USER, "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.dir, OS_USER)
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--locale=C.UTF-8", "--no-sync", "--no-instructions",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w", "-t", "60", "-o", options,
                  "start")  # fmt: skip

    def stop(self) -> None:
        """Stop (``fast``): every client's connection drops, as in an outage.

        Not ``immediate``: with ``fsync`` and ``synchronous_commit`` off that
        would be a crash losing the last commits, which no test wants.
        """
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def running(self) -> bool:
        """Whether the server is up (``pg_ctl status``)."""
        status = subprocess.run([*self.as_user, str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "status"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        return status.returncode == 0

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; its SQLAlchemy URL."""
        name = "test_" + uuid.uuid4().hex[:12]
        self._admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = sqlalchemy.make_url(url).database
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self, statement: str) -> None:
        engine = sqlalchemy.create_engine(self.url(), isolation_level="AUTOCOMMIT", poolclass=sqlalchemy.NullPool)
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql(statement)
        finally:
            engine.dispose()

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bin_dir / program), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
