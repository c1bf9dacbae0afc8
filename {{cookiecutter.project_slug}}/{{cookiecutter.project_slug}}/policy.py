"""Who is asking, and what they may do: Pyramid's security policy for this service.

Two ways to say who you are:

- a browser signs in (``views/accounts.py``) and then sends the session
  cookie: signed with ``session.secret``, HttpOnly, SameSite=Lax. Such
  requests may do everything their account may, and unsafe ones still need
  the CSRF token (``security.py``), since a browser sends cookies by itself.
  A new password or disabling the account ends its sessions (the cookie
  carries the account's ``session_generation``, which both change);
- a program sends ``Authorization: Bearer upl_...`` (RFC 6750 section 2.1):
  it may do what the token's scopes allow, and needs no CSRF token, since
  no browser adds that header on its own.

Permissions (on each view): ``read`` (list, download), ``upload``,
``delete``, and ``account`` (tokens, share links, sessions only). A user
sees only their own files and an admin every file (:func:`owner_filter`,
:func:`may_see`); someone else's file is "not found", so ids leak nothing.
"""

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.security import Allowed, Denied
from pyramid.session import SignedCookieSessionFactory
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from . import accounts
from .models import ApiToken, StoredFile, User
from .settings import SettingsError
from .throttle import Throttle

log = logging.getLogger(__name__)

SESSION_COOKIE = "session"
SESSION_USER = "user_id"
# The account's ``session_generation`` when the session signed in (``accounts.end_sessions``).
SESSION_GENERATION = "generation"
# The environment variable that, when set, overrides the ``session.secret`` setting.
SESSION_SECRET_VARIABLE = "SESSION_SECRET"
MIN_SECRET_LENGTH = 32
SESSION_TIMEOUT = 24 * 3600  # seconds without a request before a session ends
# A token's ``last_used`` is written at most this often (one write, not one per request).
LAST_USED_RESOLUTION = timedelta(minutes=1)
SESSION_PERMISSIONS = frozenset({"read", "upload", "delete", "account"})
# ``owner_filter`` for a request nobody is signed in to: no file has this owner.
NOBODY = ""


@dataclass(frozen=True)
class Identity:
    """The account behind a request; ``scopes`` is ``None`` for a session, the token's scopes otherwise."""

    user_id: str
    name: str
    is_admin: bool
    scopes: frozenset[str] | None = None


@dataclass(frozen=True)
class BearerError:
    """Why an ``Authorization`` header was refused: RFC 6750 section 3.1's ``error`` code, and a sentence."""

    code: str
    description: str


class SecurityPolicy:
    """Pyramid's ``ISecurityPolicy``: identity from a bearer token or the session; permissions by scope."""

    def identity(self, request: Request) -> Identity | None:
        """Who sent ``request``; ``None`` for nobody, with ``request.bearer_error`` set for a bad token.

        Looked up in a short read of its own, not in the request's
        transaction: on SQLite, a transaction that reads before it writes
        can fail at once with "database is locked" (``models.begin_write``).
        """
        header = request.headers.get("Authorization")
        with request.registry["dbsession_factory"]() as dbsession:
            if header is not None:
                return self._bearer_identity(request, dbsession, header)
            user_id = request.session.get(SESSION_USER)
            user = dbsession.get(User, user_id) if isinstance(user_id, str) else None
            # A session signed in before the password changed or the account was disabled is over.
            if user is None or user.disabled or request.session.get(SESSION_GENERATION, 0) != user.session_generation:
                return None
            return Identity(user.id, user.name, user.is_admin)

    def authenticated_userid(self, request: Request) -> str | None:
        identity = request.identity
        return identity.user_id if identity is not None else None

    def permits(self, request: Request, context: object, permission: str) -> Allowed | Denied:
        identity = request.identity
        if identity is None:
            return Denied("nobody is signed in")
        allowed = SESSION_PERMISSIONS if identity.scopes is None else identity.scopes
        if permission in allowed:
            return Allowed(f"{permission} is allowed")
        return Denied(f"the token's scopes do not include {permission}")

    def remember(self, request: Request, userid: str, **kw: object) -> list[tuple[str, str]]:
        """Sign ``userid`` in: a fresh session (no id from before signing in survives).

        ``session_generation`` (keyword, the account's ``User.session_generation``)
        is kept with it: the session lasts while the account's number stays the same.
        """
        request.session.invalidate()
        request.session[SESSION_USER] = userid
        request.session[SESSION_GENERATION] = kw.get("session_generation", 0)
        return []

    def forget(self, request: Request, **kw: object) -> list[tuple[str, str]]:
        request.session.invalidate()
        return []

    def _bearer_identity(self, request: Request, dbsession: Session, header: str) -> Identity | None:
        scheme, _, secret = header.strip().partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            request.bearer_error = BearerError("invalid_request", "Send Authorization: Bearer <token>")
            return None
        found = accounts.find_token(dbsession, secret)
        if found is None:
            request.bearer_error = BearerError("invalid_token", "The token is unknown, revoked or expired")
            return None
        token, user = found
        _note_use(request, token)
        return Identity(user.id, user.name, user.is_admin, frozenset(token.scopes.split()))


def bearer_authenticated(request: Request) -> bool:
    """Whether the request's identity comes from a bearer token (no cookie, so no CSRF token needed)."""
    identity = request.identity
    return identity is not None and identity.scopes is not None


def owner_filter(request: Request) -> str | None:
    """Whose files the requester may list: ``None`` for an admin (everyone's), else their own id."""
    identity = request.identity
    if identity is None:
        return NOBODY
    return None if identity.is_admin else identity.user_id


def may_see(request: Request, record: StoredFile) -> bool:
    """Whether the requester may see (and so download or delete) ``record``."""
    identity = request.identity
    return identity is not None and (identity.is_admin or record.owner == identity.user_id)


def _note_use(request: Request, token: ApiToken) -> None:
    """Record when a token was last used: at most once a minute, in a short transaction of its own.

    Outside the request's transaction, so that a download (a read) does not
    become a write that waits for the database's write lock.
    """
    moment = accounts.now()
    if token.last_used is not None and moment - token.last_used < LAST_USED_RESOLUTION:
        return
    try:
        with request.registry["dbsession_factory"]() as dbsession, dbsession.begin():
            dbsession.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used=moment))
    except DBAPIError:
        log.warning("could not record the last use of token %s", token.id, exc_info=True)


@dataclass(frozen=True)
class SessionSettings:
    secret: str
    secure: bool


def load_session_settings(settings: Mapping[str, str], environ: Mapping[str, str] = os.environ) -> SessionSettings:
    """``session.secret`` (``$SESSION_SECRET`` when set) and ``session.secure``, checked; SettingsError names them."""
    secret = environ.get(SESSION_SECRET_VARIABLE) or str(settings.get("session.secret", "")).strip()
    source = SESSION_SECRET_VARIABLE if environ.get(SESSION_SECRET_VARIABLE) else "session.secret"
    if len(secret) < MIN_SECRET_LENGTH:
        raise SettingsError(
            f"{source}: must be at least {MIN_SECRET_LENGTH} characters of random text"
            ' (python3 -c "import secrets; print(secrets.token_urlsafe(48))")'
        )
    secure = str(settings.get("session.secure", "false")).strip().lower()
    if secure not in ("true", "false"):
        raise SettingsError(f"session.secure: {secure!r} is not true or false")
    return SessionSettings(secret, secure == "true")


def includeme(config: Configurator) -> None:
    """The session cookie, the security policy, the sign-in throttle, and ``request.bearer_error``."""
    session_settings = load_session_settings(config.get_settings())
    config.set_session_factory(
        SignedCookieSessionFactory(
            session_settings.secret,
            cookie_name=SESSION_COOKIE,
            secure=session_settings.secure,
            httponly=True,
            # Lax: a link from elsewhere opens the page signed in; a form
            # posted from elsewhere carries no cookie (and no CSRF token).
            samesite="Lax",
            timeout=SESSION_TIMEOUT,
            reissue_time=SESSION_TIMEOUT // 10,
        )
    )
    config.set_security_policy(SecurityPolicy())
    config.registry["signin_throttle"] = Throttle()
    config.add_request_method(lambda request: None, "bearer_error", reify=True)
