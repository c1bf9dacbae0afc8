"""The accounts' schema on SQLite and PostgreSQL: owners are accounts (foreign keys), and the migrations say so.

Each test runs on both databases (``BOTH_DATABASES``). The migrations are
run as a person runs them, ``alembic -c <ini> upgrade``/``downgrade``
(``env.py``'s own connection, with SQLite's foreign keys on as the server
has them), not through the test helpers' connection.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import alembic.command
import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from {{ cookiecutter.project_slug }}.models import Base, StoredFile, UploadInProgress, alembic_config, get_engine

from .helpers import BOTH_DATABASES, write_ini

pytestmark = pytest.mark.parametrize("database_url", BOTH_DATABASES, indirect=True)

BEFORE_OWNER_KEYS = "0002_accounts"
MOMENT = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The catalogue's engine as the server makes it (on SQLite: foreign keys enforced)."""
    engine = get_engine({"sqlalchemy.url": database_url})
    yield engine
    engine.dispose()


def migration_config(database_url: str, tmp_path: Path) -> AlembicConfig:
    """Alembic's configuration from an ini file naming the test's database, as ``alembic -c`` reads it."""
    return alembic_config(str(write_ini(tmp_path / "migrate.ini", database_url)))


def stored_file(file_id: str, owner: str | None) -> StoredFile:
    return StoredFile(
        id=file_id, filename="a.txt", original_filename="a.txt", size=1, sha256="0" * 64,
        content_type="text/plain", created=MOMENT, owner=owner, storage_key=file_id,
    )  # fmt: skip


def test_the_migrated_schema_is_the_models_schema(engine: Engine) -> None:
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_a_file_owned_by_no_account_is_refused(engine: Engine) -> None:
    with Session(engine) as dbsession, pytest.raises(IntegrityError):
        dbsession.add(stored_file("f" * 32, owner="no-such-account"))
        dbsession.commit()


def test_an_upload_in_progress_owned_by_no_account_is_refused(engine: Engine) -> None:
    upload = UploadInProgress(
        id="u" * 32, storage_key="u" * 32, filename="a.txt", original_filename="a.txt",
        created=MOMENT, expires=MOMENT, owner="no-such-account",
    )  # fmt: skip
    with Session(engine) as dbsession, pytest.raises(IntegrityError):
        dbsession.add(upload)
        dbsession.commit()


def test_a_file_without_an_owner_is_kept(engine: Engine) -> None:
    with Session(engine) as dbsession:
        dbsession.add(stored_file("f" * 32, owner=None))
        dbsession.commit()


def test_upgrading_keeps_files_and_share_links_and_clears_owners_that_name_no_account(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    config = migration_config(database_url, tmp_path)
    alembic.command.downgrade(config, BEFORE_OWNER_KEYS)
    with engine.begin() as connection:
        user_id = connection.execute(text("SELECT id FROM users")).scalar_one()  # conftest's account
        for file_id, owner in (("a" * 32, user_id), ("b" * 32, "gone"), ("c" * 32, None)):
            connection.execute(
                text(
                    "INSERT INTO stored_file (id, filename, original_filename, size, sha256, content_type, created,"
                    " owner, storage_key) VALUES (:id, 'a.txt', 'a.txt', 1, :sha, 'text/plain', :created, :owner, :id)"
                ),
                {"id": file_id, "sha": "0" * 64, "created": MOMENT.replace(tzinfo=None), "owner": owner},
            )
        connection.execute(
            text("INSERT INTO share_link (id, file_id, token_sha256, created) VALUES ('l', :file, 'd', :created)"),
            {"file": "a" * 32, "created": MOMENT.replace(tzinfo=None)},
        )

    alembic.command.upgrade(config, "head")

    with engine.connect() as connection:
        owners = dict(connection.execute(text("SELECT id, owner FROM stored_file")).all())
        links = connection.execute(text("SELECT id, file_id FROM share_link")).all()
    assert owners == {"a" * 32: user_id, "b" * 32: None, "c" * 32: None}
    assert links == [("l", "a" * 32)]  # SQLite's table copy did not cascade to the file's links


def test_downgrading_and_upgrading_again_gives_the_same_schema(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    config = migration_config(database_url, tmp_path)
    alembic.command.downgrade(config, BEFORE_OWNER_KEYS)
    alembic.command.upgrade(config, "head")
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
