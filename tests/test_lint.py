"""The template's own Python is held to the same standard as the code it generates."""

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TEMPLATE

RUFF = str(Path(sys.executable).parent / "ruff")
# Paths, not ".": ruff would try to read the template's pyproject.toml, which
# is not TOML until cookiecutter has rendered it.
SOURCES = ["hooks", "tests", "benchmarks", "local_extensions.py", "scripts/bake-serve", "scripts/port-free"]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_template_code_is_clean_under_ruff(command):
    result = subprocess.run(
        [RUFF, *command, "--no-cache", *SOURCES], cwd=TEMPLATE, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
