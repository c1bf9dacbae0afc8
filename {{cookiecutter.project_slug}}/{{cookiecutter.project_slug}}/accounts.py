"""Accounts in the catalogue: passwords, API tokens and share links.

Passwords are hashed with argon2id (``argon2-cffi``'s ``PasswordHasher``
with its defaults, RFC 9106's recommended parameters); a hash made with
other parameters is replaced at the next sign-in, so raising them later
needs no migration.

API tokens and share links are 256 random bits, shown once and stored only
as their SHA-256: with that much entropy there is no dictionary to try, so a
fast hash is enough, and a copy of the database opens nothing. A token
starts with :data:`TOKEN_PREFIX`, so a leaked one is recognizable (secret
scanners, logs) and a wrong kind of secret is refused before any lookup.
"""

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import ApiToken, ShareLink, StoredFile, User

TOKEN_PREFIX = "upl_"
SCOPES = ("read", "upload", "delete")
MAX_NAME_LENGTH = 64
MIN_PASSWORD_LENGTH = 8
# argon2 takes any length, but each guess should cost the server the same.
MAX_PASSWORD_LENGTH = 1024
MAX_LABEL_LENGTH = 100
# The longest secret accepted (prefix + 43 base64url characters, with room to spare).
MAX_SECRET_LENGTH = 100
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]*")

_hasher = PasswordHasher()
# Verified against when the name is unknown, so that answer takes as long as a wrong password.
_UNKNOWN_USER_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A name, password, label, scope or expiry we cannot accept; the message says why."""


def now() -> datetime:
    return datetime.now(UTC)


def check_name(name: str) -> str:
    if not 1 <= len(name) <= MAX_NAME_LENGTH or not _NAME.fullmatch(name):
        raise AccountError(
            f"A user name is 1 to {MAX_NAME_LENGTH} letters, digits and . _ @ -, starting with a letter or digit"
        )
    return name


def check_password(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise AccountError(f"A password is {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long")
    return password


def generate_password() -> str:
    """A password to print once: 20 URL-safe characters (120 random bits)."""
    return secrets.token_urlsafe(15)


def find_user(dbsession: Session, name: str) -> User | None:
    return dbsession.scalar(select(User).where(User.name == name)) if len(name) <= MAX_NAME_LENGTH else None


def add_user(dbsession: Session, name: str, password: str, *, admin: bool = False) -> User:
    """A new account; :class:`AccountError` if the name is taken or a value is unacceptable."""
    check_name(name)
    if find_user(dbsession, name) is not None:
        raise AccountError(f"There is already an account named {name!r}")
    user = User(
        id=secrets.token_hex(16),
        name=name,
        password_hash=_hasher.hash(check_password(password)),
        is_admin=admin,
        created=now(),
        disabled=False,
        session_generation=0,
    )
    dbsession.add(user)
    dbsession.flush()
    return user


def set_password(user: User, password: str) -> None:
    """A new password for ``user``: it ends every session of theirs; their API tokens keep working.

    A token is a credential of its own, made on purpose and revoked one by
    one (``revoke_token``): a forgotten password says nothing about it.
    """
    user.password_hash = _hasher.hash(check_password(password))
    end_sessions(user)


def set_disabled(user: User, disabled: bool) -> None:
    """Disable ``user`` (no sign-in; their sessions end and their tokens stop working) or enable them again.

    Enabling does not bring the ended sessions back (they must sign in
    again); their tokens that were not revoked work again.
    """
    if disabled and not user.disabled:
        end_sessions(user)
    user.disabled = disabled


def end_sessions(user: User) -> None:
    """End every session ``user`` signed in to so far: their cookies now answer as nobody signed in."""
    user.session_generation = (user.session_generation or 0) + 1


def authenticate(dbsession: Session, name: str, password: str) -> User | None:
    """The enabled account with this name and password, or ``None`` (whichever was wrong).

    Every failure costs one argon2 verification, known name or not.
    """
    user = find_user(dbsession, name)
    try:
        _hasher.verify(user.password_hash if user else _UNKNOWN_USER_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def parse_scopes(text: str | Iterable[str]) -> str:
    """``"read,upload"`` (or a list) as the stored form ``"read upload"``, in :data:`SCOPES` order."""
    words = set(text.replace(",", " ").split() if isinstance(text, str) else text)
    unknown = words - set(SCOPES)
    if unknown or not words:
        raise AccountError(f"Scopes are one or more of {', '.join(SCOPES)}")
    return " ".join(scope for scope in SCOPES if scope in words)


def parse_expiry(days: str | int | None) -> datetime | None:
    """``days`` from now (1 to 3650), or ``None`` for a secret that does not expire."""
    if days in (None, ""):
        return None
    if isinstance(days, str) and not (days.isascii() and days.isdigit()):
        raise AccountError("The expiry is a whole number of days")
    if not 1 <= int(days) <= 3650:
        raise AccountError("The expiry is 1 to 3650 days")
    return now() + timedelta(days=int(days))


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def make_token(
    dbsession: Session, user: User, label: str, scopes: str, expires: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token for ``user``: its record, and the secret to show once."""
    label = label.strip()
    if not 1 <= len(label) <= MAX_LABEL_LENGTH or not label.isprintable():
        raise AccountError(f"A token's label is 1 to {MAX_LABEL_LENGTH} printable characters")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        id=secrets.token_hex(16),
        user_id=user.id,
        label=label,
        token_sha256=digest(secret),
        scopes=parse_scopes(scopes),
        created=now(),
        expires=expires,
    )
    dbsession.add(token)
    dbsession.flush()
    return token, secret


def find_token(dbsession: Session, secret: str) -> tuple[ApiToken, User] | None:
    """The live token whose secret this is, and its enabled user; ``None`` otherwise."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > MAX_SECRET_LENGTH:
        return None
    row = dbsession.execute(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(ApiToken.token_sha256 == digest(secret))
    ).first()
    if row is None:
        return None
    token, user = row
    if token.revoked is not None or (token.expires is not None and token.expires <= now()) or user.disabled:
        return None
    return token, user


def tokens_of(dbsession: Session, user: User) -> list[ApiToken]:
    return list(dbsession.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created)))


def revoke_token(dbsession: Session, user: User, token_id: str) -> bool:
    """Revoke one of ``user``'s tokens; ``False`` if they have none with this id."""
    token = dbsession.get(ApiToken, token_id) if len(token_id) <= 32 else None
    if token is None or token.user_id != user.id:
        return False
    if token.revoked is None:
        token.revoked = now()
    return True


def make_share_link(dbsession: Session, record: StoredFile, expires: datetime | None = None) -> tuple[ShareLink, str]:
    """A new link to ``record``: its row, and the secret for the URL (shown once)."""
    secret = secrets.token_urlsafe(32)
    link = ShareLink(
        id=secrets.token_hex(16), file_id=record.id, token_sha256=digest(secret), created=now(), expires=expires
    )
    dbsession.add(link)
    dbsession.flush()
    return link, secret


def shared_file(dbsession: Session, secret: str) -> StoredFile | None:
    """The file a live link's secret names, or ``None`` (unknown, revoked or expired)."""
    if len(secret) > MAX_SECRET_LENGTH:
        return None
    link = dbsession.scalar(select(ShareLink).where(ShareLink.token_sha256 == digest(secret)))
    if link is None or link.revoked is not None or (link.expires is not None and link.expires <= now()):
        return None
    return dbsession.get(StoredFile, link.file_id)


def share_links_of(dbsession: Session, owner: str) -> list[tuple[ShareLink, StoredFile]]:
    """The links to ``owner``'s files, oldest first, with their files."""
    query = (
        select(ShareLink, StoredFile)
        .join(StoredFile, StoredFile.id == ShareLink.file_id)
        .where(StoredFile.owner == owner)
        .order_by(ShareLink.created)
    )
    return [(link, record) for link, record in dbsession.execute(query)]


def revoke_share_link(dbsession: Session, owner: str, link_id: str) -> bool:
    """Revoke a link to one of ``owner``'s files; ``False`` if there is none with this id."""
    row = (
        dbsession.execute(
            select(ShareLink, StoredFile)
            .join(StoredFile, StoredFile.id == ShareLink.file_id)
            .where(ShareLink.id == link_id)
        ).first()
        if len(link_id) <= 32
        else None
    )
    if row is None or row[1].owner != owner:
        return False
    if row[0].revoked is None:
        row[0].revoked = now()
    return True
