{%- macro PERM(name) %}{% if cookiecutter.access == "accounts" %}, permission="{{ name }}"{% endif %}{% endmacro -%}
"""The ``/files`` API: upload, list, download, delete (one file, or several at once)."""

import json
from functools import partial
from urllib.parse import parse_qs

from pyramid.httpexceptions import HTTPNoContent, HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from .. import catalogue
from ..errors import BadRequest
{%- if cookiecutter.access == "accounts" %}
from ..policy import may_see, owner_filter
{%- endif %}
from ..receiving import receive_files
from ..security import CSRF_FIELD, csrf_valid, header_csrf_valid
from ..serving import file_response
from ..storage import NotFound, ServesDirectly
from . import absolute_url, file_json, wants_json

# A delete form carries one short token; refuse to read more than this.
MAX_FORM_BYTES = 4096
# A bulk delete names at most this many files (a page lists at most catalogue.MAX_LIMIT),
# each a 32-character id: its form or JSON body stays far under MAX_BULK_BYTES.
MAX_BULK_FILES = catalogue.MAX_LIMIT
MAX_BULK_BYTES = 64 * 1024


@view_config(route_name="files", request_method="POST"{{ PERM("upload") }})
def upload(request: Request) -> Response:
    """Store every ``file`` part: 201 with JSON for API clients, 303 for forms."""
{%- if cookiecutter.access == "accounts" %}
    owner = request.identity.user_id
    stored = receive_files(request, request.upload_settings, request.storage, request.dbsession, owner)
{%- else %}
    stored = receive_files(request, request.upload_settings, request.storage, request.dbsession)
{%- endif %}
    if wants_json(request):
        response = Response(status=201, json_body={"files": [file_json(request, info) for info in stored]})
        response.location = absolute_url(request, "file", id=stored[0].id)
        return response
    return HTTPSeeOther(request.route_path("home", _query={"stored": ",".join(info.id for info in stored)}))


@view_config(route_name="files", request_method="GET"{{ PERM("read") }})
def list_files(request: Request) -> Response:
    """A page of stored files, newest first; people asking for ``/files`` get the page that lists them.

    ``{"files": [...], "next": URL or null}``; ``?limit=`` 1 to 500 (default
    50), ``?cursor=`` from a ``next`` URL, ``?q=`` names containing it
    (``catalogue.page`` says what a search costs). Bad values answer 400.

    One view deciding with :func:`wants_json`, not two views with an
    ``accept`` predicate: a browser's ``Accept`` ends in ``*/*``, which
    such a predicate counts as asking for JSON.
    """
    if not wants_json(request):
        return HTTPSeeOther(request.route_path("home"))
    limit = catalogue.parse_limit(request.GET.get("limit"))
    q = catalogue.parse_query(request.GET.get("q"))
    page = catalogue.page(request.dbsession, request.GET.get("cursor"), limit, q=q{% if cookiecutter.access == "accounts" %}, owner=owner_filter(request){% endif %})
    query = {"cursor": page.next_cursor} | ({"limit": limit} if "limit" in request.GET else {})
    query |= {"q": q} if q else {}
    return Response(
        json_body={
            "files": [file_json(request, info) for info in page.files],
            "next": absolute_url(request, "files", _query=query) if page.next_cursor else None,
        }
    )


@view_config(route_name="file", request_method=("GET", "HEAD"){{ PERM("read") }})
def download(request: Request) -> Response:
    """The stored bytes, as an attachment, with Range and ETag support."""
    record = catalogue.get(request.dbsession, request.matchdict["id"])
    if record is None{% if cookiecutter.access == "accounts" %} or not may_see(request, record){% endif %}:
        raise HTTPNotFound("No stored file has this id")
    storage = request.storage
    presign = None
    if isinstance(storage, ServesDirectly) and storage.redirect_downloads:
        presign = partial(storage.presigned_url, record.storage_key)
    try:
        return file_response(request, record, partial(storage.open, record.storage_key), presign)
    except NotFound:
        raise HTTPNotFound("No stored file has this id") from None


@view_config(route_name="file", request_method="DELETE"{{ PERM("delete") }})
def delete(request: Request) -> Response:
    """Remove a file (API): needs the ``X-CSRF-Token`` header{% if cookiecutter.access == "accounts" %} (or a bearer token){% endif %}."""
    if not header_csrf_valid(request):
        raise BadRequest("Missing or wrong CSRF token: send the X-CSRF-Token header")
    _delete(request)
    return HTTPNoContent()


@view_config(route_name="file_delete", request_method="POST"{{ PERM("delete") }})
def delete_form(request: Request) -> Response:
    """Remove a file from the page's delete button (a small urlencoded form)."""
    if not (header_csrf_valid(request) or csrf_valid(request, _form_token(request))):
        raise BadRequest("Missing or wrong CSRF token: reload the page and try again")
    _delete(request)
    if wants_json(request):
        return HTTPNoContent()
    # "Deleted 1 file." on the page, as "Delete selected" says for several.
    return HTTPSeeOther(request.route_path("home", _query={"deleted": 1}))


@view_config(route_name="files_delete", request_method="POST"{{ PERM("delete") }})
def delete_many(request: Request) -> Response:
    """Remove several files at once: the page's "Delete selected", or a script.

    The body is the page's form (``application/x-www-form-urlencoded``: one
    ``id`` field per file and ``csrf_token``) or JSON (``{"ids": [...]}``,
    with the ``X-CSRF-Token`` header{% if cookiecutter.access == "accounts" %} or a bearer token{% endif %}). All or nothing: if
    one id names no file {% if cookiecutter.access == "accounts" %}the requester may delete (unknown, or someone
    else's) {% endif %}the answer is 404 and no file is deleted. Each file goes as
    a single delete does: its record, then its bytes once that is committed.

    Answers ``{"deleted": [id, ...]}`` (200) to JSON clients and a 303 to the
    page otherwise; 400 for a missing CSRF token, no id, or more than
    :data:`MAX_BULK_FILES` ids.
    """
    ids, form_token = _bulk_ids(request)
    if not (header_csrf_valid(request) or csrf_valid(request, form_token)):
        raise BadRequest("Missing or wrong CSRF token: reload the page and try again")
    if not ids:
        raise BadRequest("No file was selected: select the files to delete first")
    if len(ids) > MAX_BULK_FILES:
        raise BadRequest(f"At most {MAX_BULK_FILES} files can be deleted at once")
    _delete(request, *ids)
    if wants_json(request):
        return Response(json_body={"deleted": ids})
    return HTTPSeeOther(request.route_path("home", _query={"deleted": len(ids)}))


def _delete(request: Request, *file_ids: str) -> None:
    """Remove the files ``file_ids`` (the URL's by default), all or none.

    404 if one names no file{% if cookiecutter.access == "accounts" %} the requester may delete{% endif %}.
    """
    file_ids = file_ids or (request.matchdict["id"],)
    try:
{%- if cookiecutter.access == "accounts" %}
        # Someone else's file is "not found": the delete matches the id and the owner.
        catalogue.remove(request.dbsession, request.storage, *file_ids, owner=owner_filter(request))
{%- else %}
        catalogue.remove(request.dbsession, request.storage, *file_ids)
{%- endif %}
    except NotFound as missing:
        # Raised, the 404 aborts the transaction: the records removed before it come back.
        raise HTTPNotFound(f"No stored file has the id {missing.args[0][:40]!r}") from None


def _bulk_ids(request: Request) -> tuple[list[str], str | None]:
    """The ids a bulk delete names (each once, in order), and the form's CSRF token if it has one."""
    body = request.body_file.read(MAX_BULK_BYTES + 1)
    if len(body) > MAX_BULK_BYTES:
        raise BadRequest(f"The list of files to delete is larger than {MAX_BULK_BYTES} bytes")
    if request.content_type == "application/x-www-form-urlencoded":
        try:
            fields = parse_qs(body.decode("latin-1"), max_num_fields=MAX_BULK_FILES + 2)
        except ValueError:  # more fields than that
            raise BadRequest(f"At most {MAX_BULK_FILES} files can be deleted at once") from None
        ids, token = fields.get("id", []), fields.get(CSRF_FIELD, [None])[0]
    elif request.content_type == "application/json":
        try:
            ids = json.loads(body).get("ids")
        except (ValueError, AttributeError):
            ids = None
        if not isinstance(ids, list) or not all(isinstance(file_id, str) for file_id in ids):
            raise BadRequest('Send the files to delete as JSON: {"ids": ["id", ...]}')
        token = None
    else:
        raise BadRequest("Send the files to delete as a form (application/x-www-form-urlencoded) or as JSON")
    return list(dict.fromkeys(ids)), token


def _form_token(request: Request) -> str | None:
    if request.content_type != "application/x-www-form-urlencoded":
        return None
    body = request.body_file.read(MAX_FORM_BYTES + 1)
    if len(body) > MAX_FORM_BYTES:
        raise BadRequest("The delete form is larger than it can be")
    values = parse_qs(body.decode("latin-1")).get(CSRF_FIELD)
    return values[0] if values else None
