"""``uploads.*`` settings: defaults, parsing, paths, and refusing bad values at startup."""

import configparser
import re
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import alembic.command
import plaster
import pytest
import sqlalchemy
import webtest
from pyramid.paster import get_app

from {{ cookiecutter.project_slug }} import main
from {{ cookiecutter.project_slug }}.models import SchemaNotReady, alembic_config
from {{ cookiecutter.project_slug }}.server import BODY_LIMITS
from {{ cookiecutter.project_slug }}.settings import SettingsError, load

from .helpers import PROJECT, TESTING_INI

INI_FILES = ["development.ini", "production.ini", "testing.ini"]


@pytest.fixture
def restore_tempdir():
    saved = tempfile.tempdir
    yield
    tempfile.tempdir = saved


def start(app_settings: dict[str, str], **overrides: str) -> object:
    """Run ``main`` the way ``pserve`` does, with some settings changed."""
    settings = {**app_settings, **{f"uploads.{name}": value for name, value in overrides.items()}}
    return main({"here": str(PROJECT), "__file__": str(TESTING_INI)}, **settings)


# -- load(): defaults and parsing ---------------------------------------------


def test_defaults_when_no_uploads_setting_is_given(tmp_path: Path) -> None:
    config = load({}, tmp_path)
    assert config.storage == "local"
    assert config.storage_path == tmp_path.resolve() / "var" / "uploads"
    assert config.temp_path == tmp_path.resolve() / "var" / "tmp"
    assert config.max_size == 4 * 1024**3
    assert config.chunk_size == 64 * 1024
    assert config.max_files == 20
    assert config.allowed_extensions == frozenset()
    assert config.allowed_types == ()
    assert config.fsync is True
    assert config.file_mode == 0o640
    assert config.dir_mode == 0o750


def test_relative_paths_are_resolved_against_the_ini_files_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ini_dir = tmp_path / "deploy"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load({"uploads.storage_path": "data/files", "uploads.temp_path": "../scratch"}, ini_dir)
    assert config.storage_path == ini_dir.resolve() / "data" / "files"
    assert config.temp_path == tmp_path.resolve() / "scratch"


def test_absolute_paths_are_kept(tmp_path: Path) -> None:
    config = load(
        {"uploads.storage_path": str(tmp_path / "a"), "uploads.temp_path": str(tmp_path / "b")}, Path("/nowhere")
    )
    assert config.storage_path == tmp_path.resolve() / "a"
    assert config.temp_path == tmp_path.resolve() / "b"


def test_sizes_are_parsed(tmp_path: Path) -> None:
    config = load({"uploads.max_size": "100MB", "uploads.chunk_size": "512KB"}, tmp_path)
    assert config.max_size == 100 * 1024**2
    assert config.chunk_size == 512 * 1024


def test_allowed_extensions_are_split_on_commas_and_spaces_and_normalised(tmp_path: Path) -> None:
    config = load({"uploads.allowed_extensions": ".MP3, ogg\n  Flac,wav"}, tmp_path)
    assert config.allowed_extensions == frozenset({"mp3", "ogg", "flac", "wav"})


def test_allowed_types_are_split_and_lower_cased(tmp_path: Path) -> None:
    config = load({"uploads.allowed_types": "audio/*, Image/PNG\napplication/vnd.oasis.opendocument.text"}, tmp_path)
    assert config.allowed_types == ("audio/*", "image/png", "application/vnd.oasis.opendocument.text")


def test_max_files_is_parsed(tmp_path: Path) -> None:
    assert load({"uploads.max_files": "3"}, tmp_path).max_files == 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("Yes", True), ("on", True), ("1", True), ("false", False), ("NO", False), ("off", False)],
)
def test_fsync_takes_the_usual_booleans(tmp_path: Path, value: str, expected: bool) -> None:
    assert load({"uploads.fsync": value}, tmp_path).fsync is expected


@pytest.mark.parametrize(("value", "expected"), [("0o600", 0o600), ("600", 0o600), ("0644", 0o644), ("0", 0)])
def test_file_mode_is_octal(tmp_path: Path, value: str, expected: int) -> None:
    assert load({"uploads.file_mode": value}, tmp_path).file_mode == expected


def test_dir_mode_is_octal(tmp_path: Path) -> None:
    assert load({"uploads.dir_mode": "0o700"}, tmp_path).dir_mode == 0o700


def test_surrounding_whitespace_in_values_is_ignored(tmp_path: Path) -> None:
    config = load({"uploads.max_size": "  10MB ", "uploads.max_files": " 4 ", "uploads.storage": " local "}, tmp_path)
    assert (config.max_size, config.max_files, config.storage) == (10 * 1024**2, 4, "local")


# -- main(): a bad value stops startup, naming the setting ---------------------


BAD_VALUES = [
    ("storage", "s3-someday"),
    ("storage_path", ""),
    ("temp_path", ""),
    ("max_size", "lots"),
    ("max_size", "0"),
    ("max_size", "-5MB"),
    ("chunk_size", "64 kilobytes"),
    ("chunk_size", "0KB"),
    ("max_files", "0"),
    ("max_files", "-1"),
    ("max_files", "many"),
    ("max_files", "2.5"),
    ("max_files", "\u00b2"),
    ("allowed_extensions", "mp3 tar.gz"),
    ("allowed_extensions", "mp3 */"),
    ("allowed_types", "audio"),
    ("allowed_types", "audio/mp3;q=1"),
    ("fsync", "maybe"),
    ("file_mode", "rw-r-----"),
    ("file_mode", "0o1777"),
    ("file_mode", "0o8"),
    ("file_mode", "-1"),
    ("dir_mode", "0o7777"),
    ("dir_mode", "drwx"),
]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_bad_value_stops_startup_with_an_error_naming_the_setting(
    app_settings: dict[str, str], restore_tempdir: None, name: str, value: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        start(app_settings, **{name: value})
    assert str(raised.value).startswith(f"uploads.{name}:")


def test_temp_path_equal_to_storage_path_stops_startup(app_settings: dict[str, str], restore_tempdir: None) -> None:
    with pytest.raises(SettingsError, match=r"^uploads\.temp_path:"):
        start(app_settings, temp_path=app_settings["uploads.storage_path"])


def test_chunk_size_above_max_size_stops_startup(app_settings: dict[str, str], restore_tempdir: None) -> None:
    with pytest.raises(SettingsError, match=r"^uploads\.chunk_size:"):
        start(app_settings, max_size="1MB", chunk_size="2MB")


@pytest.mark.parametrize("name", ["storage_path", "temp_path"])
def test_path_that_is_a_regular_file_stops_startup(
    app_settings: dict[str, str], restore_tempdir: None, tmp_path: Path, name: str
) -> None:
    occupied = tmp_path / "occupied"
    occupied.write_bytes(b"not a directory")
    with pytest.raises(SettingsError, match=rf"^uploads\.{name}:"):
        start(app_settings, **{name: str(occupied)})


def test_settings_error_is_a_value_error() -> None:
    # pserve and other callers that catch ValueError for bad configuration still do.
    assert issubclass(SettingsError, ValueError)


def test_bad_value_stops_startup_before_any_directory_is_created(
    app_settings: dict[str, str], restore_tempdir: None, storage_path: Path, temp_path: Path
) -> None:
    with pytest.raises(SettingsError):
        start(app_settings, max_files="none")
    assert not storage_path.exists()
    assert not temp_path.exists()


# -- main(): what startup does -------------------------------------------------


def test_startup_creates_both_directories_with_dir_mode(
    app_settings: dict[str, str], restore_tempdir: None, tmp_path: Path
) -> None:
    storage_path = tmp_path / "deep" / "store"
    temp_path = tmp_path / "deep" / "spool"
    start(app_settings, storage_path=str(storage_path), temp_path=str(temp_path), dir_mode="0o701")
    assert stat.S_IMODE(storage_path.stat().st_mode) == 0o701
    assert stat.S_IMODE(temp_path.stat().st_mode) == 0o701


def test_startup_points_tempfile_at_temp_path(
    app_settings: dict[str, str], restore_tempdir: None, temp_path: Path
) -> None:
    start(app_settings)
    assert Path(tempfile.gettempdir()) == temp_path.resolve()
    with tempfile.TemporaryFile() as spool:
        assert Path(f"/proc/self/fd/{spool.fileno()}").readlink().parent == temp_path.resolve()


def test_relative_paths_in_main_are_resolved_against_here_not_the_working_directory(
    app_settings: dict[str, str], restore_tempdir: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    here = tmp_path / "site"
    settings = {**app_settings, "uploads.storage_path": "files", "uploads.temp_path": "spool"}
    main({"here": str(here), "__file__": str(here / "x.ini")}, **settings)
    assert (here / "files").is_dir()
    assert (here / "spool").is_dir()
    assert list(cwd.iterdir()) == []


# -- the ini files shipped with the project ------------------------------------


@pytest.mark.parametrize("ini", INI_FILES)
@pytest.mark.answers
def test_ini_leaves_the_body_limits_to_the_app_settings(ini: str) -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(PROJECT / ini, encoding="utf-8")
    assert set(BODY_LIMITS).isdisjoint(parser["server:main"])
    assert {"uploads.max_size", "uploads.tus_max_chunk"} <= set(parser["app:main"])


@pytest.mark.parametrize("ini", INI_FILES)
@pytest.mark.answers
def test_ini_file_loads_into_a_working_app(ini: str, tmp_path: Path, restore_tempdir: None) -> None:
    # A copy in tmp_path: relative storage paths land under tmp_path, and
    # absolute ones are moved there (a test may not write where they point).
    text = (PROJECT / ini).read_text(encoding="utf-8")
    for name in ("storage_path", "temp_path"):
        value = plaster.get_settings(str(PROJECT / ini), "app:main")[f"uploads.{name}"]
        if Path(value).is_absolute():
            text = re.sub(rf"(?m)^uploads\.{name} *=.*$", f"uploads.{name} = {tmp_path / name}", text)
    copy = tmp_path / ini
    copy.write_text(text, encoding="utf-8")
    alembic.command.upgrade(alembic_config(str(copy)), "head")  # the README's migration command
    app = get_app(str(copy), "main")
    page = webtest.TestApp(app).get("/{% if cookiecutter.access == "accounts" %}signin{% endif %}")
    assert page.status_int == 200
    assert 'name="csrf_token"' in page.text
    config = load(plaster.get_settings(str(copy), "app:main"), tmp_path)
    assert config.storage_path.is_dir()
    assert config.temp_path.is_dir()


# -- the catalogue's schema ------------------------------------------------------


def test_starting_without_a_schema_stops_naming_the_migration_command(
    app_settings: dict[str, str], tmp_path: Path, restore_tempdir: None
) -> None:
    settings = {**app_settings, "sqlalchemy.url": f"sqlite:///{tmp_path / 'empty.sqlite'}"}
    with pytest.raises(SchemaNotReady, match=r"has no schema yet: run `alembic -c development.ini upgrade head`"):
        main({"here": str(PROJECT), "__file__": str(TESTING_INI)}, **settings)


def test_starting_with_an_older_schema_stops_naming_the_migration_command(
    app_settings: dict[str, str], tmp_path: Path, restore_tempdir: None
) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        connection.exec_driver_sql("INSERT INTO alembic_version VALUES ('0000')")
    engine.dispose()
    with pytest.raises(SchemaNotReady, match=r"has an older schema: run `alembic -c development.ini upgrade head`"):
        main({"here": str(PROJECT), "__file__": str(TESTING_INI)}, **{**app_settings, "sqlalchemy.url": url})


def test_pserve_without_a_schema_exits_with_the_message_and_no_traceback(tmp_path: Path) -> None:
    ini = tmp_path / "development.ini"
    ini.write_text((PROJECT / "development.ini").read_text(encoding="utf-8"), encoding="utf-8")
    pserve = Path(sys.executable).with_name("pserve")
    result = subprocess.run([str(pserve), str(ini)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "run `alembic -c development.ini upgrade head`" in result.stderr
    assert "Traceback" not in result.stderr
