"""CSRF tokens and the security headers every response carries.

The token is Pyramid's double-submit cookie (``CookieCSRFStoragePolicy``):
``GET /`` sets it and puts it in the form; an unsafe request must send it
back as the ``csrf_token`` field or the ``X-CSRF-Token`` header. We check it
ourselves rather than with ``require_csrf``, because Pyramid's check reads
``request.POST`` and so the whole upload before it could refuse it.
"""

from pyramid.csrf import get_csrf_token
from pyramid.events import NewResponse
from pyramid.interfaces import ICSRFStoragePolicy
from pyramid.request import Request
{%- if cookiecutter.access == "accounts" %}

from .policy import bearer_authenticated
{%- endif %}

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"

# Pages may load only our own scripts, styles and media; nobody may frame
# them. Uploaded files are played and shown from the download route ('self').
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Stored files are inert documents: no script, no plugins, a unique origin.
FILE_POLICY = "default-src 'none'; sandbox"


def csrf_token(request: Request) -> str:
    """The token to embed in pages (it also sets the cookie if needed)."""
    return get_csrf_token(request)


def csrf_valid(request: Request, supplied: str | bytes | None) -> bool:
    """Whether ``supplied`` matches the token of the requester's cookie."""
    if not supplied:
        return False
    if isinstance(supplied, bytes):
        supplied = supplied.decode("latin-1")
    policy = request.registry.getUtility(ICSRFStoragePolicy)
    return policy.check_csrf_token(request, supplied)


def header_csrf_valid(request: Request) -> bool:
{%- if cookiecutter.access == "accounts" %}
    """Whether the request needs no CSRF form field: a valid ``X-CSRF-Token`` header, or a bearer token.

    A request authenticated by ``Authorization: Bearer`` carries no cookie
    a browser could have added on another site's behalf (``policy.py``).
    """
    return bearer_authenticated(request) or csrf_valid(request, request.headers.get(CSRF_HEADER))
{%- else %}
    """Whether the request carries a valid ``X-CSRF-Token`` header."""
    return csrf_valid(request, request.headers.get(CSRF_HEADER))
{%- endif %}


def add_security_headers(event: NewResponse) -> None:
    """Subscriber: the headers every response gets unless a view set its own."""
    headers = event.response.headers
    headers.setdefault("Content-Security-Policy", PAGE_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
