"""Error views: a clear message for people and for programs.

Refusals (``errors.UploadRejected``) and HTTP errors such as 404 answer
``{"error": "..."}`` to JSON clients. Browsers get the upload page again,
with the message above the form, so a person can fix the problem and retry
from where they are.
"""

import logging

from pyramid.httpexceptions import HTTPException
from pyramid.renderers import render_to_response
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import exception_view_config, notfound_view_config
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ..errors import UploadRejected
from . import ERROR_TEMPLATE, HOME_TEMPLATE, wants_json
from .home import chrome_values, page_values

log = logging.getLogger(__name__)


@exception_view_config(UploadRejected)
def rejected(error: UploadRejected, request: Request) -> Response:
    """An upload or delete we refused: the status its class names, and why."""
    if error.status_code >= 500:
        log.error("upload failed: %s", error, exc_info=error.__cause__)
    message = _sentence(str(error))
    if wants_json(request):
        return Response(status=error.status_code, json_body={"error": message})
    response = render_to_response(HOME_TEMPLATE, page_values(request, error=message), request)
    response.status = error.status_code
    return response


@exception_view_config(DBAPIError)
@exception_view_config(PoolTimeout)
def database_error(error: DBAPIError | PoolTimeout, request: Request) -> Response:
    """The catalogue's database failed: 503 when it is unreachable, 500 for anything else.

    Nothing was kept: the request's transaction is aborted (``pyramid_tm``),
    and bytes already committed for an upload are removed by its abort hook
    (``catalogue.add``). The pool checks a connection before using it
    (``pool_pre_ping``), so once the database is back the next request works.
    """
    if isinstance(error, OperationalError | InterfaceError | PoolTimeout) or error.connection_invalidated:
        log.warning("catalogue database unavailable: %s", error)
        status, title = 503, "Service Unavailable"
        message = "The catalogue database is unavailable; nothing was changed. Try again in a moment."
    else:
        log.error("catalogue database error", exc_info=error)
        status, title = 500, "Internal Server Error"
        message = "The catalogue database failed; nothing was changed."
    if wants_json(request):
        response = Response(status=status, json_body={"error": message})
    else:
        values = {**chrome_values(request), "status": f"{status} {title}", "message": message}
        response = render_to_response(ERROR_TEMPLATE, values, request)
        response.status = status
    if status == 503:
        response.retry_after = 5
    return response


@notfound_view_config()
@exception_view_config(HTTPException)
def http_error(error: HTTPException, request: Request) -> Response:
    """404s and other HTTP errors raised by views."""
    if error.code < 400:
        return error  # redirects and 204s raised as exceptions are answers, not errors
    # Pyramid's router puts the bare path in ``detail`` of its own 404s; our
    # views put a sentence there. Fall back to the status's explanation.
    detail = error.detail if error.detail != request.path_info else None
    message = _sentence(detail or error.explanation or error.title)
    if wants_json(request):
        return Response(status=error.code, json_body={"error": message})
    values = {**chrome_values(request), "status": f"{error.code} {error.title}", "message": message}
    response = render_to_response(ERROR_TEMPLATE, values, request)
    response.status = error.code
    return response


def _sentence(text: str) -> str:
    """Messages are written without a final full stop; show them as sentences."""
    return text if text.endswith((".", "!", "?")) else text + "."
