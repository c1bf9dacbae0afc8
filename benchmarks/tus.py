"""Resumable (tus) upload benchmark: 1 GiB through ``tuspy`` in 32 MiB chunks vs one request, same run.

What it does (``make bench`` runs it after ``upload.py``; ``--quick`` uses 128 MiB)::

    1. bake and install the default project (``upload.bake``), add ``tuspy``
       to its virtualenv, and serve it with its production.ini (storage,
       temp and catalogue under build/bench/tus);
    2. in every round, interleaved: upload the file with curl in one
       multipart request, then with tuspy in 32 MiB PATCH requests (each
       ``fsync``'ed before it is acknowledged), and once more with tuspy
       sending the first chunk to a second instance (same catalogue, same
       storage): the instance that gets the rest did not see every byte, so
       it hashes the file once at the end;
    3. print medians, the tus/single ratio (target <= 1.5) and the peak RSS
       of the server (target < 96 MiB); write the records as JSON.

With ``--s3`` both instances keep the files in S3 instead: a one-node Ceph
RADOS Gateway (the baked project's ``tests/ceph.py``, as ``s3.py`` starts
it), 8 MiB parts, so each 32 MiB chunk is four parts and never leaves a tail.

Every upload is checked: the SHA-256 the catalogue records must be the input's.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# The shared benchmark helpers, imported from beside this file.
from upload import (
    GiB,
    MiB,
    Server,
    bake,
    bench_ini,
    csrf_token,
    curl_upload,
    free_port,
    make_input,
    measure,
    run_curls,
)

REPO = Path(__file__).resolve().parent.parent
TUSPY = "tuspy==1.1.0"
CHUNK = 32 * MiB
RATIO_TARGET = 1.5
RSS_TARGET = 96 * MiB

# Run by the project's Python (which has tuspy): upload argv[2] to argv[1], print the stored file's URL.
# With a second server (argv[5]), the first chunk goes to argv[1] and the rest to argv[5]: another
# instance, on the same catalogue and storage, which did not see the first chunk and so hashes at the end.
CLIENT = """
import sys
from tusclient.client import TusClient
url, path, token, chunk, other = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
headers = {"X-CSRF-Token": token, "Cookie": "csrf_token=" + token}
client = TusClient(url + "/uploads/", headers=headers)
uploader = client.uploader(path, chunk_size=chunk, metadata={"filename": "b.bin"})
if other:
    uploader.upload_chunk()
    moved = other + "/uploads/" + uploader.url.rsplit("/", 1)[1]
    uploader = TusClient(other + "/uploads/", headers=headers).uploader(path, chunk_size=chunk, url=moved)
uploader.upload()
print(uploader.request.response_headers["upload-file-location"])
"""


def prepare(project: Path, bench: Path) -> Path:
    """production.ini for the benchmark, with its own catalogue, migrated; tuspy installed."""
    python = project / ".venv" / "bin" / "python"
    bin_dir = Path(sys.executable).parent
    subprocess.run([bin_dir / "uv", "pip", "install", "-q", "--python", python, TUSPY], check=True)
    port = free_port()
    ini, _storage, _temp = bench_ini(project, bench, "tus", port)
    database = bench / "tus" / "catalogue.sqlite"
    database.unlink(missing_ok=True)
    text = re.sub(r"(?m)^sqlalchemy\.url *=.*$", f"sqlalchemy.url = sqlite:///{database}", ini.read_text())
    ini.write_text(text)
    subprocess.run([project / ".venv/bin/alembic", "-c", ini, "upgrade", "head"], check=True, capture_output=True)
    return ini


def use_s3(project: Path, ini: Path, size: int, rounds: int) -> object:
    """Start a one-node Ceph RGW with a bucket, and switch ``ini`` to it; the cluster (to destroy)."""
    python = project / ".venv" / "bin" / "python"
    bin_dir = Path(sys.executable).parent
    subprocess.run([bin_dir / "uv", "pip", "install", "-q", "--python", python, "-e", f"{project}[s3]"], check=True)
    sys.path.insert(0, str(project))
    from tests.ceph import CephCluster

    # Three files a round stay in the bucket, in RAM (memstore).
    cluster = CephCluster(memstore_bytes=(3 * rounds + 1) * size + GiB)
    cluster.start()
    os.environ.update(cluster.environ())  # the servers take the credentials from the environment only
    make_bucket = (
        "import boto3, sys; boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1')"
        ".create_bucket(Bucket='bench')"
    )
    subprocess.run([python, "-c", make_bucket, cluster.endpoint], check=True)
    s3_lines = (
        f"uploads.storage = s3\nuploads.s3.bucket = bench\nuploads.s3.prefix = files/\n"
        f"uploads.s3.endpoint_url = {cluster.endpoint}\nuploads.s3.region = us-east-1\n"
        "uploads.s3.addressing_style = path\n"
    )
    text = re.sub(r"(?m)^uploads\.storage = .*\n", "", ini.read_text())
    ini.write_text(text.replace("[app:main]\n", "[app:main]\n" + s3_lines, 1))
    return cluster


def record_sha256(server: Server, location: str) -> str:
    """The catalogue's SHA-256 of the newest file (the one just stored)."""
    import urllib.request

    request = urllib.request.Request(server.url + "/files?limit=1", headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        newest = json.load(response)["files"][0]
    assert newest["url"] == location, (newest["url"], location)
    return newest["sha256"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="128 MiB, one round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-fsync", action="store_true", help="uploads.fsync = false (to compare)")
    parser.add_argument("--s3", action="store_true", help="store in S3 (a one-node Ceph RGW) instead of on disk")
    parser.add_argument("--output", type=Path)
    args, _ = parser.parse_known_args()  # make bench passes upload.py's BENCH_ARGS too
    args.output = args.output or REPO / "build" / "bench" / ("tus-s3.json" if args.s3 else "tus.json")
    size, rounds = (128 * MiB, 1) if args.quick else (GiB, args.rounds)
    bench = REPO / "build" / "bench"
    project = bake(bench, [])
    python = project / ".venv" / "bin" / "python"
    ini = prepare(project, bench)
    if args.no_fsync:
        ini.write_text(re.sub(r"(?m)^uploads\.fsync *=.*$", "uploads.fsync = false", ini.read_text()))
    cluster = use_s3(project, ini, size, rounds) if args.s3 else None
    data = bench / "data"
    data.mkdir(parents=True, exist_ok=True)
    source = data / f"tus-{size // MiB}MiB.bin"
    expected = make_input(source, size, seed=7)

    port = int(re.search(r"(?m)^listen = 127\.0\.0\.1:(\d+)$", ini.read_text()).group(1))
    server = Server("tus", [str(project / ".venv/bin/pserve"), str(ini)], project, port, bench / "tus.log")
    other_port = free_port()
    other_ini = ini.with_name("tus-other.ini")
    other_ini.write_text(ini.read_text().replace(f"listen = 127.0.0.1:{port}", f"listen = 127.0.0.1:{other_port}"))
    other = Server(
        "tus-other", [str(project / ".venv/bin/pserve"), str(other_ini)], project, other_port, bench / "o.log"
    )
    records: dict[str, list[dict]] = {"single request": [], "tus 32 MiB": [], "tus, hashed at the end": []}
    try:
        token = csrf_token(server)

        def single() -> dict:
            [(status, body)] = run_curls([curl_upload(server.url + "/files", source, token)])
            assert status == 201, body
            stored = json.loads(body)["files"][0]
            assert stored["sha256"] == expected
            return {}

        def tus(first_elsewhere: bool) -> dict:
            first = other.url if first_elsewhere else server.url
            argv = [
                str(python),
                "-c",
                CLIENT,
                first,
                str(source),
                token,
                str(CHUNK),
                server.url if first_elsewhere else "",
            ]
            location = subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()
            assert record_sha256(server, location) == expected
            return {}

        for round_number in range(rounds):
            print(f"round {round_number + 1} of {rounds}", flush=True)
            for case, action in (
                ("single request", single),
                ("tus 32 MiB", lambda: tus(False)),
                ("tus, hashed at the end", lambda: tus(True)),
            ):
                record = measure(server, size, action)
                records[case].append(record)
                print(f"  {case:<28} {record['seconds']:7.2f} s  peak RSS {record['peak_rss'] / MiB:5.0f} MiB")
    finally:
        server.stop()
        other.stop()
        if cluster is not None:
            cluster.destroy()

    medians = {case: statistics.median(r["seconds"] for r in runs) for case, runs in records.items()}
    peaks = {case: max(r["peak_rss"] for r in runs) for case, runs in records.items()}
    where = "in S3 (Ceph RGW, memstore)" if args.s3 else "on local disk"
    print(f"\n{size // MiB} MiB {where}, {rounds} rounds, medians:")
    for case in records:
        ratio = medians[case] / medians["single request"]
        print(f"  {case:<28} {medians[case]:7.2f} s  x{ratio:4.2f}  peak RSS {peaks[case] / MiB:5.0f} MiB")
    ratio = medians["tus 32 MiB"] / medians["single request"]
    worst_rss = max(peaks["tus 32 MiB"], peaks["tus, hashed at the end"])
    print(f"target: tus <= {RATIO_TARGET} x single: {'met' if ratio <= RATIO_TARGET else 'MISSED'} ({ratio:.2f})")
    print(f"target: peak RSS < 96 MiB: {'met' if worst_rss < RSS_TARGET else 'MISSED'} ({worst_rss / MiB:.0f} MiB)")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"size": size, "records": records, "medians": medians}, indent=2))


if __name__ == "__main__":
    main()
