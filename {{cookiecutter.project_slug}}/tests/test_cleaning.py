"""Keeping store and catalogue in step: the clean command, cleaning at start-up, importing old records."""

import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from {{ cookiecutter.project_slug }} import cleaning

from .helpers import BOTH_DATABASES, LiveServer, list_all, upload, write_ini

SLUG = "{{ cookiecutter.project_slug }}"
TWO_DAYS = 2 * 24 * 3600


def plant(storage_path: Path, key: str, data: bytes, age: float = 0) -> Path:
    """Bytes under ``key`` with no record, as a crash between commit and insert leaves them."""
    storage_path.mkdir(parents=True, exist_ok=True)
    path = storage_path / key
    path.write_bytes(data)
    if age:
        then = time.time() - age
        os.utime(path, (then, then))
    return path


def run_clean(ini: Path, *args: str) -> subprocess.CompletedProcess:
    """``<project>-clean INI ARGS`` in this process (fast); its exit code and output."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = cleaning.main([str(ini), *args])
    return subprocess.CompletedProcess(args, code, stdout.getvalue(), stderr.getvalue())


def test_the_clean_command_is_installed(ini: Path) -> None:
    script = Path(sys.executable).with_name(f"{SLUG}-clean")
    result = subprocess.run([str(script), str(ini), "--dry-run"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "0 unrecorded files" in result.stdout


@pytest.fixture
def ini(tmp_path: Path, database_url: str, storage_path: Path, temp_path: Path) -> Path:
    return write_ini(tmp_path / "clean.ini", database_url, storage_path=str(storage_path), temp_path=str(temp_path))


# -- the clean command -----------------------------------------------------------------------


@pytest.mark.parametrize("database_url", BOTH_DATABASES, indirect=True)
def test_clean_removes_old_unrecorded_bytes_and_keeps_the_rest(live_server: LiveServer, ini: Path) -> None:
    (recorded,) = upload(live_server, live_server.client(), ("kept.txt", b"recorded"))
    os.utime(live_server.storage_path / recorded["id"], (time.time() - TWO_DAYS,) * 2)
    old = plant(live_server.storage_path, "a" * 32, b"orphan", age=TWO_DAYS)
    young = plant(live_server.storage_path, "b" * 32, b"maybe another process's upload in flight")
    result = run_clean(ini)
    assert result.returncode == 0, result.stderr
    assert f"removed {old.name}" in result.stdout
    assert not old.exists()
    assert young.exists()
    assert requests.get(recorded["url"], timeout=30).content == b"recorded"


def test_clean_dry_run_lists_and_removes_nothing(live_server: LiveServer, ini: Path) -> None:
    old = plant(live_server.storage_path, "a" * 32, b"orphan", age=TWO_DAYS)
    result = run_clean(ini, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert f"would remove {old.name}" in result.stdout
    assert old.exists()


def test_clean_honours_clean_after(live_server: LiveServer, tmp_path: Path, database_url: str) -> None:
    orphan = plant(live_server.storage_path, "a" * 32, b"orphan", age=120)
    paths = {"storage_path": str(live_server.storage_path), "temp_path": str(live_server.temp_path)}
    assert run_clean(write_ini(tmp_path / "3m.ini", database_url, clean_after="3m", **paths)).returncode == 0
    assert orphan.exists()
    assert run_clean(write_ini(tmp_path / "1m.ini", database_url, clean_after="1m", **paths)).returncode == 0
    assert not orphan.exists()


def test_clean_against_a_database_without_schema_names_the_migration_command(
    tmp_path: Path, storage_path: Path, temp_path: Path
) -> None:
    ini = write_ini(tmp_path / "x.ini", f"sqlite:///{tmp_path / 'empty.sqlite'}", storage_path=str(storage_path))
    result = run_clean(ini)
    assert result.returncode == 2
    assert "alembic -c development.ini upgrade head" in result.stderr
    assert "Traceback" not in result.stderr


# -- at start-up ---------------------------------------------------------------------------


def test_start_up_removes_old_unrecorded_bytes_but_not_young_ones(
    make_live_server: Callable[..., LiveServer], storage_path: Path
) -> None:
    old = plant(storage_path, "a" * 32, b"orphan", age=TWO_DAYS)
    young = plant(storage_path, "b" * 32, b"in flight elsewhere")
    make_live_server()
    assert not old.exists()
    assert young.exists()


# -- records of the layout before the catalogue ------------------------------------------------


def old_layout_file(storage_path: Path, file_id: str, data: bytes, created: str, name: str) -> None:
    """A file as projects before the catalogue stored it: the bytes, and ``<id>.json`` beside them."""
    storage_path.mkdir(parents=True, exist_ok=True)
    (storage_path / file_id).write_bytes(data)
    record = {
        "id": file_id,
        "filename": name,
        "original_filename": "C:\\music\\" + name,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "content_type": "audio/mpeg",
        "created": created,
    }
    (storage_path / (file_id + ".json")).write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")


@pytest.mark.parametrize("database_url", BOTH_DATABASES, indirect=True)
def test_old_layout_is_imported_once_at_start_up_losing_nothing(
    make_live_server: Callable[..., LiveServer], storage_path: Path
) -> None:
    first, second = "1" * 32, "2" * 32
    old_layout_file(storage_path, first, b"older song", "2024-01-02T03:04:05.123456+00:00", "première.mp3")
    old_layout_file(storage_path, second, b"newer song", "2025-06-07T08:09:10.000001+00:00", "second.mp3")
    (storage_path / ("3" * 32 + ".json")).write_text("{}", encoding="utf-8")  # a record whose bytes are gone
    server = make_live_server()
    files = list_all(server)
    assert [info["id"] for info in files] == [second, first]
    assert files[1]["filename"] == "première.mp3"
    assert files[1]["created"] == "2024-01-02T03:04:05.123456+00:00"
    assert files[1]["sha256"] == hashlib.sha256(b"older song").hexdigest()
    assert requests.get(files[1]["url"], timeout=30).content == b"older song"
    assert sorted(path.name for path in storage_path.iterdir()) == [first, second]  # the JSON files are gone
    assert "2 files, 20 bytes in all" in requests.get(server.url + "/", timeout=30).text
    again = make_live_server()  # a second start imports nothing twice
    assert [info["id"] for info in list_all(again)] == [second, first]


def test_old_layout_bytes_are_never_cleaned_before_their_import(ini: Path, storage_path: Path, temp_path: Path) -> None:
    old_layout_file(storage_path, "1" * 32, b"song", "2024-01-02T03:04:05+00:00", "song.mp3")
    os.utime(storage_path / ("1" * 32), (time.time() - TWO_DAYS,) * 2)
    assert "would remove" not in run_clean(ini, "--dry-run").stdout
    result = run_clean(ini)
    assert result.returncode == 0, result.stderr
    assert (storage_path / ("1" * 32)).read_bytes() == b"song"
    assert not (storage_path / ("1" * 32 + ".json")).exists()
