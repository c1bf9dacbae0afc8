"""Rendering: what a bake produces, for every template language and for hostile answers.

These tests only generate files and read them; they run in seconds. The
slow tests in test_projects.py install the projects and run their suites.
"""

import ast
import configparser
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import LANGUAGES, TEMPLATE, relative_files, text_files

from local_extensions import sizes

PACKAGE_FILES = [
    "__init__.py",
    "alembic/env.py",
    "alembic/script.py.mako",
    "alembic/versions/0001_catalogue.py",
    "alembic/versions/0002_uploads_in_progress.py",
    "buffer.py",
    "catalogue.py",
    "cleaning.py",
    "conditional.py",
    "errors.py",
    "hashing.py",
    "memory.py",
    "models/__init__.py",
    "models/catalogue_totals.py",
    "models/meta.py",
    "models/stored_file.py",
    "models/upload_in_progress.py",
    "multipart.py",
    "negotiation.py",
    "receiving.py",
    "refusals.py",
    "resumable.py",
    "routes.py",
    "rules.py",
    "sanitizer.py",
    "security.py",
    "server.py",
    "serving.py",
    "settings.py",
    "sizes.py",
    "sniffing.py",
    "storage/__init__.py",
    "storage/local.py",
    "storage/s3.py",
    "tus.py",
    "writeback.py",
    "static/favicon.svg",
    "static/tus-js-client.LICENSE",
    "static/tus.min.js",
    "static/upload.css",
    "static/upload.js",
    "views/__init__.py",
    "views/errors.py",
    "views/files.py",
    "views/home.py",
    "views/tus.py",
]
# Kept only with ``access`` = ``accounts`` (the post-generation hook removes them otherwise).
ACCOUNTS_PACKAGE_FILES = [
    "accounts.py",
    "alembic/versions/0002_accounts.py",
    "alembic/versions/0003_owner_foreign_keys.py",
    "alembic/versions/0004_session_generation.py",
    "models/user.py",
    "policy.py",
    "throttle.py",
    "users.py",
    "views/accounts.py",
]
ACCOUNTS_TEST_FILES = [
    "test_accounts.py",
    "test_accounts_browser.py",
    "test_accounts_migrations.py",
    "test_throttle.py",
    "test_tus_accounts.py",
]
TEST_FILES = [
    "__init__.py",
    "bodies.py",
    "ceph.py",
    "conftest.py",
    "helpers.py",
    "postgresql.py",
    "test_answers.py",
    "test_body_limits.py",
    "test_browser.py",
    "test_bulk_delete.py",
    "test_buffer.py",
    "test_catalogue.py",
    "test_cleaning.py",
    "test_conditional.py",
    "test_database_faults.py",
    "test_development_server.py",
    "test_disk_full.py",
    "test_download_safety.py",
    "test_functional.py",
    "test_hostile_requests.py",
    "test_integrity.py",
    "test_memory.py",
    "test_multipart.py",
    "test_negotiation.py",
    "test_pages.py",
    "test_parts.py",
    "test_s3.py",
    "test_sanitizer.py",
    "test_search.py",
    "test_server.py",
    "test_settings.py",
    "test_sizes.py",
    "test_sniffing.py",
    "test_storage.py",
    "test_storage_backends.py",
    "test_tus_clients.py",
    "test_tus_protocol.py",
    "test_tus_rules.py",
    "test_tus_s3.py",
    "test_wire.py",
    "test_writeback.py",
    "tus_helpers.py",
    "wire.py",
]
PROJECT_FILES = [
    ".cookiecutter.json",
    ".gitignore",
    "README.md",
    "development.ini",
    "production.ini",
    "pyproject.toml",
    "scripts/ceph-dev",
    "testing.ini",
]
TEMPLATE_EXTENSIONS = {"jinja2": "jinja2", "chameleon": "pt", "mako": "mako"}
INI_FILES = ("development.ini", "production.ini", "testing.ini")

# A reference to one of the template's variables that Jinja did not replace,
# or any Jinja tag that mentions cookiecutter.
VARIABLES = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
_NAMES = "|".join(map(re.escape, VARIABLES))
UNRENDERED = re.compile(rf"cookiecutter\.(?:{_NAMES})\b|\{{\{{-?\s*cookiecutter|\{{%-?[^%]*cookiecutter")

HOSTILE = {
    "project_name": 'O\'Brien "Uploads" \\ Ünïcödé 音乐 😀',
    "project_slug": "hostile_uploads",
    "description": 'Say "hi" \\ it\'s a % test\twith a tab and 100% of é',
    "author_name": 'Zoë d\'Arc "The" \\Maid\\',
    "author_email": "zoe+uploads@example.com",
    "storage_path": "var/up%loads é ' \"",
    "temp_path": "var/tmp %(here)s",
    "allowed_extensions": "mp3 OGG .flac",
}


def expected_files(slug: str, language: str, access: str = "accounts") -> set[str]:
    extension = TEMPLATE_EXTENSIONS[language]
    pages = ("error", "home", "layout") + (("account", "signin") if access == "accounts" else ())
    templates = [f"templates/{page}.{extension}" for page in pages]
    package = PACKAGE_FILES + (ACCOUNTS_PACKAGE_FILES if access == "accounts" else [])
    tests = TEST_FILES + (ACCOUNTS_TEST_FILES if access == "accounts" else [])
    return set(PROJECT_FILES) | {f"{slug}/{name}" for name in package + templates} | {f"tests/{name}" for name in tests}


def read_ini(path: Path) -> configparser.ConfigParser:
    """Read an ini file the way PasteDeploy does: ``%(here)s`` interpolation and all."""
    parser = configparser.ConfigParser(defaults={"here": str(path.parent), "__file__": str(path)})
    parser.read(path, encoding="utf-8")
    return parser


@pytest.mark.parametrize("language", LANGUAGES)
def test_bake_generates_exactly_the_expected_files(baked, language):
    project = baked(template_language=language)
    assert relative_files(project) == expected_files("upload_service", language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_open_access_bake_has_no_account_files(baked, language):
    project = baked(template_language=language, access="open")
    assert relative_files(project) == expected_files("upload_service", language, access="open")


def test_open_access_bake_mentions_no_accounts_in_its_code(baked):
    project = baked(access="open")
    for path in (project / "upload_service").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for account_word in ("policy import", "owner_filter", "session.secret", "bearer", "permission="):
            assert account_word not in text, path


def test_each_bake_draws_its_own_session_secret_and_records_it(baked):
    first, second = baked(), baked(project_name="Other Uploads")
    secrets = [
        json.loads((p / ".cookiecutter.json").read_text(encoding="utf-8"))["__session_secret"] for p in (first, second)
    ]
    assert secrets[0] != secrets[1]
    assert all(re.fullmatch(r"[A-Za-z0-9]{64}", secret) for secret in secrets)
    assert f"session.secret = {secrets[0]}" in (first / "development.ini").read_text(encoding="utf-8")


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_cookiecutter_reference_is_left_unrendered(baked, language):
    project = baked(template_language=language)
    leftovers = [
        f"{path.relative_to(project)}: {match.group()}"
        for path in text_files(project)
        for match in UNRENDERED.finditer(path.read_text(encoding="utf-8"))
    ]
    assert leftovers == []


def test_jinja2_page_templates_keep_their_own_jinja_syntax(baked):
    home = baked(template_language="jinja2") / "upload_service" / "templates" / "home.jinja2"
    assert "{{ csrf_token }}" in home.read_text(encoding="utf-8")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_chosen_language_is_wired_into_dependencies_and_views(baked, language):
    project = baked(template_language=language)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert f"pyramid_{language}" in pyproject["project"]["dependencies"]
    init = (project / "upload_service" / "__init__.py").read_text(encoding="utf-8")
    assert f'config.include("pyramid_{language}")' in init
    views = (project / "upload_service" / "views" / "__init__.py").read_text(encoding="utf-8")
    assert f'templates/home.{TEMPLATE_EXTENSIONS[language]}"' in views


def test_answers_are_recorded_in_cookiecutter_json(baked):
    project = baked(template_language="mako", allowed_extensions="mp3 ogg")
    answers = json.loads((project / ".cookiecutter.json").read_text(encoding="utf-8"))
    assert re.fullmatch(r"[A-Za-z0-9]{64}", answers.pop("__session_secret"))
    assert answers == {
        "project_name": "Upload Service",
        "project_slug": "upload_service",
        "description": "Receive, store and serve uploaded files.",
        "author_name": "Your Name",
        "author_email": "you@example.com",
        "template_language": "mako",
        "storage_path": "var/uploads",
        "temp_path": "var/tmp",
        "max_upload_size": "4GB",
        "chunk_size": "64KB",
        "allowed_extensions": "mp3 ogg",
        "access": "accounts",
    }


def test_rebaking_from_the_recorded_answers_gives_the_same_project(baked, cookies):
    first = baked(**HOSTILE)
    answers = json.loads((first / ".cookiecutter.json").read_text(encoding="utf-8"))
    again = cookies.bake(extra_context=answers)
    assert again.exit_code == 0, again.exception
    second = Path(again.project_path)
    assert relative_files(second) == relative_files(first)
    for path in text_files(first):
        assert (second / path.relative_to(first)).read_bytes() == path.read_bytes(), path


@pytest.mark.parametrize("ini", INI_FILES)
def test_ini_settings_default_to_the_answers(baked, ini):
    project = baked(max_upload_size="2GB", chunk_size="1MB", allowed_extensions="mp3 ogg flac")
    app = read_ini(project / ini)["app:main"]
    assert app["use"] == "egg:upload_service"
    assert app["uploads.storage_path"] == "var/uploads"
    assert app["uploads.temp_path"] == "var/tmp"
    assert app["uploads.max_size"] == "2GB"
    assert app["uploads.chunk_size"] == "1MB"
    assert app["uploads.allowed_extensions"] == "mp3 ogg flac"
    assert app["sqlalchemy.url"] == f"sqlite:///{project}/var/catalogue.sqlite"
    assert read_ini(project / ini)["alembic"]["script_location"] == "upload_service:alembic"


@pytest.mark.parametrize("size", ["4GB", "512KB", "1.5GiB", "123456789"])
@pytest.mark.parametrize("ini", INI_FILES)
def test_the_body_limit_is_written_once_as_uploads_max_size(baked, ini, size):
    # The server runner (server.py's serve()) gives waitress uploads.max_size
    # in bytes; the baked project's tests start pserve on it.
    project = baked(max_upload_size=size, chunk_size="1KB")
    parser = read_ini(project / ini)
    assert sizes.parse_size(parser["app:main"]["uploads.max_size"]) == sizes.parse_size(size)
    assert "max_request_body_size" not in parser["server:main"]


def test_hostile_answers_give_a_valid_pyproject(baked):
    project = baked(**HOSTILE)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert pyproject["name"] == "hostile_uploads"
    assert pyproject["description"] == HOSTILE["description"]
    assert pyproject["authors"] == [{"name": HOSTILE["author_name"], "email": HOSTILE["author_email"]}]


@pytest.mark.parametrize("ini", INI_FILES)
def test_hostile_answers_give_valid_ini_files(baked, ini):
    project = baked(**HOSTILE)
    app = read_ini(project / ini)["app:main"]
    assert app["uploads.storage_path"] == HOSTILE["storage_path"]
    assert app["uploads.temp_path"] == HOSTILE["temp_path"]
    assert app["uploads.allowed_extensions"] == HOSTILE["allowed_extensions"]


def test_hostile_answers_give_valid_python(baked):
    project = baked(**HOSTILE)
    for path in project.rglob("*.py"):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
    init = ast.parse((project / "hostile_uploads" / "__init__.py").read_text(encoding="utf-8"))
    names = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in init.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }
    assert names["PROJECT_NAME"] == HOSTILE["project_name"]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_hostile_answers_give_python_that_ruff_leaves_alone(baked, command):
    """Answers land in string literals quoted the way ruff format quotes them."""
    project = baked(**HOSTILE)
    ruff = str(Path(sys.executable).parent / "ruff")
    result = subprocess.run([ruff, *command, "--no-cache", "."], cwd=project, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hostile_answers_are_recorded_exactly(baked):
    project = baked(**HOSTILE)
    answers = json.loads((project / ".cookiecutter.json").read_text(encoding="utf-8"))
    assert {key: answers[key] for key in HOSTILE} == HOSTILE


def test_project_readme_names_the_project(baked):
    project = baked(**HOSTILE)
    assert HOSTILE["project_name"] in (project / "README.md").read_text(encoding="utf-8")


def test_template_tree_mirrors_the_output_tree():
    """Every generated file has a same-named source in the template tree."""
    source = TEMPLATE / "{{cookiecutter.project_slug}}"
    names = {path.relative_to(source).as_posix() for path in source.rglob("*") if path.is_file()}
    names = {name.replace("{{cookiecutter.project_slug}}", "upload_service") for name in names}
    for language in LANGUAGES:
        assert expected_files("upload_service", language) <= names


PROMPTS = VARIABLES["__prompts__"]


def test_every_question_has_a_prompt():
    questions = {name for name in VARIABLES if not name.startswith("_")}
    assert set(PROMPTS) == questions


@pytest.mark.parametrize("name", ["max_upload_size", "chunk_size"])
def test_size_prompts_say_sizes_are_powers_of_1024_with_examples(name):
    assert "powers of 1024" in PROMPTS[name]
    assert re.search(r"\d+[KMG]B", PROMPTS[name])


def test_extensions_prompt_says_they_are_separated_by_spaces():
    assert "separated by spaces" in PROMPTS["allowed_extensions"]


def test_language_prompt_names_each_choice():
    assert set(PROMPTS["template_language"]) == {"__prompt__", *LANGUAGES}


def test_generated_project_never_sends_its_user_to_the_templates_make_targets(baked):
    """``make system-deps`` exists in the template only; a project says what to install in its own terms."""
    project = baked()
    mentions = [path.relative_to(project) for path in text_files(project) if "make system-deps" in path.read_text()]
    assert mentions == []
