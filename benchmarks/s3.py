"""The S3 backend against boto3 itself, on a one-node Ceph RADOS Gateway, in one run.

What it does (``make bench`` runs it after ``upload.py``; ``--quick`` uses 128 MiB)::

    1. bake the default project into build/bench-s3 and install it with its s3 extra;
    2. start a one-node Ceph (the baked project's ``tests/ceph.py``: mon, one
       memstore OSD, radosgw on a free loopback port) and make a bucket;
    3. serve the project with its production.ini switched to S3
       (``uploads.storage = s3`` and the ``uploads.s3.*`` settings; the
       credentials in the environment only, as in production);
    4. in every round, interleaved: upload 1 GiB through the app (curl -F)
       and with boto3's ``upload_file`` (what ``aws s3 cp`` does: 8 MiB parts,
       10 threads); download it through the app (proxied, curl) and with
       boto3's ``download_fileobj``;
    5. print medians, the ratios against their targets and the app's peak RSS,
       and write everything as JSON.

Every upload is checked: the sha256 the app answers must equal the input's,
and so must the sha256 of the object read back from the bucket.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from upload import GiB, MiB, Server, bake, bench_ini, csrf_token, curl_upload, free_port, make_input, measure, run_curls

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TARGETS = {"upload": 1.5, "download": 1.3}


class Discard:
    """A writable file that keeps nothing but a hash (what a download is checked by)."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return len(data)


def curl(*argv: str) -> str:
    """Run curl; what it printed (``-w``)."""
    return subprocess.run(["curl", "-sS", *argv], capture_output=True, text=True, check=True).stdout


def run_round(
    server: Server, client: object, data: Path, digest: str, size: int, token: str, boto3_key: str, records: dict
) -> None:
    """One round, interleaved: app upload, boto3 upload, app download, boto3 download; then both deleted."""
    answer: dict = {}

    def app_upload() -> dict:
        ((status, body),) = run_curls([curl_upload(server.url + "/files", data, token)])
        assert status == 201, body
        answer.update(json.loads(body)["files"][0])
        return {}

    records["app upload"].append(measure(server, size, app_upload))
    assert answer["sha256"] == digest, "the app's sha256 is not the input's"
    url = f"{server.url}/files/{answer['id']}"

    def boto3_upload() -> dict:
        client.upload_file(str(data), "bench", boto3_key)
        return {}

    records["boto3 upload_file"].append(measure(None, size, boto3_upload))

    def app_download() -> dict:
        assert curl("-o", "/dev/null", "-w", "%{http_code}", url) == "200"
        return {}

    records["app download"].append(measure(server, size, app_download))

    def boto3_download() -> dict:
        sink = Discard()
        client.download_fileobj("bench", "files/" + answer["id"], sink)
        assert sink.digest.hexdigest() == digest, "the object in the bucket is not the input"
        return {}

    records["boto3 download_fileobj"].append(measure(None, size, boto3_download))
    client.delete_object(Bucket="bench", Key=boto3_key)
    csrf = ["-H", f"X-CSRF-Token: {token}", "-b", f"csrf_token={token}"]
    assert curl("-o", "/dev/null", "-w", "%{http_code}", "-X", "DELETE", *csrf, url) == "204"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="128 MiB instead of 1 GiB")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)  # the second step, in the project's venv
    args = parser.parse_args()
    size = 128 * MiB if args.quick else GiB
    bench = REPO / "build" / "bench-s3"
    if args.project is None:
        bench.mkdir(parents=True, exist_ok=True)
        project = bake(bench, ["access=open"])  # what is measured is storage, not signing in
        python = project / ".venv" / "bin" / "python"
        subprocess.run([Path(sys.executable).parent / "uv", "pip", "install", "-q", "--python", python, "-e",
                        f"{project}[s3]"], check=True)  # fmt: skip
        # Measure from the project's virtualenv: boto3 is there, the same library the app uses.
        os.execv(python, [str(python), __file__, *sys.argv[1:], "--project", str(project)])
    project = args.project
    sys.path.insert(0, str(project))
    import boto3
    from tests.ceph import CephCluster

    data = bench / "input.bin"
    digest = make_input(data, size, seed=9)
    # Each round stores the file twice; deleted objects stay in RAM until radosgw's GC.
    cluster = CephCluster(memstore_bytes=(2 * args.rounds + 2) * size + GiB)
    server = None
    try:
        started = time.perf_counter()
        cluster.start()
        print(f"Ceph RGW up in {time.perf_counter() - started:.1f} s at {cluster.endpoint}")
        os.environ.update(cluster.environ())
        client = boto3.session.Session().client("s3", endpoint_url=cluster.endpoint, region_name="us-east-1")
        client.create_bucket(Bucket="bench")
        port = free_port()
        ini, _, _ = bench_ini(project, bench, "app", port)
        s3_lines = (
            f"uploads.storage = s3\nuploads.s3.bucket = bench\nuploads.s3.prefix = files/\n"
            f"uploads.s3.endpoint_url = {cluster.endpoint}\nuploads.s3.region = us-east-1\n"
            "uploads.s3.addressing_style = path\n"
        )
        text = re.sub(r"(?m)^uploads\.storage = .*\n", "", ini.read_text())
        ini.write_text(text.replace("[app:main]\n", "[app:main]\n" + s3_lines, 1))
        subprocess.run([project / ".venv" / "bin" / "alembic", "-c", ini, "upgrade", "head"], cwd=project, check=True,
                       capture_output=True)  # fmt: skip
        server = Server("app", [str(project / ".venv" / "bin" / "pserve"), str(ini)], project, port, bench / "app.log")
        token = csrf_token(server)
        records: dict[str, list[dict]] = {"app upload": [], "boto3 upload_file": [], "app download": [],
                                          "boto3 download_fileobj": []}  # fmt: skip
        for round_number in range(args.rounds):
            run_round(server, client, data, digest, size, token, f"boto3/{round_number}", records)
        summary = {name: statistics.median(run["seconds"] for run in runs) for name, runs in records.items()}
        peak = {name: max(run.get("peak_rss", 0) for run in runs) for name, runs in records.items()}
        ratios = {
            "upload": summary["app upload"] / summary["boto3 upload_file"],
            "download": summary["app download"] / summary["boto3 download_fileobj"],
        }
        label = f"{size // MiB} MiB" if size < GiB else f"{size // GiB} GiB"
        print(f"\n{label} to and from Ceph RGW (memstore), median of {args.rounds} rounds:")
        for name, seconds in summary.items():
            rss = f", app peak RSS {peak[name] / MiB:.0f} MiB" if peak[name] else ""
            print(f"  {name:24} {seconds:7.2f} s  {size / seconds / 1e6:7.0f} MB/s{rss}")
        for name, ratio in ratios.items():
            verdict = "ok" if ratio <= TARGETS[name] else "MISSED"
            print(f"  {name} through the app / boto3: {ratio:.2f} x (target <= {TARGETS[name]} x) {verdict}")
        upload_rss = peak["app upload"] / MiB
        print(f"  peak server RSS during the upload: {upload_rss:.0f} MiB (target < 128 MiB)")
        out = bench / "results.json"
        out.write_text(json.dumps({"records": records, "median_seconds": summary, "ratios": ratios,
                                   "peak_rss": peak}, indent=2))  # fmt: skip
        print(f"  all figures: {out}")
    finally:
        if server is not None:
            server.stop()
        cluster.destroy()


if __name__ == "__main__":
    main()
