"""A throwaway one-node Ceph with its S3 gateway (RADOS Gateway) for the tests, in a temp dir.

Debian's ``radosgw``, ``ceph-mon`` and ``ceph-osd`` packages (16.2) provide
everything; no service, no systemd, loopback only. One monitor, one OSD
keeping its objects in RAM (``memstore``, 4 GiB at most), and radosgw with
its ``beast`` frontend on a free 127.0.0.1 port. From cold to the first PUT
takes about 3 s; idle, it uses about 120 MiB.

Things the configuration below works around (radosgw 16.2):

- ``ms mon client mode = crc secure``: radosgw otherwise insists on the
  ``secure`` mode, which auth ``none`` cannot offer, and hangs.
- ``paxos propose interval = 0.1``: start-up in 3 s instead of 15.
- One OSD: pool size 1, ``mon allow pool size one``, ``osd crush chooseleaf
  type = 0``, 8 placement groups, no autoscaling.
- ``osd client watch timeout = 2``: a radosgw killed by a test leaves its
  watches on the cluster; until they time out (30 s by default) the next
  radosgw's first bucket operation waits for them.
- Deleted objects stay until radosgw's garbage collection (2 h by default;
  60 s here), which matters only for memory.
- ``CompleteMultipartUpload`` answers with an empty ``ETag``: ask
  ``HeadObject``.

``scripts/ceph-dev`` starts the same cluster for trying the S3 backend by hand.
"""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

PROGRAMS = ("ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "monmaptool", "ceph")
ACCESS_KEY = "testaccesskey0000001"
SECRET_KEY = "testsecretkey000000000000000000000000001"

CONF = """\
[global]
fsid = {fsid}
mon host = v2:127.0.0.1:{mon_port}
mon initial members = a
public addr = 127.0.0.1
ms bind ipv6 = false
ms bind msgr1 = false
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc secure
run dir = {dir}/run
admin socket = {dir}/run/$name.asok
pid file = {dir}/run/$name.pid
log file = {dir}/log/$name.log
log to stderr = false
err to stderr = false
crash dir = {dir}/crash
mon data = {dir}/mon.$id
osd data = {dir}/osd.$id
rgw data = {dir}/rgw.$id
osd objectstore = memstore
memstore device bytes = {memstore_bytes}
osd memory target = 939524096
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 0
mgr initial modules =
paxos propose interval = 0.1
rgw frontends = beast endpoint=127.0.0.1:{rgw_port}
rgw enable usage log = false
rgw init timeout = 60
rgw gc obj min wait = 60
rgw gc processor period = 60
osd client watch timeout = 2
"""


def installed() -> bool:
    """Whether Ceph's programs are on ``PATH``."""
    return all(shutil.which(program) for program in PROGRAMS)


class CephCluster:
    """One mon, one OSD, one radosgw: :meth:`start`, :meth:`stop_gateway`, :meth:`start_gateway`, :meth:`destroy`."""

    def __init__(self, memstore_bytes: int = 4 * 1024**3) -> None:
        """``memstore_bytes``: the most the OSD keeps in RAM (deleted objects count until garbage collection)."""
        self.dir = Path(tempfile.mkdtemp(prefix="ceph-tests-"))
        for sub in ("run", "log", "mon.a", "osd.0", "rgw.x", "crash"):
            (self.dir / sub).mkdir()
        self.mon_port = _free_port()
        self.rgw_port = _free_port()
        self.conf = self.dir / "ceph.conf"
        self.conf.write_text(
            CONF.format(
                fsid=uuid.uuid4(),
                mon_port=self.mon_port,
                rgw_port=self.rgw_port,
                dir=self.dir,
                memstore_bytes=memstore_bytes,
            ),
            encoding="utf-8",
        )
        self.endpoint = f"http://127.0.0.1:{self.rgw_port}"
        self.access_key = ACCESS_KEY
        self.secret_key = SECRET_KEY
        self._client: object | None = None

    def start(self) -> None:
        """Start the mon, the OSD and the gateway, and make the S3 user (about 3 s)."""
        monmap = self.dir / "monmap"
        self._run("monmaptool", "--create", "--fsid", self._fsid(), "--addv", "a",
                  f"[v2:127.0.0.1:{self.mon_port}]", str(monmap), with_conf=False)  # fmt: skip
        self._run("ceph-mon", "--mkfs", "-i", "a", "--monmap", str(monmap))
        self._run("ceph-mon", "-i", "a")
        osd_uuid = str(uuid.uuid4())
        osd_id = self._run("ceph", "osd", "new", osd_uuid).strip()
        self._run("ceph-osd", "-i", osd_id, "--mkfs", "--osd-uuid", osd_uuid)
        self._run("ceph-osd", "-i", osd_id)
        self._wait(self._osd_up, "the OSD did not come up")
        self.start_gateway()
        self._run("radosgw-admin", "user", "create", "--uid=test", "--display-name=test",
                  f"--access-key={ACCESS_KEY}", f"--secret-key={SECRET_KEY}")  # fmt: skip

    def start_gateway(self) -> None:
        """Start radosgw (again) and wait until it answers HTTP."""
        self._run("radosgw", "-n", "client.rgw.x")
        self._wait(self.gateway_answers, "radosgw did not answer")

    def stop_gateway(self) -> None:
        """SIGKILL radosgw, as an outage would, and wait until it is gone."""
        self._kill("client.rgw.x")

    def gateway_answers(self) -> bool:
        """Whether radosgw answers HTTP (its port opens before it serves)."""
        try:
            with urllib.request.urlopen(self.endpoint + "/", timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # an answer all the same
        except OSError:
            return False

    def destroy(self) -> None:
        """SIGKILL every daemon (a graceful stop takes 9 s; this is a throwaway) and remove the directory."""
        for name in ("client.rgw.x", "osd.0", "mon.a"):
            self._kill(name)
        shutil.rmtree(self.dir, ignore_errors=True)

    def client(self) -> object:
        """A boto3 S3 client of the test user, for tests that look into the bucket.

        One for the session (clients are thread-safe, and making one costs
        about 0.1 s of loading botocore's models, for every test that asks).
        """
        if self._client is None:
            self._client = self._new_client()
        return self._client

    def _new_client(self) -> object:
        import boto3

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )

    def environ(self) -> dict[str, str]:
        """The environment boto3 reads its credentials from (the only place the app takes them from)."""
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}

    def _kill(self, name: str) -> None:
        pid_file = self.dir / "run" / f"{name}.pid"
        with contextlib.suppress(FileNotFoundError, ValueError):
            pid = int(pid_file.read_text())
            # Only if that process still runs on this cluster's configuration.
            with contextlib.suppress(FileNotFoundError):
                if str(self.conf) not in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
                    return
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self._wait(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid), f"{name} did not stop")
            pid_file.unlink(missing_ok=True)

    def _fsid(self) -> str:
        return self.conf.read_text().split("fsid = ", 1)[1].split("\n", 1)[0]

    def _osd_up(self) -> bool:
        try:
            dump = json.loads(self._run("ceph", "osd", "dump", "-f", "json"))
        except (subprocess.CalledProcessError, ValueError):
            return False
        return any(osd["up"] for osd in dump["osds"])

    def _wait(self, condition: Callable[[], bool], failure: str, timeout: float = 60) -> None:
        """Poll ``condition`` (a daemon's state, which has no event to wait on) until true."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{failure} in {timeout:.0f} s; logs in {self.dir / 'log'}")
            time.sleep(0.1)

    def _run(self, program: str, *args: str, with_conf: bool = True) -> str:
        conf = ["-c", str(self.conf)] if with_conf else []
        result = subprocess.run([program, *conf, *args], check=True, capture_output=True, text=True)
        return result.stdout


def bucket_contents(client: object, bucket: str, prefix: str) -> tuple[list[str], list[str]]:
    """``(object keys, multipart upload keys)`` under ``prefix`` (the prefix removed), to assert what was kept."""
    objects = client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    uploads = client.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", [])
    return (
        sorted(item["Key"].removeprefix(prefix) for item in objects),
        sorted(item["Key"].removeprefix(prefix) for item in uploads),
    )


def _zombie(pid: int) -> bool:
    with contextlib.suppress(FileNotFoundError):
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
