"""Slow: bake each template language, install the project, run its own checks.

Each project gets a virtualenv of its own, built from its pyproject.toml
with the ``testing`` extra: a dependency missing from one language's
pyproject must fail here, so the environments are not shared. ``uv``'s
package cache makes the second and third installs take seconds.

The generated suites include the browser tests (headless Chromium, from
``CHROMIUM`` or /usr/bin/chromium); their screenshots are kept under
``build/test-artifacts/<language>/``.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

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


@pytest.fixture(scope="module", params=LANGUAGES)
def installed(request, cookies_session) -> tuple[str, Path, Path]:
    """A project of its own (not the render tests' shared bakes, which must stay pristine)."""
    language = request.param
    result = cookies_session.bake(extra_context={"template_language": language})
    assert result.exit_code == 0, result.exception
    project = Path(result.project_path)
    return language, project, install(project)


def test_generated_project_passes_its_own_test_suite(installed):
    language, project, bin_dir = installed
    artifacts = ARTIFACTS / language
    shutil.rmtree(artifacts, ignore_errors=True)
    env = {**os.environ, "ARTIFACTS_DIR": str(artifacts)}
    result = run([str(bin_dir / "pytest"), "-q", "-p", "no:cacheprovider"], project, env=env)
    print(result.stdout[-2000:])


def test_generated_project_is_clean_under_ruff_check(installed):
    _, project, bin_dir = installed
    run([str(bin_dir / "ruff"), "check", "--no-cache", "."], project)


def test_generated_project_is_clean_under_ruff_format(installed):
    _, project, bin_dir = installed
    run([str(bin_dir / "ruff"), "format", "--no-cache", "--check", "."], project)


def test_readme_serve_command_brings_up_the_upload_page(tmp_path):
    """``make serve`` (the README's first command) bakes, installs and serves on port 6543."""
    serve_dir = tmp_path / "serve"
    server = subprocess.Popen(
        ["make", "--no-print-directory", "serve", f"SERVE_DIR={serve_dir}"],
        cwd=TEMPLATE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        page = _wait_for_page("http://localhost:6543/", server, timeout=180)
        assert '<form id="upload-form"' in page
        assert (serve_dir / "upload_service" / "var" / "uploads").is_dir()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        output = server.communicate(timeout=30)[0]
    assert "Serving on http://" in output


def _wait_for_page(url: str, server: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"make serve exited {server.returncode}:\n{server.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode("utf-8")
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {timeout} s")
