"""Views: thin Pyramid glue around ``receiving``, ``catalogue``, ``storage`` and ``serving``."""

from pyramid.request import Request

from ..models import StoredFile
from ..negotiation import prefers_json

# Where this project's page templates live; the extension is the template
# language chosen when the project was generated.
HOME_TEMPLATE = "{{ cookiecutter.project_slug }}:templates/home.{{ cookiecutter.__template_extension }}"
ERROR_TEMPLATE = "{{ cookiecutter.project_slug }}:templates/error.{{ cookiecutter.__template_extension }}"
{%- if cookiecutter.access == "accounts" %}
SIGNIN_TEMPLATE = "{{ cookiecutter.project_slug }}:templates/signin.{{ cookiecutter.__template_extension }}"
ACCOUNT_TEMPLATE = "{{ cookiecutter.project_slug }}:templates/account.{{ cookiecutter.__template_extension }}"
{%- endif %}


def wants_json(request: Request) -> bool:
    """Whether the client prefers JSON to a page (``Accept``, RFC 9110 section 12.5.1).

    A client that names ``application/json`` above ``text/html`` (by q-value,
    then by naming it outright rather than through ``*/*``) gets JSON; every
    other one, ``*/*`` alone included (curl, requests, ``fetch()``), gets the
    page: see ``negotiation.py``.
    """
    return prefers_json(request.headers.get("Accept"))


def absolute_url(request: Request, route_name: str, **parts: object) -> str:
    """The absolute URL of a route: under ``uploads.public_url`` if it is set.

    Otherwise it is built from the request's ``Host`` header, which
    ``server.py`` (and, under any server, ``refusals.py``) has checked.
    """
    if request.upload_settings.public_url:
        return request.route_url(route_name, _app_url=request.upload_settings.public_url, **parts)
    return request.route_url(route_name, **parts)


def file_json(request: Request, info: StoredFile) -> dict[str, object]:
    """The public JSON form of a stored file."""
    return {
        "id": info.id,
        "filename": info.filename,
        "size": info.size,
        "sha256": info.sha256,
        "content_type": info.content_type,
        "url": absolute_url(request, "file", id=info.id),
        "created": info.created.isoformat(timespec="microseconds"),
    }
