"""How many files the catalogue holds and their total size, kept as one row.

Counting and summing ``stored_file`` reads every record: at 100,000 files
that alone took 15-25 ms of each page (the catalogue benchmark). This row is
changed in the same transaction as the records it counts (``catalogue.py``),
so it is always exact, and reading it costs one primary-key lookup.
Concurrent uploads update it one after the other: the write lock they take
anyway on SQLite, a row lock held until commit on PostgreSQL.
"""

from sqlalchemy import BigInteger, CheckConstraint, Integer
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base

THE_ROW = 1


class CatalogueTotals(Base):
    """The one row (``id`` = 1): ``files`` records, ``bytes`` the sum of their sizes."""

    __tablename__ = "catalogue_totals"

    id: Mapped[int] = mapped_column(Integer, CheckConstraint("id = 1", name="one_row"), primary_key=True)
    files: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
