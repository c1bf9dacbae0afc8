"""Alembic's entry point: run the migrations against the ini file's ``sqlalchemy.url``.

``alembic -c development.ini upgrade head`` reads ``[app:main]`` of that
file, as ``pserve`` does. Code (tests, scripts) may hand a connection in
``config.attributes["connection"]`` instead.
"""

from alembic import context
from pyramid.paster import get_appsettings, setup_logging

from {{ cookiecutter.project_slug }}.models import get_engine
from {{ cookiecutter.project_slug }}.models.meta import Base


def run_migrations(connection: object) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


config = context.config
connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    setup_logging(config.config_file_name)
    engine = get_engine(get_appsettings(config.config_file_name))
    with engine.connect() as connection:
        run_migrations(connection)
    engine.dispose()
