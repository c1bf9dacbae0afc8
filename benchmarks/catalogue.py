"""Catalogue benchmark: the page and the JSON listing with 100,000 stored files, on SQLite and PostgreSQL.

What it does (``python benchmarks/catalogue.py`` with the template's
virtualenv; ``--quick`` seeds 2,000 files instead)::

    1. bake the default project into build/bench-catalogue and install it
       with its ``postgresql`` extra;
    2. for SQLite (the default) and for PostgreSQL (a throwaway server started
       with the generated project's own ``tests/postgresql.py``): create the
       schema with ``alembic upgrade head``, seed 1,000 files through the
       project's code (``catalogue_seed.py``), serve production.ini with
       ``pserve``, and time ``GET /``, ``GET /files`` (first page) and
       ``GET /files`` deep in the cursor chain (after 50,000 files); then
       seed up to 100,000 and time the same requests again;
    3. print the medians, 90th percentiles and response sizes; write them as
       JSON to build/bench-catalogue/results.json.

The targets (issue "A catalogue that scales"): each median under 30 ms at
100,000 files, and response sizes that do not grow with the number of files.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from upload import Server, bake, free_port

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
REQUESTS = 60


def catalogue_ini(project: Path, bench: Path, name: str, port: int, url: str) -> Path:
    """production.ini on 127.0.0.1:``port``, the catalogue at ``url``, files under ``bench/name``."""
    directory = bench / name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    text = (project / "production.ini").read_text()
    for pattern, value in (
        (r"^listen = .*$", f"listen = 127.0.0.1:{port}"),
        (r"^uploads\.storage_path = .*$", f"uploads.storage_path = {directory / 'storage'}"),
        (r"^uploads\.temp_path = .*$", f"uploads.temp_path = {directory / 'tmp'}"),
        (r"^uploads\.fsync = .*$", "uploads.fsync = false"),  # seeding speed; listings never fsync
        (r"^sqlalchemy\.url = .*$", f"sqlalchemy.url = {url}"),
    ):
        text, count = re.subn(pattern, value, text, flags=re.MULTILINE)
        if count != 1:
            raise RuntimeError(f"production.ini: expected one line matching {pattern!r}")
    ini = bench / f"{name}.ini"
    ini.write_text(text)
    return ini


def timed_get(url: str, accept: str) -> tuple[float, int, dict]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        body = response.read()
    elapsed = time.perf_counter() - started
    return elapsed, len(body), json.loads(body) if accept == "application/json" else {}


def deep_cursor_url(server: Server, depth: int) -> str:
    """The ``next`` URL after ``depth`` files, found by following the chain (500 a page)."""
    url = f"{server.url}/files?limit=500"
    for _ in range(depth // 500):
        url = timed_get(url, "application/json")[2]["next"]
    return url.replace("limit=500", "limit=50")


def measure(server: Server, depth: int) -> dict[str, dict]:
    cases = {
        "GET /": (f"{server.url}/", "text/html"),
        "GET /files (first page)": (f"{server.url}/files", "application/json"),
        f"GET /files (after {depth:,} files)": (deep_cursor_url(server, depth), "application/json"),
    }
    results = {}
    for name, (url, accept) in cases.items():
        timed_get(url, accept)  # warm
        runs = [timed_get(url, accept)[:2] for _ in range(REQUESTS)]
        times = sorted(seconds * 1000 for seconds, _ in runs)
        results[name] = {
            "median_ms": round(statistics.median(times), 2),
            "p90_ms": round(times[int(len(times) * 0.9) - 1], 2),
            "bytes": runs[-1][1],
        }
    return results


def seed(project: Path, ini: Path, count: int) -> None:
    subprocess.run([project / ".venv/bin/python", HERE / "catalogue_seed.py", ini, str(count)], check=True)


def run_database(project: Path, bench: Path, name: str, url: str, sizes: list[int]) -> dict[str, dict]:
    port = free_port()
    ini = catalogue_ini(project, bench, name, port, url)
    subprocess.run([project / ".venv/bin/alembic", "--quiet", "-c", ini, "upgrade", "head"], check=True)
    results: dict[str, dict] = {}
    seeded = 0
    for size in sizes:
        seed(project, ini, size - seeded)
        seeded = size
        server = Server(f"{name}-{size}", [str(project / ".venv/bin/pserve"), str(ini)], project, port,
                        bench / f"{name}.log")  # fmt: skip
        try:
            results[f"{size:,} files"] = measure(server, min(50_000, size // 2))
        finally:
            server.stop()
        for case, record in results[f"{size:,} files"].items():
            print(f"  {name:<10} {size:>7,} files  {case:<32} median {record['median_ms']:7.2f} ms"
                  f"  p90 {record['p90_ms']:7.2f} ms  {record['bytes']:>7,} bytes", flush=True)  # fmt: skip
    return results


# Run with the project's Python: the generated project's own throwaway server (tests/postgresql.py),
# alive until stdin closes.
POSTGRESQL_HELPER = """
import sys
from tests.postgresql import PostgreSQLServer, find_bin
bin_dir = find_bin()
if bin_dir is None:
    print("", flush=True)
    sys.exit()
server = PostgreSQLServer(bin_dir)
try:
    server.start()
    print(server.create_database(), flush=True)
    sys.stdin.read()
finally:
    server.destroy()
"""


def start_postgresql(project: Path) -> tuple[subprocess.Popen, str] | None:
    process = subprocess.Popen([project / ".venv/bin/python", "-c", POSTGRESQL_HELPER], cwd=project,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    url = process.stdout.readline().strip()
    if not url:
        process.wait(60)
        return None
    return process, url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="seed 2,000 files, not 100,000")
    args = parser.parse_args()
    bench = REPO / "build" / "bench-catalogue"
    bench.mkdir(parents=True, exist_ok=True)
    project = bake(bench, [])
    python = project / ".venv" / "bin" / "python"
    subprocess.run([Path(sys.executable).parent / "uv", "pip", "install", "-q", "--python", python,
                    "-e", f"{project}[postgresql]"], check=True)  # fmt: skip
    sizes = [1_000, 2_000] if args.quick else [1_000, 100_000]

    results = {"sqlite": run_database(project, bench, "sqlite", f"sqlite:///{bench / 'sqlite' / 'catalogue.sqlite'}",
                                      sizes)}  # fmt: skip
    postgresql = start_postgresql(project)
    if postgresql is None:
        print("PostgreSQL is not installed (apt-get install postgresql): its rows are skipped", flush=True)
    else:
        process, url = postgresql
        try:
            results["postgresql"] = run_database(project, bench, "postgresql", url, sizes)
        finally:
            process.stdin.close()  # the helper stops and removes the server
            process.wait(60)
    (bench / "results.json").write_text(json.dumps(results, indent=1))
    print(f"results: {bench / 'results.json'}")


if __name__ == "__main__":
    main()
