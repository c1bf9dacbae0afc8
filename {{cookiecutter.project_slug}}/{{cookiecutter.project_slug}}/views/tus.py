"""The tus 1.0 endpoint: ``/uploads/`` creates resumable uploads, ``/uploads/{upload_id}`` continues one.

Thin glue: the protocol's rules are in ``tus.py``, the uploads' state and
bytes in ``resumable.py``. One view per URL dispatches on the method, so
that ``X-HTTP-Method-Override`` (for clients behind proxies that only pass
GET and POST) is honoured in one place.

Every answer carries ``Tus-Resumable``; refusals carry ``{"error", "code"}``
(``tus.py`` lists the codes). The last ``PATCH`` answers with
``Upload-File-Location``: the URL of the stored file the upload became.
{%- if cookiecutter.access == "accounts" %}

Who may: the same security policy as ``/files`` (``policy.py``). Creating
and ``PATCH`` need the ``upload`` permission, and so does ``DELETE``
(giving up an upload is part of uploading; ``delete`` is for stored
files); ``HEAD`` and ``GET`` need ``upload`` or ``read``. ``OPTIONS``
needs nothing: it is the protocol's capability discovery and the CORS
preflight, which carries no credentials. Only whoever started an upload
may continue it; to anyone else its URL is "not found" (``resumable.py``).
{%- endif %}
"""

from email.utils import format_datetime

from pyramid.httpexceptions import {% if cookiecutter.access == "accounts" %}HTTPForbidden, {% endif %}HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from .. import tus
from ..errors import UploadRejected
from ..models import StoredFile, UploadInProgress
from ..receiving import declared_length
from ..resumable import Finished
from ..security import header_csrf_valid
from . import absolute_url, file_json, wants_json

SAFE_METHODS = ("OPTIONS", "HEAD", "GET")
ALLOWED_METHODS = "POST, HEAD, PATCH, DELETE, OPTIONS"
{%- if cookiecutter.access == "accounts" %}
# The permissions (any one of them) each method needs; OPTIONS needs none.
PERMISSIONS = {
    "POST": ("upload",),
    "PATCH": ("upload",),
    "DELETE": ("upload",),
    "HEAD": ("upload", "read"),
    "GET": ("upload", "read"),
}
{%- endif %}


@view_config(route_name="tus_collection")
def collection(request: Request) -> Response:
    """``OPTIONS`` (what this server supports) and ``POST`` (create an upload)."""
    return _answer(request, {"OPTIONS": _options, "POST": _create})


@view_config(route_name="tus_upload")
def upload(request: Request) -> Response:
    """``HEAD`` (how far it got), ``PATCH`` (more bytes), ``DELETE`` (give up), ``OPTIONS``.

    ``GET`` is ours, not tus's: the stored file a finished upload became
    (``{"file": ...}`` as in ``/files``, or a redirect to it for people), or
    ``{"offset", "length"}`` of one in progress. The page uses it to show
    the stored file's row.
    """
    return _answer(request, {"OPTIONS": _options, "HEAD": _head, "GET": _get, "PATCH": _patch, "DELETE": _delete})


def _answer(request: Request, handlers: dict) -> Response:
    method = request.method
    override = request.headers.get("X-HTTP-Method-Override")
    if method == "POST" and override:
        method = override.strip().upper()
    try:
        handler = handlers.get(method)
        if handler is None:
            response = Response(status=405, json_body={"error": f"{method} is not allowed here.", "code": "method"})
            response.headers["Allow"] = ", ".join(handlers)
        else:
{%- if cookiecutter.access == "accounts" %}
            _check_permission(request, method)
{%- endif %}
            if method not in ("OPTIONS", "GET"):
                tus.check_version(request.headers.get("Tus-Resumable"))
            if method not in SAFE_METHODS and not header_csrf_valid(request):
                raise tus.Forbidden("Missing or wrong CSRF token: send the X-CSRF-Token header")
            if request.resumable is None:
                raise tus.TusError("This server's storage backend cannot keep resumable uploads")
            response = handler(request)
    except UploadRejected as error:
        response = _refusal(error)
{%- if cookiecutter.access == "accounts" %}
    except HTTPForbidden:
        # The answer of every view with a permission (views/accounts.py's
        # ``forbidden``: 401 with a Bearer challenge, the sign-in page, or
        # 403), and then the tus and CORS headers below like any answer.
        response = request.invoke_exception_view()
{%- endif %}
    response.headers["Tus-Resumable"] = tus.TUS_VERSION
    _cors(request, response)
    return response


{% if cookiecutter.access == "accounts" -%}
def _check_permission(request: Request, method: str) -> None:
    """Raise ``HTTPForbidden`` unless the requester has one of the permissions ``method`` needs."""
    needed = PERMISSIONS.get(method, ())
    if needed and not any(request.has_permission(permission) for permission in needed):
        raise HTTPForbidden()


{% endif -%}
def _refusal(error: UploadRejected) -> Response:
    message = str(error)
    message = message if message.endswith((".", "!", "?")) else message + "."
    code = getattr(error, "code", type(error).__name__.lower())
    response = Response(status=error.status_code, json_body={"error": message, "code": code})
    if isinstance(error, tus.PreconditionFailed):
        response.headers["Tus-Version"] = tus.TUS_VERSION
    return response


def _options(request: Request) -> Response:
    response = Response(status=204)
    response.headers.update(
        {
            "Tus-Version": tus.TUS_VERSION,
            "Tus-Max-Size": str(request.upload_settings.max_size),
            "Tus-Extension": ",".join(tus.EXTENSIONS),
            "Tus-Checksum-Algorithm": ",".join(tus.CHECKSUM_ALGORITHMS),
        }
    )
    return response


def _owner(request: Request) -> str | None:
    return request.authenticated_userid


def _create(request: Request) -> Response:
    headers = request.headers
    metadata_header = headers.get("Upload-Metadata", "")
    metadata = tus.parse_metadata(metadata_header)
    concat = tus.parse_concat(headers.get("Upload-Concat"), lambda url: _upload_id_of(request, url))
    owner = _owner(request)
    if concat is not None and not concat.partial:
        stored = request.resumable.concatenate(
            concat.parts, metadata_header=metadata_header, metadata=metadata, owner=owner
        )
        response = Response(status=201)
        response.location = absolute_url(request, "tus_upload", upload_id=stored.id)
        response.headers["Upload-File-Location"] = absolute_url(request, "file", id=stored.id)
        return response
    length = tus.parse_count("Upload-Length", headers.get("Upload-Length"))
    defer = headers.get("Upload-Defer-Length")
    if (length is None) == (defer is None) or (defer is not None and defer != "1"):
        raise tus.InvalidHeader("Send Upload-Length, or Upload-Defer-Length: 1, but not both")
    declared = declared_length(request.environ.get("CONTENT_LENGTH", "")) or 0
    if declared and request.content_type != tus.OFFSET_CONTENT_TYPE:
        raise tus.WrongContentType(f"A body sent with the creation request must be {tus.OFFSET_CONTENT_TYPE}")
    upload = request.resumable.create(
        length=length,
        metadata_header=metadata_header,
        metadata=metadata,
        owner=owner,
        partial=concat is not None,
    )
    response = Response(status=201)
    response.location = absolute_url(request, "tus_upload", upload_id=upload.id)
    finished = Finished(upload)
    if declared or length == 0:  # creation-with-upload, or an empty file: complete at once
        finished = request.resumable.append(
            upload.id,
            owner,
            0,
            request.body_file,
            declared,
            checksum=tus.parse_checksum(headers.get("Upload-Checksum")),
        )
    _progress_headers(request, response, finished)
    return response


def _head(request: Request) -> Response:
    # An upload with every byte whose completion failed is completed here (resumable.inspect).
    found = request.resumable.inspect(request.matchdict["upload_id"], _owner(request))
    response = Response(status=200)
    response.cache_control = "no-store"
    if isinstance(found, StoredFile):
        response.headers["Upload-Offset"] = response.headers["Upload-Length"] = str(found.size)
        response.headers["Upload-File-Location"] = absolute_url(request, "file", id=found.id)
        return response
    _state_headers(response, found)
    if found.metadata_header:
        response.headers["Upload-Metadata"] = found.metadata_header
    return response


def _get(request: Request) -> Response:
    found = request.resumable.get(request.matchdict["upload_id"], _owner(request))
    if isinstance(found, StoredFile):
        if not wants_json(request):
            return HTTPSeeOther(absolute_url(request, "file", id=found.id))
        return Response(json_body={"file": file_json(request, found)})
    return Response(json_body={"offset": found.offset, "length": found.length}, cache_control="no-store")


def _patch(request: Request) -> Response:
    headers = request.headers
    if request.content_type != tus.OFFSET_CONTENT_TYPE:
        raise tus.WrongContentType(f"A PATCH body must be {tus.OFFSET_CONTENT_TYPE}")
    offset = tus.parse_count("Upload-Offset", headers.get("Upload-Offset"))
    if offset is None:
        raise tus.InvalidHeader("A PATCH must send Upload-Offset")
    finished = request.resumable.append(
        request.matchdict["upload_id"],
        _owner(request),
        offset,
        request.body_file,
        declared_length(request.environ.get("CONTENT_LENGTH", "")),
        length=tus.parse_count("Upload-Length", headers.get("Upload-Length")),
        checksum=tus.parse_checksum(headers.get("Upload-Checksum")),
    )
    response = Response(status=204)
    _progress_headers(request, response, finished)
    return response


def _delete(request: Request) -> Response:
    request.resumable.terminate(request.matchdict["upload_id"], _owner(request))
    return Response(status=204)


def _progress_headers(request: Request, response: Response, finished: Finished) -> None:
    _state_headers(response, finished.upload)
    if finished.stored is not None:
        response.headers["Upload-File-Location"] = absolute_url(request, "file", id=finished.stored.id)
        del response.headers["Upload-Expires"]


def _state_headers(response: Response, upload: UploadInProgress) -> None:
    response.headers["Upload-Offset"] = str(upload.offset)
    if upload.length is None:
        response.headers["Upload-Defer-Length"] = "1"
    else:
        response.headers["Upload-Length"] = str(upload.length)
    if upload.partial:
        response.headers["Upload-Concat"] = "partial"
    response.headers["Upload-Expires"] = format_datetime(upload.expires, usegmt=True)


def _upload_id_of(request: Request, url: str) -> str | None:
    """The upload id an ``Upload-Concat`` URL names (absolute, or a path under ``/uploads/``)."""
    prefix = request.route_path("tus_collection")
    path = url.split("://", 1)[-1]
    path = path[path.find("/") :] if "://" in url else path
    if not path.startswith(prefix):
        return None
    upload_id = path[len(prefix) :]
    return upload_id if upload_id.isalnum() and len(upload_id) <= 64 else None


def _cors(request: Request, response: Response) -> None:
    """CORS headers for the origins in ``uploads.cors_origins``, and for no other."""
    origin = request.headers.get("Origin")
    if origin is None or origin not in request.upload_settings.cors_origins:
        return
    response.headers.update(
        {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Access-Control-Expose-Headers": tus.EXPOSED_HEADERS,
            "Vary": "Origin",
        }
    )
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        response.headers.update(
            {
                "Access-Control-Allow-Methods": ALLOWED_METHODS,
                "Access-Control-Allow-Headers": tus.REQUEST_HEADERS,
                "Access-Control-Max-Age": "86400",
            }
        )
