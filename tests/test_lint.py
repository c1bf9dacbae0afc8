"""The template's own Python is held to the same standard as the code it generates."""

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TEMPLATE

RUFF = str(Path(sys.executable).parent / "ruff")
# "." is every .py file but the template directory (ruff.toml excludes it: it is
# not Python, nor its pyproject.toml TOML, until cookiecutter renders it), as a
# developer runs it; the scripts without a .py suffix are named.
SOURCES = [".", "scripts/bake-serve", "scripts/port-free"]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_template_code_is_clean_under_ruff(command):
    result = subprocess.run(
        [RUFF, *command, "--no-cache", *SOURCES], cwd=TEMPLATE, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
