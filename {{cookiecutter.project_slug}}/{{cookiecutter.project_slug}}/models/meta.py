"""The declarative base, with names for constraints that migrations can rely on.

Without a naming convention the database names constraints itself, and a
later Alembic migration could not refer to them the same way on SQLite and
PostgreSQL (https://alembic.sqlalchemy.org/en/latest/naming.html).
"""

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
