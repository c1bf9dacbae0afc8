"""Signing in and out, the account page (API tokens, share links), and shared downloads.

Forms here are small and urlencoded: they are read with a bound
(:func:`read_form`), never through ``request.POST``, and every one carries
the CSRF token. A failed sign-in says only that the name or the password
was wrong, and is slowed down per name and per client address
(``throttle.py``).
"""

import math
from functools import partial
from urllib.parse import parse_qs

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import forget, remember
from pyramid.view import forbidden_view_config, view_config

from .. import accounts, catalogue
from ..errors import BadRequest
from ..models import User, begin_write
from ..policy import may_see
from ..security import CSRF_FIELD, csrf_token, csrf_valid, header_csrf_valid
from ..serving import file_response
from ..storage import NotFound
from . import ACCOUNT_TEMPLATE, ERROR_TEMPLATE, SIGNIN_TEMPLATE, absolute_url, wants_json
from .home import chrome_values

# A sign-in or token form: a name, a password, a label... never more than this.
MAX_FORM_BYTES = 8192


def read_form(request: Request) -> dict[str, str]:
    """A small urlencoded form's fields (the first value of each); :class:`BadRequest` if it is too large."""
    if request.content_type != "application/x-www-form-urlencoded":
        raise BadRequest("Send the form as application/x-www-form-urlencoded")
    body = request.body_file.read(MAX_FORM_BYTES + 1)
    if len(body) > MAX_FORM_BYTES:
        raise BadRequest("The form is larger than it can be")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The form is not UTF-8") from None
    fields = parse_qs(text, keep_blank_values=True, max_num_fields=20)
    form = {name: values[0] for name, values in fields.items()}
    form["__scopes"] = " ".join(fields.get("scope", []))
    return form


def require_csrf(request: Request, form: dict[str, str]) -> None:
    if not (header_csrf_valid(request) or csrf_valid(request, form.get(CSRF_FIELD))):
        raise BadRequest("Missing or wrong CSRF token: reload the page and try again")


@view_config(route_name="signin", request_method="GET", renderer=SIGNIN_TEMPLATE)
def signin_page(request: Request) -> dict[str, object]:
    return signin_values(request)


@view_config(route_name="signin", request_method="POST")
def signin(request: Request) -> Response:
    """Check the name and password; 303 to ``next`` on success, the form again (400 or 429) otherwise."""
    form = read_form(request)
    require_csrf(request, form)
    name, password = form.get("name", ""), form.get("password", "")
    if len(name) > accounts.MAX_NAME_LENGTH or len(password) > accounts.MAX_PASSWORD_LENGTH:
        return _signin_refused(request, 400, "The name or the password is too long", name="")
    throttle = request.registry["signin_throttle"]
    keys = (f"name:{name.lower()}", f"address:{request.remote_addr}")
    wait = throttle.wait(*keys)
    if wait > 0:
        response = _signin_refused(
            request, 429, f"Too many failed sign-ins: try again in {math.ceil(wait)} seconds", name=name
        )
        response.retry_after = math.ceil(wait)
        return response
    user = accounts.authenticate(request.dbsession, name, password)
    if user is None:
        throttle.failed(*keys)
        return _signin_refused(request, 400, "Wrong name or password", name=name)
    throttle.succeeded(keys[0])
    remember(request, user.id, session_generation=user.session_generation)
    return HTTPSeeOther(_local_path(form.get("next")) or request.route_path("home"))


@view_config(route_name="signout", request_method="POST")
def signout(request: Request) -> Response:
    require_csrf(request, read_form(request))
    forget(request)
    return HTTPSeeOther(request.route_path("signin"))


@forbidden_view_config()
def forbidden(request: Request) -> Response:
    """No or bad credentials: 401 (``WWW-Authenticate: Bearer``, RFC 6750 section 3), or the sign-in page.

    Credentials that do not allow this: 403.
    """
    error = request.bearer_error
    if error is not None:
        challenge = f'Bearer error="{error.code}", error_description="{error.description}"'
        return _json_error(401, error.description, challenge)
    if request.identity is None:
        if "text/html" not in request.headers.get("Accept", "") or wants_json(request):
            return _json_error(401, "Sign in, or send an API token: Authorization: Bearer <token>", "Bearer")
        # A browser (it names text/html): the sign-in page, then back here.
        back = request.path_qs if request.method in ("GET", "HEAD") else request.route_path("home")
        return HTTPSeeOther(request.route_path("signin", _query={"next": back}))
    message = "Your token's scopes do not allow this" if request.identity.scopes is not None else "Not allowed"
    if wants_json(request) or request.identity.scopes is not None:
        return _json_error(403, message + ".", 'Bearer error="insufficient_scope"')
    values = {**chrome_values(request), "status": "403 Forbidden", "message": message + "."}
    response = render_to_response(ERROR_TEMPLATE, values, request)
    response.status = 403
    return response


@view_config(route_name="account", request_method="GET", renderer=ACCOUNT_TEMPLATE, permission="account")
def account_page(request: Request) -> dict[str, object]:
    return account_values(request)


@view_config(route_name="tokens", request_method="POST", permission="account")
def create_token(request: Request) -> Response:
    """A new API token from the account page: shown once, in the page this answers with."""
    form = read_form(request)
    require_csrf(request, form)
    begin_write(request.dbsession)
    user = request.dbsession.get(User, request.identity.user_id)
    try:
        expires = accounts.parse_expiry(form.get("expires_days"))
        token, secret = accounts.make_token(request.dbsession, user, form.get("label", ""), form["__scopes"], expires)
    except accounts.AccountError as error:
        return _account_refused(request, str(error))
    if wants_json(request):
        return Response(status=201, json_body={"id": token.id, "token": secret, "scopes": token.scopes.split()})
    response = render_to_response(ACCOUNT_TEMPLATE, account_values(request, new_token=secret), request)
    response.status = 201
    return response


@view_config(route_name="token_revoke", request_method="POST", permission="account")
def revoke_token(request: Request) -> Response:
    require_csrf(request, read_form(request))
    begin_write(request.dbsession)
    user = request.dbsession.get(User, request.identity.user_id)
    if not accounts.revoke_token(request.dbsession, user, request.matchdict["id"]):
        raise HTTPNotFound("You have no token with this id")
    return HTTPSeeOther(request.route_path("account"))


@view_config(route_name="file_share", request_method="POST", permission="account")
def create_share_link(request: Request) -> Response:
    """A link that downloads one of your files without signing in (optional ``expires_days``)."""
    form = read_form(request)
    require_csrf(request, form)
    begin_write(request.dbsession)  # this transaction reads, then writes: take the write lock first
    record = catalogue.get(request.dbsession, request.matchdict["id"])
    if record is None or not may_see(request, record):
        raise HTTPNotFound("No stored file has this id")
    try:
        expires = accounts.parse_expiry(form.get("expires_days"))
        link, secret = accounts.make_share_link(request.dbsession, record, expires)
    except accounts.AccountError as error:
        raise BadRequest(str(error)) from None
    url = absolute_url(request, "shared", secret=secret)
    if wants_json(request):
        expires = link.expires.isoformat(timespec="seconds") if link.expires else None
        return Response(status=201, json_body={"id": link.id, "url": url, "expires": expires})
    response = render_to_response(ACCOUNT_TEMPLATE, account_values(request, new_link=url), request)
    response.status = 201
    return response


@view_config(route_name="share_revoke", request_method="POST", permission="account")
def revoke_share_link(request: Request) -> Response:
    require_csrf(request, read_form(request))
    begin_write(request.dbsession)
    if not accounts.revoke_share_link(request.dbsession, request.identity.user_id, request.matchdict["id"]):
        raise HTTPNotFound("You have no share link with this id")
    return HTTPSeeOther(request.route_path("account"))


@view_config(route_name="shared", request_method=("GET", "HEAD"))
def shared_download(request: Request) -> Response:
    """A share link: the file, with the same headers as ``/files/{id}``; 404 once revoked or expired."""
    record = accounts.shared_file(request.dbsession, request.matchdict["secret"])
    if record is None:
        raise HTTPNotFound("This link is unknown, revoked or expired")
    try:
        return file_response(request, record, partial(request.storage.open, record.storage_key))
    except NotFound:
        raise HTTPNotFound("This link is unknown, revoked or expired") from None


def signin_values(request: Request, *, error: str | None = None, name: str = "") -> dict[str, object]:
    return {
        **chrome_values(request),
        "csrf_token": csrf_token(request),
        "error": error,
        "name": name,
        "next": _local_path(request.GET.get("next")) or "",
        "max_name_length": accounts.MAX_NAME_LENGTH,
        "max_password_length": accounts.MAX_PASSWORD_LENGTH,
    }


def account_values(
    request: Request, *, new_token: str | None = None, new_link: str | None = None, error: str | None = None
) -> dict[str, object]:
    user = request.dbsession.get(User, request.identity.user_id)
    return {
        **chrome_values(request),
        "csrf_token": csrf_token(request),
        "error": error,
        "new_token": new_token,
        "new_link": new_link,
        "scopes": accounts.SCOPES,
        "tokens": [
            {
                "label": token.label,
                "scopes": token.scopes,
                "created": _when(token.created),
                "last_used": _when(token.last_used) or "never",
                "expires": _when(token.expires) or "never",
                "revoked": _when(token.revoked),
                "revoke_url": request.route_path("token_revoke", id=token.id),
            }
            for token in accounts.tokens_of(request.dbsession, user)
        ],
        "links": [
            {
                "filename": record.filename,
                "created": _when(link.created),
                "expires": _when(link.expires) or "never",
                "revoked": _when(link.revoked),
                "revoke_url": request.route_path("share_revoke", id=link.id),
            }
            for link, record in accounts.share_links_of(request.dbsession, user.id)
        ],
    }


def _when(moment: object) -> str | None:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else None


def _signin_refused(request: Request, status: int, message: str, *, name: str) -> Response:
    if wants_json(request):
        return Response(status=status, json_body={"error": message + "."})
    response = render_to_response(SIGNIN_TEMPLATE, signin_values(request, error=message + ".", name=name), request)
    response.status = status
    return response


def _account_refused(request: Request, message: str) -> Response:
    if wants_json(request):
        return Response(status=400, json_body={"error": message + "."})
    response = render_to_response(ACCOUNT_TEMPLATE, account_values(request, error=message + "."), request)
    response.status = 400
    return response


def _json_error(status: int, message: str, challenge: str) -> Response:
    response = Response(status=status, json_body={"error": message})
    response.headers["WWW-Authenticate"] = challenge
    return response


def _local_path(value: str | None) -> str | None:
    """``next`` only if it is a path on this site (``/...``, not ``//host``): no open redirect."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")) and value.isprintable():
        return value
    return None
