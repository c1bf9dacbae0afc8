"""Alembic's entry point: run the migrations against the ini file's ``sqlalchemy.url``.

``alembic -c development.ini upgrade head`` reads ``[app:main]`` of that
file, as ``pserve`` does. Code (tests, scripts) may hand a connection in
``config.attributes["connection"]`` instead.

On SQLite a migration that changes a table copies it into a new one (batch
mode). SQLite's procedure for that (https://www.sqlite.org/lang_altertable.html,
"Making Other Kinds Of Table Schema Changes") turns foreign keys off first,
or dropping the old table would delete the rows that refer to it through
``ON DELETE CASCADE``, and checks them all before committing
(``PRAGMA foreign_key_check``). The pragma has no effect inside a
transaction, so it is set on the connection before the migrations' one.
"""

from alembic import context
from pyramid.paster import get_appsettings, setup_logging
from sqlalchemy import Connection

from {{ cookiecutter.project_slug }}.models import get_engine
from {{ cookiecutter.project_slug }}.models.meta import Base


def run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
        if connection.dialect.name == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"The migration left rows that refer to nothing (table, rowid, parent): {broken}")


def sqlite_foreign_keys(connection: Connection, on: bool) -> None:
    """Turn SQLite's foreign key enforcement on or off (outside any transaction, or it does nothing)."""
    if connection.dialect.name == "sqlite" and not connection.in_transaction():
        connection.connection.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


config = context.config
connection = config.attributes.get("connection")
if connection is not None:
    # The caller's connection: its foreign keys are the caller's to turn off (they may be in a transaction).
    run_migrations(connection)
else:
    setup_logging(config.config_file_name)
    engine = get_engine(get_appsettings(config.config_file_name))
    with engine.connect() as connection:
        sqlite_foreign_keys(connection, on=False)
        try:
            run_migrations(connection)
        finally:
            sqlite_foreign_keys(connection, on=True)
    engine.dispose()
