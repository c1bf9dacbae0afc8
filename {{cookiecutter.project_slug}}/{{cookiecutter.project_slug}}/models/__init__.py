"""The catalogue: every stored file's record, in SQL (SQLite by default, PostgreSQL when it grows).

Laid out as in Pyramid's own ``pyramid-cookiecutter-starter``: one module per
model, ``meta.py`` for the base, and :func:`includeme` wiring ``pyramid_tm``
(one transaction per request, committed when the view succeeds),
``zope.sqlalchemy`` (the session joins that transaction) and
``pyramid_retry`` (a request whose transaction hit a serialization failure
or deadlock is run again). ``request.dbsession`` is the request's session.

The schema is made by Alembic (``alembic -c development.ini upgrade head``);
starting against a database whose schema is missing or behind stops with a
message naming that command (:func:`check_schema`).
"""

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import zope.sqlalchemy
from pyramid.config import Configurator
from pyramid.request import Request
from sqlalchemy import Engine, engine_from_config, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, configure_mappers, sessionmaker

from .catalogue_totals import CatalogueTotals
from .meta import Base
from .stored_file import StoredFile
from .upload_in_progress import UploadInProgress
{%- if cookiecutter.access == "accounts" %}
from .user import ApiToken, ShareLink, User
{%- endif %}

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig
{%- if cookiecutter.access == "accounts" %}

__all__ = ["ApiToken", "Base", "CatalogueTotals", "ShareLink", "StoredFile", "UploadInProgress", "User"]
{%- else %}

__all__ = ["Base", "CatalogueTotals", "StoredFile", "UploadInProgress"]
{%- endif %}

MIGRATE_COMMAND = "alembic -c development.ini upgrade head"
SQLITE_BUSY_TIMEOUT_MS = 30_000

configure_mappers()  # find mapping mistakes at import, not at the first query


class SchemaNotReady(SystemExit):
    """The database has no schema, or an older one: the server must not start.

    A ``SystemExit`` so that ``pserve`` prints the message and exits, without
    a traceback that would bury it.
    """


def get_engine(settings: Mapping[str, str], prefix: str = "sqlalchemy.") -> Engine:
    """The engine ``sqlalchemy.url`` names; SQLite gets the settings that make it a server's database."""
    engine = engine_from_config(settings, prefix, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        _make_sqlite_fit_for_a_server(engine)
    return engine


def _make_sqlite_fit_for_a_server(engine: Engine) -> None:
    """WAL, foreign keys, a busy timeout, and write transactions that take the lock first.

    WAL lets readers go on while one connection writes. A deferred
    transaction that reads and then writes can fail with ``SQLITE_BUSY`` at
    once, whatever the busy timeout, when another connection wrote in
    between; so, as the pysqlite section of SQLAlchemy's documentation
    shows, pysqlite's own ``BEGIN`` is turned off and we emit ours: ``BEGIN
    IMMEDIATE`` (wait for the write lock, within the busy timeout) for a
    session that asked for it with :func:`begin_write`, plain ``BEGIN``
    otherwise.
    """
    database = engine.url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: object, connection_record: object) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: object) -> None:
        immediate = connection.get_execution_options().get("sqlite_begin_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def begin_write(dbsession: Session) -> None:
    """Start ``dbsession``'s transaction as one that will write.

    On SQLite this takes the write lock now (``BEGIN IMMEDIATE``), waiting
    for it within the busy timeout, so the transaction cannot fail later
    with "database is locked"; other databases ignore it. Call it before
    the first statement of a request that writes.
    """
    dbsession.connection(execution_options={"sqlite_begin_immediate": True})


def get_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def get_tm_session(
    factory: sessionmaker[Session], transaction_manager: object, request: Request | None = None
) -> Session:
    """A session joined to ``transaction_manager``: committed or aborted with it."""
    dbsession = factory(info={"request": request})
    zope.sqlalchemy.register(dbsession, transaction_manager=transaction_manager)
    return dbsession


def alembic_config(ini_file: str | None = None) -> "AlembicConfig":
    """Alembic's configuration: the ini file's ``[alembic]`` section, or just our scripts."""
    from alembic.config import Config as AlembicConfig  # see check_schema: imported when needed

    config = AlembicConfig(ini_file) if ini_file else AlembicConfig()
    config.set_main_option("script_location", "{{ cookiecutter.project_slug }}:alembic")
    return config


def check_schema(engine: Engine) -> None:
    """Stop with :class:`SchemaNotReady` unless the schema is at the newest migration."""
    # Alembic logs its set-up (on import, and when it connects) at INFO,
    # which the ini files show for the migration command; a start-up that
    # only looks need not say so. Hence the imports here, not at the top.
    alembic_log = logging.getLogger("alembic")
    level = alembic_log.level
    alembic_log.setLevel(logging.WARNING)
    try:
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        expected = set(ScriptDirectory.from_config(alembic_config()).get_heads())
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except DBAPIError as error:
        raise SchemaNotReady(f"sqlalchemy.url: cannot open the catalogue database ({error.orig})") from None
    finally:
        alembic_log.setLevel(level)
    if current != expected:
        state = "has no schema yet" if not current else "has an older schema"
        raise SchemaNotReady(f"The catalogue database {state}: run `{MIGRATE_COMMAND}` (with your ini file) first")


def retry_attempts(request: Request) -> int | None:
    """``pyramid_retry``'s hook: only ``GET`` and ``HEAD`` are tried again.

    To retry, ``pyramid_retry`` must keep a copy of the request body; for an
    upload that would be a second copy of gigabytes (and any request may
    carry a body). Uploads and deletes start their transaction with the
    write (:func:`begin_write`) and write one table: neither SQLite nor
    PostgreSQL (read committed) fails them for serialization.
    """
    return None if request.method in ("GET", "HEAD") else 1


def includeme(config: Configurator) -> None:
    """Wire the catalogue: engine, schema check, transactions, ``request.dbsession``."""
    settings = config.get_settings()
    settings["tm.manager_hook"] = "pyramid_tm.explicit_manager"
    # pyramid_tm would look the requester up (request.authenticated_userid) to
    # label each transaction, before and outside the exception views: with the
    # database down, that lookup would fail as a bare 500 instead of the 503
    # the error views give. Nothing reads the label.
    settings["tm.annotate_user"] = "false"
    settings.setdefault("retry.attempts", "3")
    settings.setdefault("retry.activate_hook", "{{ cookiecutter.project_slug }}.models.retry_attempts")
    config.include("pyramid_tm")
    config.include("pyramid_retry")

    engine = get_engine(settings)
    check_schema(engine)
    factory = get_session_factory(engine)
    config.registry["dbsession_factory"] = factory

    def dbsession(request: Request) -> Session:
        """The request's session, in the request's transaction (``pyramid_tm`` commits or aborts it)."""
        return get_tm_session(factory, request.tm, request=request)

    config.add_request_method(dbsession, reify=True)
