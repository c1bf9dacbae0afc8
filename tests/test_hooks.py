"""The pre-generation hook refuses answers that would make a broken project.

Each refusal is one line naming the variable, the bake fails, and no
half-made project is left behind.
"""

import pytest
from cookiecutter.exceptions import FailedHookException


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
