"""Slow: bake each template language, install the project, run its own checks.

Each project gets a virtualenv of its own, built from its pyproject.toml
with the ``testing`` extra: a dependency missing from one language's
pyproject must fail here, so the environments are not shared. ``uv``'s
package cache makes the second and third installs take seconds.

The generated suites include the browser tests (headless Chromium, from
``CHROMIUM`` or /usr/bin/chromium); their screenshots are kept under
``build/test-artifacts/<language>/``.
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from conftest import LANGUAGES, TEMPLATE

pytestmark = pytest.mark.slow

ARTIFACTS = TEMPLATE / "build" / "test-artifacts"
TOOLS = Path(sys.executable).parent


def run(command: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    """Run ``command``; on failure, show everything it printed."""
    process = subprocess.run(command, cwd=cwd, capture_output=True, text=True, **kwargs)
    assert process.returncode == 0, (
        f"{' '.join(command)} exited {process.returncode}\n{process.stdout}\n{process.stderr}"
    )
    return process


def install(project: Path) -> Path:
    """A fresh virtualenv in ``project/.venv`` with the project and its testing extra."""
    venv = project / ".venv"
    run([str(TOOLS / "uv"), "venv", "--quiet", "--python", sys.executable, str(venv)], project)
    run(
        [str(TOOLS / "uv"), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "-e", ".[testing]"],
        project,
    )
    return venv / "bin"


# One bake per template language (with accounts, the default), and one without accounts.
BAKES = {**{language: {"template_language": language} for language in LANGUAGES}, "access-open": {"access": "open"}}


@pytest.fixture(scope="module", params=list(BAKES))
def installed(request, cookies_session) -> tuple[str, Path, Path]:
    """A project of its own (not the render tests' shared bakes, which must stay pristine)."""
    language = request.param
    result = cookies_session.bake(extra_context=BAKES[language])
    assert result.exit_code == 0, result.exception
    project = Path(result.project_path)
    return language, project, install(project)


def test_generated_project_passes_its_own_test_suite(installed):
    language, project, bin_dir = installed
    artifacts = ARTIFACTS / language
    shutil.rmtree(artifacts, ignore_errors=True)
    env = {**os.environ, "ARTIFACTS_DIR": str(artifacts)}
    # The PostgreSQL tests do not depend on the template language: run them in the first bake only.
    once = [] if language == LANGUAGES[0] else ["-m", "not postgresql"]
    result = run([str(bin_dir / "pytest"), "-q", "-p", "no:cacheprovider", *once], project, env=env)
    print(result.stdout[-2000:])


def test_generated_project_is_clean_under_ruff_check(installed):
    _, project, bin_dir = installed
    run([str(bin_dir / "ruff"), "check", "--no-cache", "."], project)


def test_generated_project_is_clean_under_ruff_format(installed):
    _, project, bin_dir = installed
    run([str(bin_dir / "ruff"), "format", "--no-cache", "--check", "."], project)


SERVE_URL = "http://localhost:6543"
GIB = 1024**3


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Path]:
    """``make serve``, the README's first command: bake, install, serve on port 6543."""
    serve_dir = tmp_path_factory.mktemp("serve")
    log = (serve_dir / "make-serve.log").open("w+")
    server = subprocess.Popen(
        ["make", "--no-print-directory", "serve", f"SERVE_DIR={serve_dir}"],
        cwd=TEMPLATE,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_for_page(SERVE_URL + "/signin", server, log, timeout=180)
        yield serve_dir / "upload_service"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


def test_readme_serve_command_brings_up_the_sign_in_page_and_prints_the_demo_password(served):
    with urllib.request.urlopen(SERVE_URL + "/signin", timeout=10) as response:
        assert '<form id="signin-form"' in response.read().decode("utf-8")
    assert (served / "var" / "uploads").is_dir()
    log = (served.parent / "make-serve.log").read_text(encoding="utf-8")
    assert f"Sign in at {SERVE_URL} as demo; password (shown once): " in log


def test_a_1_gib_file_uploaded_to_the_served_project_comes_back_byte_identical(served, tmp_path):
    original, returned = tmp_path / "original.bin", tmp_path / "returned.bin"
    with original.open("wb") as out:
        for _ in range(GIB // (64 * 1024 * 1024)):
            out.write(os.urandom(64 * 1024 * 1024))
    made = run([".venv/bin/upload_service-users", "development.ini", "token", "demo", "--label", "test"], served)
    authorization = f"Authorization: Bearer {made.stdout.split()[-1]}"
    answer = run(
        ["curl", "-sS", "-H", authorization, "-H", "Accept: application/json",
         "-F", f"file=@{original}", SERVE_URL + "/files"],
        tmp_path,
    )  # fmt: skip
    stored = json.loads(answer.stdout)["files"][0]
    assert stored["size"] == GIB
    run(["curl", "-sS", "-H", authorization, "-o", str(returned), f"{SERVE_URL}/files/{stored['id']}"], tmp_path)
    assert _sha256(returned) == _sha256(original) == stored["sha256"]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def _wait_for_page(url: str, server: subprocess.Popen, log: IO[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            pytest.fail(f"make serve exited {server.returncode}:\n{log.read()}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {timeout} s")
