"""Upload and download benchmark of the generated project, with its references, in one run.

What it does (``make bench`` runs the full version; ``--quick`` is for
development and uses small files)::

    1. bake the default project (only ``max_upload_size=5GB`` overridden, see
       below) into build/bench/project and install it in its own virtualenv;
    2. serve it with its own production.ini under waitress, on 127.0.0.1 and a
       free port, with storage_path and temp_path in build/bench;
    3. serve the seed page's way (``seed_app.py``: a view that copies
       ``request.POST["file"].file`` to disk) under the same [server:main];
    4. in every round, interleaved: upload 1 GiB to the app, to the seed app,
       and copy it twice with ``cp`` (the limit: waitress spools the body once,
       the app writes it once); 64 MiB; 8 concurrent 64 MiB and their two
       copies; 4 GiB and its two copies; download the 1 GiB file from the app
       (whole, and a Range) and from ``python -m http.server``;
    5. time hostile 8 MiB bodies (only CR LF, only LF, partial delimiters);
    6. print medians and the target ratios; write everything as JSON.

``--compare`` runs only the catalogue's target instead (issue 8: "the 1 GiB
upload time stays within 5 % of today's in the same run"): it bakes the
current template and the template as it was before the catalogue was merged
(``PRE_CATALOGUE``, taken from this clone's history with ``git archive``),
serves both under their own production.ini, uploads the same 1 GiB file to
each, alternating which goes first round by round, and reports the medians
and their ratio (current / before; the target is at most 1.05).

Why ``access=open``: the benchmarks' clients do not sign in. Accounts cost a
session lookup per request, not per byte.

Why ``max_upload_size=5GB``: ``uploads.max_size`` (and waitress's
``max_request_body_size``, kept equal to it) limits the whole request body,
and a 4 GiB file plus its multipart envelope is a few hundred bytes more
than the default 4 GiB. Everything else is the project exactly as baked.

Every upload is checked: the sha256 the server answers and the sha256 of
the stored file on disk (read back after the clock stopped) must both equal
the input's. Only curl and loopback traffic are used.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MiB = 1024**2
GiB = 1024**3
BOUNDARY = "benchmarkboundary0123456789abcdefghijklmnop"
# Resolution of an "MB/s": 10**6 bytes per second, as disks and networks count.
MB = 10**6
# The template just before the catalogue: the first parent of main's
# "Merge branch 'catalogue'" (0364944). Any clone with the full history has it.
PRE_CATALOGUE = "6e8165c85fcba62294b3edefe96cd74a50c8dc48"
# Issue 8: the 1 GiB upload with the catalogue takes at most this much of the time without it.
CATALOGUE_UPLOAD_LIMIT = 1.05


@dataclass(frozen=True)
class Profile:
    """The sizes and rounds of one benchmark run."""

    small: int
    large: int
    huge: int
    concurrent_size: int
    concurrent: int
    hostile: int
    rounds: int
    range_size: int


FULL = Profile(
    small=64 * MiB,
    large=1 * GiB,
    huge=4 * GiB,
    concurrent_size=64 * MiB,
    concurrent=8,
    hostile=8 * MiB,
    rounds=3,
    range_size=256 * MiB,
)
QUICK = Profile(
    small=16 * MiB,
    large=128 * MiB,
    huge=512 * MiB,
    concurrent_size=16 * MiB,
    concurrent=8,
    hostile=8 * MiB,
    rounds=3,
    range_size=32 * MiB,
)


def size_name(size: int) -> str:
    return f"{size // GiB} GiB" if size >= GiB and size % GiB == 0 else f"{size // MiB} MiB"


# --- processes and their /proc counters -------------------------------------------------------------


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (waitress runs in one process, but be general)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class Server:
    """A server process we started, and the counters of its process tree."""

    def __init__(self, name: str, argv: list[str], cwd: Path, port: int, log: Path) -> None:
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._log = open(log, "wb")  # noqa: SIM115 - open as long as the server runs
        self.process = subprocess.Popen(argv, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{name} exited with {self.process.returncode}; see {log}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not listen on port {port}; see {log}") from None
                time.sleep(0.1)

    def pids(self) -> list[int]:
        return _descendants(self.process.pid)

    def io(self) -> dict[str, int]:
        """``/proc/PID/io`` summed over the tree (each process's figure covers all its threads)."""
        total: dict[str, int] = {}
        for pid in self.pids():
            for line in Path(f"/proc/{pid}/io").read_text().splitlines():
                key, value = line.split(":")
                total[key] = total.get(key, 0) + int(value)
        return total

    def cpu_seconds(self) -> float:
        """User and system CPU time of the tree so far (``/proc/PID/stat`` utime + stime, all threads)."""
        ticks = 0
        for pid in self.pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5), counted from 1
        return ticks / os.sysconf("SC_CLK_TCK")

    def reset_peak(self) -> None:
        """Reset VmHWM to the current RSS (``clear_refs`` 5), so each run gets its own peak."""
        for pid in self.pids():
            Path(f"/proc/{pid}/clear_refs").write_text("5")

    def peak_rss(self) -> int:
        return sum(_status_kib(pid, "VmHWM") for pid in self.pids()) * 1024

    def rss(self) -> int:
        return sum(_status_kib(pid, "VmRSS") for pid in self.pids()) * 1024

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the project, its ini files and inputs ---------------------------------------------------------


def bake(bench: Path, overrides: list[str], template: Path = REPO, name: str = "project") -> Path:
    """Bake ``template``'s default project into ``bench/name``, install it; return its directory.

    The answers: ``access=open`` and ``max_upload_size=5GB`` (see above),
    then ``overrides``. A template without an ``access`` question ignores it.
    """
    bin_dir = Path(sys.executable).parent
    out = bench / name
    subprocess.run(
        [
            bin_dir / "cookiecutter",
            "--no-input",
            "--overwrite-if-exists",
            "-o",
            out,
            template,
            "access=open",
            "max_upload_size=5GB",
            *overrides,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    project = out / "upload_service"
    python = project / ".venv" / "bin" / "python"
    if not python.exists():
        subprocess.run([bin_dir / "uv", "venv", "-q", "--python", sys.executable, project / ".venv"], check=True)
    # Editable, so a re-bake over the same directory is what gets measured.
    subprocess.run([bin_dir / "uv", "pip", "install", "-q", "--python", python, "-e", project], check=True)
    return project


def bench_ini(project: Path, bench: Path, name: str, port: int) -> tuple[Path, Path, Path]:
    """A copy of production.ini listening on 127.0.0.1:``port``, storing under ``bench/name``."""
    storage, temp = bench / name / "storage", bench / name / "tmp"
    for directory in (storage, temp):
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
    text = (project / "production.ini").read_text()
    # A project from before the catalogue (``--compare``) has no database.
    catalogue = re.search(r"^sqlalchemy\.url = ", text, flags=re.MULTILINE) is not None
    replacements = [
        (r"^listen = .*$", f"listen = 127.0.0.1:{port}"),
        (r"^uploads\.storage_path = .*$", f"uploads.storage_path = {storage}"),
        (r"^uploads\.temp_path = .*$", f"uploads.temp_path = {temp}"),
    ]
    if catalogue:
        replacements.append(
            (r"^sqlalchemy\.url = .*$", f"sqlalchemy.url = sqlite:///{bench / name / 'catalogue.sqlite'}")
        )
    for pattern, value in replacements:
        text, count = re.subn(pattern, value, text, flags=re.MULTILINE)
        if count != 1:
            raise RuntimeError(f"production.ini: expected one line matching {pattern!r}")
    ini = bench / f"{name}.ini"
    ini.write_text(text)
    if catalogue:
        # The catalogue: a fresh SQLite database, created by the project's own migrations.
        (bench / name / "catalogue.sqlite").unlink(missing_ok=True)
        alembic = project / ".venv" / "bin" / "alembic"
        subprocess.run([alembic, "--quiet", "-c", ini, "upgrade", "head"], check=True)
    return ini, storage, temp


def make_input(path: Path, size: int, seed: int) -> str:
    """A file of ``size`` random bytes (kept between runs); return its sha256."""
    digest_file = path.with_name(path.name + ".sha256")
    if path.exists() and path.stat().st_size == size and digest_file.exists():
        return digest_file.read_text().strip()
    generator = random.Random(seed)
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        for offset in range(0, size, 4 * MiB):
            block = generator.randbytes(min(4 * MiB, size - offset))
            digest.update(block)
            out.write(block)
    digest_file.write_text(digest.hexdigest())
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(4 * MiB):
            digest.update(block)
    return digest.hexdigest()


def hostile_bodies(data: Path, size: int) -> dict[str, Path]:
    """8 MiB bodies that make naive multipart parsers crawl, raw and inside a file part."""
    unit = {
        "CR LF only": b"\r\n",
        "LF only": b"\n",
        "partial delimiters": b"\r\n--" + BOUNDARY[:-1].encode(),
    }
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="hostile.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    bodies = {}
    for name, pattern in unit.items():
        filler = (pattern * (size // len(pattern) + 1))[:size]
        slug = name.replace(" ", "-")
        bodies[f"{name}, whole body"] = data / f"hostile-{slug}-raw.bin"
        bodies[f"{name}, in a file part"] = data / f"hostile-{slug}-part.bin"
        bodies[f"{name}, whole body"].write_bytes(filler)
        bodies[f"{name}, in a file part"].write_bytes(head + filler + tail)
    return bodies


# --- clients ----------------------------------------------------------------------------------------


def csrf_token(server: Server) -> str:
    """GET / and return the token of the ``csrf_token`` cookie (it goes back as header and cookie)."""
    with urllib.request.urlopen(server.url + "/", timeout=30) as response:
        for header in response.headers.get_all("Set-Cookie") or []:
            if match := re.match(r"csrf_token=([^;]+)", header):
                return match.group(1)
    raise RuntimeError("GET / set no csrf_token cookie")


def curl_upload(url: str, path: Path, token: str = "") -> list[str]:
    """``curl -F file=@path``: curl streams the file from disk into the multipart body."""
    argv = ["curl", "-sS", "-H", "Expect:", "-H", "Accept: application/json", "-w", "\n%{http_code}"]
    if token:
        argv += ["-H", f"X-CSRF-Token: {token}", "-b", f"csrf_token={token}"]
    return [*argv, "-F", f"file=@{path};type=application/octet-stream", url]


def upload_and_verify(
    server: Server, token: str, storage: Path, inputs: list[tuple[Path, str]], case: str
) -> tuple[dict, list[str]]:
    """Upload ``inputs`` (path, sha256) to ``server`` at once, timed by :func:`measure`; the record and the ids.

    Each stored file is checked: the sha256 the server answers, and that of
    the file in ``storage`` (read after the clock stopped).
    """
    commands = [curl_upload(server.url + "/files", path, token) for path, _ in inputs]
    nbytes = sum(path.stat().st_size for path, _ in inputs)
    results: list[tuple[int, str]] = []
    record = measure(server, nbytes, lambda: results.extend(run_curls(commands)) or {})
    ids = []
    for (status, body), (_, digest) in zip(results, inputs, strict=True):
        if status != 201:
            raise RuntimeError(f"{case}: HTTP {status}: {body[:300]}")
        stored = json.loads(body)["files"][0]
        if stored["sha256"] != digest or sha256_of(storage / stored["id"]) != digest:
            raise RuntimeError(f"{case}: the stored file's sha256 is not the input's")
        ids.append(stored["id"])
    record["verified"] = True
    return record, ids


def run_curls(commands: list[list[str]]) -> list[tuple[int, str]]:
    """Run the commands at once; return each one's (HTTP status, body)."""
    processes = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for argv in commands]
    results = []
    for process in processes:
        out, err = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"curl failed ({process.returncode}): {err.decode(errors='replace')}")
        body, _, status = out.decode(errors="replace").rpartition("\n")
        results.append((int(status), body))
    return results


# --- one measured run -------------------------------------------------------------------------------


def measure(server: Server | None, nbytes: int, action: Callable[[], dict], settle: float = 0.3) -> dict:
    """Run ``action`` and record wall time, peak RSS and I/O of ``server``'s tree.

    ``os.sync()`` first, so dirty pages of the previous run are not written
    back on this one's clock. After the action we wait ``settle`` seconds
    for the server to close the request's spool before reading counters.
    """
    os.sync()
    if server is not None:
        before = server.io()
        cpu_before = server.cpu_seconds()
        server.reset_peak()
    start = time.perf_counter()
    extra = action()
    wall = time.perf_counter() - start
    record = {"bytes": nbytes, "seconds": wall, **extra}
    if server is not None:
        time.sleep(settle)
        after = server.io()
        record["peak_rss"] = server.peak_rss()
        record["rss_after"] = server.rss()
        record["io"] = {key: after[key] - before[key] for key in after}
        record["cpu_seconds"] = server.cpu_seconds() - cpu_before
    return record


def temp_left(temp: Path) -> int:
    return sum(1 for _ in temp.iterdir())


def clear(directory: Path) -> None:
    for path in directory.iterdir():
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def case_names(p: Profile) -> dict[str, str]:
    """The name of every measured case, as the tables show it."""
    return {
        "large_app": f"upload {size_name(p.large)}: app",
        "large_seed": f"upload {size_name(p.large)}: seed page's way",
        "large_cp": f"two copies of {size_name(p.large)} (cp): limit",
        "small_app": f"upload {size_name(p.small)}: app",
        "conc_app": f"upload {p.concurrent} x {size_name(p.concurrent_size)} at once: app",
        "conc_cp": f"two copies of {p.concurrent} x {size_name(p.concurrent_size)} (cp): limit",
        "huge_app": f"upload {size_name(p.huge)}: app",
        "huge_cp": f"two copies of {size_name(p.huge)} (cp): limit",
        "down_app": f"download {size_name(p.large)}: app (file_wrapper)",
        "down_ref": f"download {size_name(p.large)}: python -m http.server",
        "range_app": f"download {size_name(p.range_size)} Range: app (FileIter)",
    }


class Bench:
    """Everything one benchmark run needs, and the records it collects."""

    def __init__(self, project: Path, bench: Path, profile: Profile) -> None:
        self.project = project
        self.bench = bench
        self.profile = profile
        self.python = project / ".venv" / "bin" / "python"
        self.records: dict[str, list[dict]] = {}
        self.data = bench / "data"
        self.data.mkdir(parents=True, exist_ok=True)

    def add(self, case: str, record: dict) -> None:
        self.records.setdefault(case, []).append(record)
        rate = record["bytes"] / record["seconds"] / MB
        extra = f"  peak RSS {record['peak_rss'] / MiB:.0f} MiB" if "peak_rss" in record else ""
        print(f"  {case:<44} {record['seconds']:8.2f} s {rate:9.0f} MB/s{extra}", flush=True)

    # --- servers ---

    def start(self) -> None:
        port = free_port()
        self.app_ini, self.app_storage, self.app_temp = bench_ini(self.project, self.bench, "app", port)
        self.app = Server(
            "app",
            [str(self.project / ".venv/bin/pserve"), str(self.app_ini)],
            self.project,
            port,
            self.bench / "app.log",
        )
        seed_port = free_port()
        seed_ini, self.seed_storage, self.seed_temp = bench_ini(self.project, self.bench, "seed", seed_port)
        argv = [str(self.python), str(HERE / "seed_app.py"), str(seed_ini), str(self.seed_storage), str(self.seed_temp)]
        self.seed = Server("seed", argv, self.project, seed_port, self.bench / "seed.log")
        ref_port = free_port()
        argv = [str(self.python), "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(self.app_storage)]
        self.reference = Server(
            "http.server", [*argv, str(ref_port)], self.project, ref_port, self.bench / "http-server.log"
        )
        self.token = csrf_token(self.app)

    def stop(self) -> None:
        for server in (self.app, self.seed, self.reference):
            server.stop()

    # --- cases ---

    def upload_app(self, case: str, inputs: list[tuple[Path, str]], keep: bool = False) -> list[str]:
        """Upload ``inputs`` to the app at once; verify them; return the stored ids."""
        record, ids = upload_and_verify(self.app, self.token, self.app_storage, inputs, case)
        record["temp_left"] = temp_left(self.app_temp)
        self.add(case, record)
        if not keep:
            clear(self.app_storage)
        return ids

    def upload_seed(self, case: str, path: Path, digest: str) -> None:
        results: list[tuple[int, str]] = []
        command = curl_upload(self.seed.url + "/upload", path)
        record = measure(self.seed, path.stat().st_size, lambda: results.extend(run_curls([command])) or {})
        status, body = results[0]
        if status != 200 or sha256_of(Path(json.loads(body)["path"])) != digest:
            raise RuntimeError(f"{case}: HTTP {status} or wrong sha256: {body[:300]}")
        record["temp_left"] = temp_left(self.seed_temp)
        record["verified"] = True
        self.add(case, record)
        clear(self.seed_storage)

    def two_copies(self, case: str, paths: list[Path]) -> None:
        """The limit: ``cp`` the inputs to a spool directory, then to a final one, on this filesystem."""
        spool, final = self.bench / "cp" / "spool", self.bench / "cp" / "final"
        shutil.rmtree(self.bench / "cp", ignore_errors=True)
        spool.mkdir(parents=True)
        final.mkdir()

        def copy() -> dict:
            subprocess.run(["cp", *map(str, paths), str(spool)], check=True)
            subprocess.run(["cp", *(str(spool / path.name) for path in paths), str(final)], check=True)
            return {}

        record = measure(None, sum(path.stat().st_size for path in paths), copy)
        start = time.perf_counter()
        subprocess.run(["sync", *(str(final / path.name) for path in paths)], check=True)
        record["fsync_seconds"] = time.perf_counter() - start
        self.add(case, record)
        shutil.rmtree(self.bench / "cp")

    def download(self, case: str, server: Server, url: str, size: int, byte_range: str | None = None) -> None:
        argv = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", url]
        if byte_range:
            argv += ["-H", f"Range: bytes={byte_range}"]
        outcome: list[str] = []
        record = measure(
            server,
            size,
            lambda: (
                outcome.extend(subprocess.run(argv, check=True, capture_output=True, text=True).stdout.split()) or {}
            ),
            settle=0.1,
        )
        expected_status = "206" if byte_range else "200"
        if outcome != [expected_status, str(size)]:
            raise RuntimeError(f"{case}: got status and size {outcome}, expected {expected_status} {size}")
        self.add(case, record)

    def hostile(self, case: str, body: Path) -> None:
        argv = [
            "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Expect:",
            "-H", "Accept: application/json", "-H", f"X-CSRF-Token: {self.token}", "-b", f"csrf_token={self.token}",
            "-H", f"Content-Type: multipart/form-data; boundary={BOUNDARY}",
            "--data-binary", f"@{body}", self.app.url + "/files",
        ]  # fmt: skip
        status: list[str] = []
        record = measure(
            self.app,
            body.stat().st_size,
            lambda: status.append(subprocess.run(argv, check=True, capture_output=True, text=True).stdout) or {},
        )
        record["status"] = int(status[0])
        record["temp_left"] = temp_left(self.app_temp)
        self.add(case, record)
        clear(self.app_storage)

    # --- the whole run ---

    def run(self) -> None:
        p = self.profile
        print("Preparing inputs in", self.data, flush=True)
        concurrent = [
            (self.data / f"part-{n}.bin", make_input(self.data / f"part-{n}.bin", p.concurrent_size, 100 + n))
            for n in range(p.concurrent)
        ]
        small = (self.data / "small.bin", make_input(self.data / "small.bin", p.small, 1))
        large = (self.data / "large.bin", make_input(self.data / "large.bin", p.large, 2))
        huge = (self.data / "huge.bin", make_input(self.data / "huge.bin", p.huge, 3))
        bodies = hostile_bodies(self.data, p.hostile)
        self.names = case_names(p)
        n = self.names
        self.start()
        try:
            for round_number in range(1, p.rounds + 1):
                print(f"Round {round_number} of {p.rounds}", flush=True)
                [file_id] = self.upload_app(n["large_app"], [large], keep=True)
                self.upload_seed(n["large_seed"], *large)
                self.two_copies(n["large_cp"], [large[0]])
                rss = []
                for _ in range(2):
                    self.download(n["down_app"], self.app, f"{self.app.url}/files/{file_id}", p.large)
                    rss.append(self.app.rss())
                    self.download(n["down_ref"], self.reference, f"{self.reference.url}/{file_id}", p.large)
                start = p.large // 2 - p.range_size // 2
                self.download(
                    n["range_app"],
                    self.app,
                    f"{self.app.url}/files/{file_id}",
                    p.range_size,
                    f"{start}-{start + p.range_size - 1}",
                )
                rss.append(self.app.rss())
                self.records.setdefault("download RSS after each request", []).append({"rss": rss})
                clear(self.app_storage)
                self.upload_app(n["small_app"], [small])
                self.upload_app(n["conc_app"], concurrent)
                self.two_copies(n["conc_cp"], [path for path, _ in concurrent])
                self.upload_app(n["huge_app"], [huge])
                self.two_copies(n["huge_cp"], [huge[0]])
            print("Hostile bodies", flush=True)
            for _ in range(p.rounds):
                for name, body in bodies.items():
                    self.hostile(f"hostile {size_name(p.hostile)}: {name}", body)
        finally:
            self.stop()


# --- the catalogue's target: the same upload with and without the catalogue ---------------------------


def export_revision(revision: str, into: Path) -> Path:
    """The template as it was at ``revision`` of this clone, written to ``into`` (``git archive``)."""
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", revision], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def compare(bench: Path, profile: Profile, revision: str, overrides: list[str], keep_inputs: bool) -> dict:
    """Upload one ``profile.large`` file to today's project and to ``revision``'s, alternately; the results.

    Both are baked with the same answers and served the same way (their own
    production.ini, storage and spool in ``bench``), and each round
    alternates which one goes first, so that a machine that slows down or
    speeds up during the run weighs on both alike.
    """
    before = export_revision(revision, bench / "pre-catalogue-template")
    projects = {
        "current": bake(bench, overrides, name="current"),
        "pre-catalogue": bake(bench, overrides, template=before, name="pre-catalogue"),
    }
    data = bench / "data"
    data.mkdir(parents=True, exist_ok=True)
    large = data / "large.bin"
    inputs = [(large, make_input(large, profile.large, 2))]
    servers: dict[str, tuple[Server, str, Path, Path]] = {}
    records: dict[str, list[dict]] = {name: [] for name in projects}
    try:
        for name, project in projects.items():
            port = free_port()
            ini, storage, temp = bench_ini(project, bench, name, port)
            server = Server(name, [str(project / ".venv/bin/pserve"), str(ini)], project, port, bench / f"{name}.log")
            servers[name] = (server, csrf_token(server), storage, temp)
        for round_number in range(profile.rounds):
            order = list(servers) if round_number % 2 == 0 else list(reversed(servers))
            for name in order:
                server, token, storage, temp = servers[name]
                case = f"upload {size_name(profile.large)}: {name}"
                record, _ = upload_and_verify(server, token, storage, inputs, case)
                record["temp_left"] = temp_left(temp)
                records[name].append(record)
                print(f"  round {round_number + 1}: {case:<36} {record['seconds']:8.2f} s", flush=True)
                clear(storage)
    finally:
        for server, *_ in servers.values():
            server.stop()
        if not keep_inputs:
            shutil.rmtree(data, ignore_errors=True)
    medians = {name: statistics.median(run["seconds"] for run in runs) for name, runs in records.items()}
    cpu = {name: statistics.median(run["cpu_seconds"] for run in runs) for name, runs in records.items()}
    ratio = medians["current"] / medians["pre-catalogue"]
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return {
        "size": profile.large,
        "rounds": profile.rounds,
        "revisions": {"current": head.stdout.strip() or "working tree", "pre-catalogue": revision[:7]},
        "median_seconds": medians,
        "median_cpu_seconds": cpu,
        "ratio": ratio,
        "cpu_ratio": cpu["current"] / cpu["pre-catalogue"],
        "limit": CATALOGUE_UPLOAD_LIMIT,
        "met": ratio <= CATALOGUE_UPLOAD_LIMIT,
        "runs": records,
    }


def compare_report(result: dict) -> str:
    """The comparison as markdown: each template's median, and the ratio against the target."""
    size = size_name(result["size"])
    lines = [
        f"| upload {size} (median of {result['rounds']}) | revision | s | MB/s | server CPU s |",
        "|---|---|---:|---:|---:|",
    ]
    for name, seconds in result["median_seconds"].items():
        rate = result["size"] / seconds / MB
        cpu = result["median_cpu_seconds"][name]
        lines.append(f"| {name} | {result['revisions'][name]} | {seconds:.2f} | {rate:.0f} | {cpu:.2f} |")
    met = "yes" if result["met"] else "**no**"
    lines += [
        "",
        f"current / pre-catalogue: {result['ratio']:.3f} in wall time (wanted <= {result['limit']}; met: {met}),",
        f"{result['cpu_ratio']:.3f} in the server's CPU time (what a busy machine disturbs least).",
    ]
    return "\n".join(lines)


# --- report -------------------------------------------------------------------------------------------


def summarize(records: dict[str, list[dict]]) -> dict[str, dict]:
    """Medians per case (peak RSS and temp files left: the worst round)."""
    summary = {}
    for case, runs in records.items():
        if "seconds" not in runs[0]:
            continue
        nbytes = runs[0]["bytes"]
        seconds = statistics.median(run["seconds"] for run in runs)
        entry = {"rounds": len(runs), "bytes": nbytes, "seconds": seconds, "mb_per_s": nbytes / seconds / MB,
                 "seconds_per_gib": seconds / (nbytes / GiB)}  # fmt: skip
        if "io" in runs[0]:
            for key in ("wchar", "write_bytes", "cancelled_write_bytes", "rchar", "read_bytes"):
                entry[f"{key}_per_byte"] = statistics.median(run["io"][key] for run in runs) / nbytes
            entry["peak_rss"] = max(run["peak_rss"] for run in runs)
        if "temp_left" in runs[0]:
            entry["temp_left"] = max(run["temp_left"] for run in runs)
        if "fsync_seconds" in runs[0]:
            entry["fsync_seconds"] = statistics.median(run["fsync_seconds"] for run in runs)
        if "status" in runs[0]:
            entry["status"] = sorted({run["status"] for run in runs})
            entry["max_seconds"] = max(run["seconds"] for run in runs)
        summary[case] = entry
    return summary


def targets(summary: dict[str, dict], names: dict[str, str], records: dict[str, list[dict]]) -> list[dict]:
    """The issue's targets, each with its measured value."""

    def s(key: str) -> dict:
        return summary[names[key]]

    # RSS after each download of a round: what the later ones added to the first's.
    rss_rounds = [run["rss"] for run in records["download RSS after each request"]]
    growth = max(rss[-1] - rss[0] for rss in rss_rounds)
    hostile = [entry["max_seconds"] for case, entry in summary.items() if case.startswith("hostile")]
    large_app = s("large_app")
    rows = [
        ("upload large / two-copy limit", large_app["seconds"] / s("large_cp")["seconds"], "<=", 1.3),
        ("seed page's way / upload large", s("large_seed")["seconds"] / large_app["seconds"], ">=", 6.0),
        ("upload huge: peak server RSS (MiB)", s("huge_app")["peak_rss"] / MiB, "<=", 64.0),
        ("upload huge s/GiB / upload large s/GiB",
         s("huge_app")["seconds_per_gib"] / large_app["seconds_per_gib"], "<=", 1.3),
        ("concurrent uploads / two-copy limit", s("conc_app")["seconds"] / s("conc_cp")["seconds"], "<=", 1.3),
        ("upload large: bytes written (wchar) per byte", large_app["wchar_per_byte"], "<=", 2.01),
        ("upload large: bytes read (rchar) per byte, no re-read", large_app["rchar_per_byte"], "<=", 1.01),
        ("download: app / http.server time", s("down_app")["seconds"] / s("down_ref")["seconds"], "<=", 1.0),
        ("download: RSS growth after the first download of a round (MiB)", growth / MiB, "<=", 1.0),
        ("hostile bodies: slowest answer (s)", max(hostile), "<", 0.5),
    ]  # fmt: skip
    result = []
    for name, value, op, limit in rows:
        met = {"<=": value <= limit, ">=": value >= limit, "<": value < limit}[op]
        result.append({"target": name, "value": value, "op": op, "limit": limit, "met": met})
    return result


def machine() -> dict[str, str]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor(),
    )  # fmt: skip
    memory = next(line.split(":")[1].strip() for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))  # fmt: skip
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "curl": subprocess.run(["curl", "--version"], check=False, capture_output=True, text=True).stdout.split("\n")[
            0
        ],
    }


def report(summary: dict[str, dict], checks: list[dict], info: dict[str, str], filesystem: str) -> str:
    """The results as markdown: medians, what wrote how much, and the targets."""
    lines = [
        (
            "| case | median s | MB/s | s/GiB | peak RSS MiB | wchar/B | write_bytes/B | cancelled/B | rchar/B "
            "| temp left |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case, entry in summary.items():
        if case.startswith("hostile"):
            continue

        def col(key: str, fmt: str = "{:.2f}", entry: dict = entry) -> str:
            return fmt.format(entry[key]) if key in entry else "-"

        rss = f"{entry['peak_rss'] / MiB:.0f}" if "peak_rss" in entry else "-"
        lines.append(
            f"| {case} | {entry['seconds']:.2f} | {entry['mb_per_s']:.0f} | {entry['seconds_per_gib']:.2f} | "
            f"{rss} | "
            f"{col('wchar_per_byte')} | {col('write_bytes_per_byte')} | {col('cancelled_write_bytes_per_byte')} | "
            f"{col('rchar_per_byte')} | {col('temp_left', '{}')} |"
        )
    lines += ["", "| hostile body | status | median s | slowest s | temp left |", "|---|---|---:|---:|---:|"]
    for case, entry in summary.items():
        if case.startswith("hostile"):
            status = ", ".join(map(str, entry["status"]))
            lines.append(
                f"| {case.removeprefix('hostile ')} | {status} | {entry['seconds']:.3f} | "
                f"{entry['max_seconds']:.3f} | {entry['temp_left']} |"
            )
    lines += ["", "| target | measured | wanted | met |", "|---|---:|---:|---|"]
    for check in checks:
        lines.append(
            f"| {check['target']} | {check['value']:.2f} | {check['op']} {check['limit']} | "
            f"{'yes' if check['met'] else '**no**'} |"
        )
    machine_line = (
        f"Machine: {info['cpu']}; {info['memory']} RAM; Linux {info['kernel']}; {filesystem}; "
        f"Python {info['python']}; {info['curl']}."
    )
    lines += ["", machine_line]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small files: a few minutes, for development")
    parser.add_argument("--rounds", type=int, help="rounds of every case (default 3)")
    parser.add_argument("--dir", type=Path, default=REPO / "build" / "bench", help="work directory")
    parser.add_argument("--project", type=Path, help="an already baked and installed project to measure")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="bake with this too")
    parser.add_argument("--json", type=Path, help="where to write the results (default DIR/results.json)")
    parser.add_argument("--keep-inputs", action="store_true", help="keep the random input files for the next run")
    parser.add_argument("--report", type=Path, metavar="JSON", help="only print the tables of a saved run")
    parser.add_argument(
        "--compare", action="store_true", help="only the 1 GiB upload, against the template before the catalogue"
    )
    parser.add_argument(
        "--baseline", default=PRE_CATALOGUE, metavar="REV", help="with --compare: the git revision to compare with"
    )
    args = parser.parse_args()
    if args.report:
        saved = json.loads(args.report.read_text())
        summary = summarize(saved["runs"])
        names = case_names(Profile(**saved["profile"]))
        print(report(summary, targets(summary, names, saved["runs"]), saved["machine"], saved["filesystem"]))
        return
    for program in ("curl", "cp", "sync"):
        if shutil.which(program) is None:
            sys.exit(f"{program} is needed (Debian: apt-get install curl, or scripts/system-deps)")
    profile = QUICK if args.quick else FULL
    if args.rounds:
        profile = Profile(**{**profile.__dict__, "rounds": args.rounds})
    bench = args.dir.resolve()
    bench.mkdir(parents=True, exist_ok=True)
    if args.compare:
        result = compare(bench, profile, args.baseline, args.set, args.keep_inputs)
        table = compare_report(result)
        print()
        print(table)
        out = args.json or bench / "compare.json"
        out.write_text(json.dumps(result, indent=1))
        out.with_suffix(".md").write_text(table + "\n")
        print(f"\nWrote {out} and {out.with_suffix('.md')}")
        return
    project = args.project.resolve() if args.project else bake(bench, args.set)
    findmnt = ["findmnt", "-no", "FSTYPE", "--target", str(bench)]
    filesystem = subprocess.run(findmnt, check=False, capture_output=True, text=True).stdout.strip() or "unknown"
    runner = Bench(project, bench, profile)
    try:
        runner.run()
    finally:
        if not args.keep_inputs:
            shutil.rmtree(runner.data, ignore_errors=True)
    summary = summarize(runner.records)
    checks = targets(summary, runner.names, runner.records)
    info = machine()
    table = report(summary, checks, info, filesystem)
    print()
    print(table)
    out = args.json or bench / "results.json"
    out.write_text(json.dumps({"profile": profile.__dict__, "machine": info, "filesystem": filesystem,
                               "summary": summary, "targets": checks, "runs": runner.records}, indent=1))  # fmt: skip
    (out.with_suffix(".md")).write_text(table + "\n")
    print(f"\nWrote {out} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
