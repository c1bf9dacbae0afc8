"""Accounts, their API tokens, and the share links of their files.

A :class:`User` signs in with a name and a password (kept as an argon2
hash, ``accounts.py``). An :class:`ApiToken` lets a program act for its user
within some scopes; a :class:`ShareLink` lets anyone holding its URL
download one file. Tokens and links are kept only as SHA-256 digests of the
secret a person was shown once: a copy of the database opens nothing.
"""

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base
from .stored_file import UTCDateTime


class User(Base):
    """One account. ``id`` is 128 random bits in hex (what ``stored_file.owner`` holds).

    Accounts are disabled, never deleted, so a file's owner always exists.
    ``session_generation`` counts the changes that end every session of the
    account (a new password, disabling it): a session cookie carries the
    number it was signed in under, and the security policy accepts it only
    while that is still the account's number (``policy.py``).
    """

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    def __repr__(self) -> str:
        return f"<User {self.name!r}{' admin' if self.is_admin else ''}{' disabled' if self.disabled else ''}>"


class ApiToken(Base):
    """A bearer token: ``scopes`` is a space-separated subset of ``read upload delete``.

    ``token_sha256`` is the hex SHA-256 of the whole token as shown; ``id``
    (public, in the account page and the ``revoke`` command) is not secret.
    """

    __tablename__ = "api_token"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(100))
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    expires: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class ShareLink(Base):
    """A link that downloads one file without signing in, until it expires or is revoked.

    Deleting the file deletes its links (``ON DELETE CASCADE``).
    """

    __tablename__ = "share_link"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    file_id: Mapped[str] = mapped_column(ForeignKey("stored_file.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    expires: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
