"""Views: thin Pyramid glue around ``receiving``, ``catalogue``, ``storage`` and ``serving``."""

from pyramid.request import Request

from ..models import StoredFile

# Where this project's page templates live; the extension is the template
# language chosen when the project was generated.
HOME_TEMPLATE = "{{ cookiecutter.project_slug }}:templates/home.{{ cookiecutter.__template_extension }}"
ERROR_TEMPLATE = "{{ cookiecutter.project_slug }}:templates/error.{{ cookiecutter.__template_extension }}"


def wants_json(request: Request) -> bool:
    """Whether the client asked for JSON rather than a page (``Accept`` header)."""
    offers = request.accept.acceptable_offers(["text/html", "application/json"])
    return bool(offers) and offers[0][0] == "application/json"


def file_json(request: Request, info: StoredFile) -> dict[str, object]:
    """The public JSON form of a stored file."""
    return {
        "id": info.id,
        "filename": info.filename,
        "size": info.size,
        "sha256": info.sha256,
        "content_type": info.content_type,
        "url": request.route_url("file", id=info.id),
        "created": info.created.isoformat(timespec="microseconds"),
    }
