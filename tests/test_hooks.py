"""The pre-generation hook refuses answers that would make a broken project.

Each refusal is one line naming the variable, the bake fails, and no
half-made project is left behind.
"""

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TEMPLATE
from cookiecutter.exceptions import FailedHookException

from local_extensions import slug_for, slug_problem

COOKIECUTTER = str(Path(sys.executable).parent / "cookiecutter")


def bake_and_fail(cookies, capfd, **answers: str) -> list[str]:
    result = cookies.bake(extra_context=answers)
    assert result.exit_code != 0
    assert isinstance(result.exception, FailedHookException)
    assert result.project_path is None
    return [line for line in capfd.readouterr().err.splitlines() if line.startswith("ERROR: ")]


@pytest.mark.parametrize(
    "slug",
    ["1uploads", "my-uploads", "My_Uploads", "class", "import", "pyramid", "waitress", "test", "tests", "json"],
)
def test_invalid_project_slug_is_refused_naming_the_variable(cookies, capfd, slug):
    errors = bake_and_fail(cookies, capfd, project_slug=slug)
    assert len(errors) == 1
    assert errors[0].startswith("ERROR: project_slug: ")


@pytest.mark.parametrize("size", ["lots", "4 gigabytes", "-1MB", "0", "0KB", "1.5.2GB", "GB"])
def test_unparsable_max_upload_size_is_refused(cookies, capfd, size):
    errors = bake_and_fail(cookies, capfd, max_upload_size=size)
    assert errors == [errors[0]]
    assert errors[0].startswith("ERROR: max_upload_size: ")


def test_unparsable_chunk_size_is_refused(cookies, capfd):
    errors = bake_and_fail(cookies, capfd, chunk_size="big")
    assert len(errors) == 1
    assert errors[0].startswith("ERROR: chunk_size: ")


def test_chunk_size_larger_than_max_upload_size_is_refused(cookies, capfd):
    errors = bake_and_fail(cookies, capfd, max_upload_size="1MB", chunk_size="2MB")
    assert len(errors) == 1
    assert errors[0].startswith("ERROR: chunk_size: ")
    assert "max_upload_size" in errors[0]


def test_same_storage_and_temp_path_is_refused(cookies, capfd):
    errors = bake_and_fail(cookies, capfd, storage_path="var/files", temp_path="var/files")
    assert errors == ["ERROR: temp_path: must differ from storage_path"]


@pytest.mark.parametrize("path", ["", "   ", "var/up\nloads", "var/\x00uploads"])
def test_unusable_storage_path_is_refused(cookies, capfd, path):
    errors = bake_and_fail(cookies, capfd, storage_path=path)
    assert len(errors) == 1
    assert errors[0].startswith("ERROR: storage_path: ")


@pytest.mark.parametrize("extensions", ["*.mp3", "mp3 ../x", "m_p3"])
def test_malformed_allowed_extensions_are_refused(cookies, capfd, extensions):
    errors = bake_and_fail(cookies, capfd, allowed_extensions=extensions)
    assert len(errors) == 1
    assert errors[0].startswith("ERROR: allowed_extensions: ")


def test_every_problem_is_reported_on_its_own_line(cookies, capfd):
    errors = bake_and_fail(cookies, capfd, project_slug="class", max_upload_size="lots", chunk_size="big")
    assert [error.split(":")[1].strip() for error in errors] == ["project_slug", "max_upload_size", "chunk_size"]


@pytest.mark.parametrize("size", ["512KB", "100MB", "2GB", "1.5GiB", "4gb", "1048576", "10 MiB"])
def test_documented_size_spellings_are_accepted(cookies, size):
    result = cookies.bake(extra_context={"max_upload_size": size, "chunk_size": "1"})
    assert result.exit_code == 0, result.exception


# -- the package name: derived from any project name, refused only when given --------------------

NAMES_AND_SLUGS = [
    ("Upload Service", "upload_service"),
    ("My Uploads!", "my_uploads"),
    ("2 Photo Share", "project_2_photo_share"),
    ("Ünïcödé Café", "unicode_cafe"),
    ('O\'Brien "Uploads" \\ 音乐 😀', "obrien_uploads"),
    ("音乐", "project"),
    ("class", "class_project"),
    ("Tests", "tests_project"),
    ("JSON", "json_project"),
    ("Pyramid", "pyramid_project"),
    ("--", "project"),
]


@pytest.mark.parametrize(("name", "slug"), NAMES_AND_SLUGS)
def test_slug_derived_from_a_project_name_is_a_valid_package_name(name, slug):
    assert slug_for(name) == slug
    assert slug_problem(slug) is None


@pytest.mark.parametrize("name", ["My Uploads!", "2 Photo Share", 'O\'Brien "Uploads" \\ 音乐 😀'])
def test_a_project_name_that_is_no_identifier_bakes_with_its_derived_slug(cookies, name):
    result = cookies.bake(extra_context={"project_name": name})
    assert result.exit_code == 0, result.exception
    assert result.project_path.name == slug_for(name)
    assert (result.project_path / slug_for(name) / "__init__.py").is_file()


def cookiecutter_cli(*args: str, cwd: Path, home: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    """The ``cookiecutter`` command, with its replay files and clones kept under ``home``."""
    config = home / "cookiecutter-config.yaml"
    config.write_text(f"cookiecutters_dir: {home / 'templates'}\nreplay_dir: {home / 'replay'}\n", encoding="utf-8")
    command = [COOKIECUTTER, "--config-file", str(config), *args]
    return subprocess.run(command, cwd=cwd, input=stdin, capture_output=True, text=True, check=False, timeout=120)


def test_an_explicit_invalid_slug_fails_with_the_hooks_line_and_no_traceback(tmp_path):
    out = tmp_path / "out"
    args = ("--no-input", "-o", str(out), str(TEMPLATE), "project_slug=1uploads")
    result = cookiecutter_cli(*args, cwd=tmp_path, home=tmp_path)
    assert result.returncode != 0
    assert result.stderr.splitlines() == [f"ERROR: project_slug: {slug_problem('1uploads')}"]
    assert "Traceback" not in result.stdout + result.stderr
    assert not out.exists() or list(out.iterdir()) == []


def test_an_invalid_slug_typed_at_the_prompt_fails_with_the_hooks_line_and_no_traceback(tmp_path):
    # The name, then the slug; every other question keeps its default.
    answers = "My Uploads!\nclass\n" + "\n" * 10
    out = tmp_path / "out"
    result = cookiecutter_cli("-o", str(out), str(TEMPLATE), cwd=tmp_path, home=tmp_path, stdin=answers)
    assert result.returncode != 0
    assert "(my_uploads)" in result.stdout  # the slug offered, derived from the name
    assert result.stderr.splitlines() == [f"ERROR: project_slug: {slug_problem('class')}"]
    assert "Traceback" not in result.stdout + result.stderr
    assert not out.exists() or list(out.iterdir()) == []


def test_a_bake_by_relative_path_from_the_template_directory_works(tmp_path):
    """``cookiecutter .``: cookiecutter hands the hooks the path as typed, relative to another directory."""
    result = cookiecutter_cli("--no-input", "-o", str(tmp_path / "out"), ".", cwd=TEMPLATE, home=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "out" / "upload_service" / "pyproject.toml").is_file()
