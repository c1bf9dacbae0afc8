"""Slow: bake a matrix of answers, install each project, run its own checks.

``COMBINATIONS`` covers every variable at a value other than its default at
least once: each template language, small and large sizes, chunk sizes,
allowed extensions, absolute and relative paths, and project names that
are not identifiers (the slug is derived from them).

The default project (jinja2, accounts) runs its whole suite, and so does
the ``access=open`` one (in chameleon, the template language that refuses
a name the view did not give it, the likeliest to break without accounts).
The other bakes run the tests their answers can change (the generated
tests marked ``answers``: settings loading, page rendering, round trips
under the answered limits, a browser smoke test) and, in the languages
other than jinja2, those marked ``pages`` (each page template in each
state it has logic for, the browser's sign-in flow with and without
JavaScript), and ruff: the rest of a generated suite sets the settings it
relies on and renders no page, so it depends on neither. Between them,
every template language runs its pages with accounts (default, chameleon
and mako bakes) and one without (access-open).

The bakes share one virtualenv: each is installed into it with its own
``testing`` extra, and each template language's renderer package is
installed first by a bake of that language, so a dependency missing from
a pyproject.toml still fails a bake. ``uv``'s package cache makes each
install after the first take a second or two.

The browser tests use headless Chromium (``CHROMIUM`` or /usr/bin/chromium);
their screenshots are kept under ``build/test-artifacts/<bake id>/``.
"""

import hashlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TEMPLATE

pytestmark = pytest.mark.slow

ARTIFACTS = TEMPLATE / "build" / "test-artifacts"
TOOLS = Path(sys.executable).parent
# Waits below end at the event they wait for (a line printed, a process
# exiting); this bound only turns a server that never comes up into a
# failure instead of a hang.
HANG = 600

# Each bake's answers (``{abs}`` is replaced by a directory of the test's own).
# The default and access-open bakes run the whole generated suite; the others
# the tests marked ``answers``, and ``pages`` too in a language other than jinja2.
COMBINATIONS = {
    "default": {},
    # No accounts: its whole suite runs too (but for the PostgreSQL tests, which the default bake runs).
    "access-open-chameleon": {"access": "open", "template_language": "chameleon"},
    "digit-name-chameleon-mp3-flac-200MB-1MB-chunks": {
        "project_name": "2 Photo Share",
        "template_language": "chameleon",
        "allowed_extensions": "mp3 flac",
        "max_upload_size": "200MB",
        "chunk_size": "1MB",
    },
    "punctuated-name-mako-5GB-1KB-chunks-absolute-paths": {
        "project_name": "My Uploads!",
        "template_language": "mako",
        "max_upload_size": "5GB",
        "chunk_size": "1KB",
        "storage_path": "{abs}/stored files",
        "temp_path": "{abs}/spool",
    },
    "hostile-text-jinja2-512KB-4KB-chunks-relative-paths": {
        "project_name": 'O\'Brien "Uploads" \\ Ünïcödé 音乐 😀',
        "description": 'Say "hi" \\ it\'s a % test',
        "author_name": 'Zoë d\'Arc "The" \\Maid\\',
        "author_email": "zoe+uploads@example.com",
        "template_language": "jinja2",
        "max_upload_size": "512KB",
        "chunk_size": "4KB",
        "allowed_extensions": "MP3 .ogg, flac",
        "storage_path": "var/up%loads é ' \"",
        "temp_path": "../spool %(here)s",
    },
}

# The bakes that run their whole suite: pytest's selection for each. The
# PostgreSQL and object-store (RGW) tests exercise backends that no answer
# changes: the default bake runs them, once.
FULL_SUITE = {"default": [], "access-open-chameleon": ["-m", "not postgresql and not s3"]}


def run(command: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    """Run ``command``; on failure, show everything it printed."""
    process = subprocess.run(command, cwd=cwd, capture_output=True, text=True, **kwargs)
    assert process.returncode == 0, (
        f"{' '.join(command)} exited {process.returncode}\n{process.stdout}\n{process.stderr}"
    )
    return process


@pytest.fixture(scope="session")
def shared_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One virtualenv for every bake of the matrix."""
    venv = tmp_path_factory.mktemp("venv") / ".venv"
    run([str(TOOLS / "uv"), "venv", "--quiet", "--python", sys.executable, str(venv)], venv.parent)
    return venv


@pytest.fixture(scope="module", params=list(COMBINATIONS))
def installed(request, cookies_session, shared_venv, tmp_path_factory) -> tuple[str, Path, Path]:
    """A project of its own (not the render tests' shared bakes, which must stay pristine), installed."""
    bake_id = request.param
    absolute = tmp_path_factory.mktemp("absolute")
    answers = {name: value.replace("{abs}", str(absolute)) for name, value in COMBINATIONS[bake_id].items()}
    result = cookies_session.bake(extra_context=answers)
    assert result.exit_code == 0, result.exception
    project = Path(result.project_path)
    python = shared_venv / "bin" / "python"
    run([str(TOOLS / "uv"), "pip", "install", "--quiet", "--python", str(python), "-e", ".[testing]"], project)
    return bake_id, project, shared_venv / "bin"


def test_generated_project_passes_its_tests_for_these_answers(installed):
    bake_id, project, bin_dir = installed
    artifacts = ARTIFACTS / bake_id
    shutil.rmtree(artifacts, ignore_errors=True)
    env = {**os.environ, "ARTIFACTS_DIR": str(artifacts)}
    if bake_id in FULL_SUITE:
        selection = FULL_SUITE[bake_id]
    elif COMBINATIONS[bake_id].get("template_language", "jinja2") == "jinja2":
        selection = ["-m", "answers"]  # the default bake ran every jinja2 page
    else:
        selection = ["-m", "answers or pages"]
    if bake_id == "default":
        # The one bake that runs the PostgreSQL, Ceph RGW and small-disk tests:
        # `make test` installed what they need, so here a missing server (or
        # the right to mount a tmpfs) fails them instead of skipping them.
        env.update(REQUIRE_POSTGRESQL="1", REQUIRE_CEPH="1", REQUIRE_TMPFS="1")
    result = run([str(bin_dir / "pytest"), "-q", "-p", "no:cacheprovider", *selection], project, env=env)
    print(result.stdout[-2000:])


def test_generated_project_is_clean_under_ruff_check(installed):
    _, project, bin_dir = installed
    run([str(bin_dir / "ruff"), "check", "--no-cache", "."], project)


def test_generated_project_is_clean_under_ruff_format(installed):
    _, project, bin_dir = installed
    run([str(bin_dir / "ruff"), "format", "--no-cache", "--check", "."], project)


GIB = 1024**3


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[Path, str]]:
    """``make serve PORT=0``, the README's first command: bake, install, serve.

    Port 0 lets the kernel choose a free port; waitress's "Serving on" line
    says which. The fixture waits for that line (not for a deadline): the
    project and its URL once it is serving, or a failure with make's output
    as soon as make exits.
    """
    serve_dir = tmp_path_factory.mktemp("serve")
    server = subprocess.Popen(
        ["make", "--no-print-directory", "serve", f"SERVE_DIR={serve_dir}", "PORT=0"],
        cwd=TEMPLATE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    serving: queue.Queue[str] = queue.Queue()

    def drain() -> None:  # keep reading, or a chatty server would block on a full pipe
        for line in server.stdout:
            output.append(line)
            if match := re.search(r"Serving on (http://127\.0\.0\.1:\d+)", line):
                serving.put(match.group(1))
        serving.put("")  # make exited

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        try:
            url = serving.get(timeout=HANG)
        except queue.Empty:
            url = ""
        if not url:
            pytest.fail(f"make serve did not start serving (exit status {server.poll()}):\n{''.join(output)}")
        yield serve_dir / "upload_service", url
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        server.wait()
        reader.join()


def test_readme_serve_command_brings_up_the_sign_in_page(served):
    project, url = served
    with urllib.request.urlopen(url + "/signin", timeout=60) as response:
        assert '<form id="signin-form"' in response.read().decode("utf-8")
    assert (project / "var" / "uploads").is_dir()


def test_a_1_gib_file_uploaded_to_the_served_project_comes_back_byte_identical(served, tmp_path):
    project, url = served
    original, returned = tmp_path / "original.bin", tmp_path / "returned.bin"
    with original.open("wb") as out:
        for _ in range(GIB // (64 * 1024 * 1024)):
            out.write(os.urandom(64 * 1024 * 1024))
    # The project's own command makes a token for the demo account make serve created.
    made = run([".venv/bin/upload_service-users", "development.ini", "token", "demo", "--label", "test"], project)
    authorization = f"Authorization: Bearer {made.stdout.split()[-1]}"
    answer = run(
        ["curl", "-sS", "-H", authorization, "-H", "Accept: application/json",
         "-F", f"file=@{original}", url + "/files"],
        tmp_path,
    )  # fmt: skip
    stored = json.loads(answer.stdout)["files"][0]
    assert stored["size"] == GIB
    run(["curl", "-sS", "-H", authorization, "-o", str(returned), f"{url}/files/{stored['id']}"], tmp_path)
    assert _sha256(returned) == _sha256(original) == stored["sha256"]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()
