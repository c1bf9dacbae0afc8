"""The upload page: the form, the limits, and the stored files; and the site icon."""

from pyramid.path import AssetResolver
from pyramid.request import Request
from pyramid.response import FileResponse, Response
from pyramid.view import view_config
{%- if cookiecutter.access == "accounts" %}
from sqlalchemy.exc import DBAPIError
{%- endif %}

from .. import PROJECT_NAME, catalogue
from ..errors import BadRequest
from ..models import StoredFile
{%- if cookiecutter.access == "accounts" %}
from ..policy import may_see, owner_filter
{%- endif %}
from ..security import csrf_token
from ..sizes import format_size
from ..sniffing import media_type_of, served_type
from ..storage import ServesDirectly
from . import HOME_TEMPLATE

# Each stored file's row shows a small type badge, from the type sniffed at
# upload and as it is served (an SVG is served as application/octet-stream):
# (kind, the badge's text). The page's script (static/upload.js) knows the same.
_KINDS = {"image": ("image", "IMG"), "audio": ("audio", "AUD"), "video": ("video", "VID"), "text": ("text", "TXT")}
_APPLICATION_KINDS = {
    "application/pdf": ("pdf", "PDF"),
    "application/zip": ("archive", "ZIP"),
    "application/gzip": ("archive", "GZ"),
    "application/x-tar": ("archive", "TAR"),
    "application/x-7z-compressed": ("archive", "7Z"),
    "application/x-xz": ("archive", "XZ"),
    "application/x-bzip2": ("archive", "BZ2"),
    "application/zstd": ("archive", "ZST"),
}
_OTHER_KIND = ("other", "FILE")
# Thumbnails are the image itself (no resizing on the server), so only small
# ones, and only in formats every browser draws. They are safe in the page:
# served with their sniffed type, nosniff, and an <img> never runs script.
THUMBNAIL_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp"})
THUMBNAIL_MAX_SIZE = 2 * 1024 * 1024
# ``?stored=`` names the files of one upload (at most uploads.max_files); look up no more.
MAX_STORED_SHOWN = 100

# The page sends resumable chunks of at most this much: a broken connection costs one chunk.
TUS_PAGE_CHUNK = 8 * 1024 * 1024


@view_config(route_name="home", request_method="GET", renderer=HOME_TEMPLATE{% if cookiecutter.access == "accounts" %}, permission="read"{% endif %})
def home(request: Request) -> dict[str, object]:
    """The page itself: the newest 50 files, or 50 older ones from ``?cursor=``.

    ``?stored=id,id`` (set after a form upload) adds a message.
    """
    return page_values(request, message=_stored_message(request) or _deleted_message(request))


@view_config(route_name="favicon", request_method=("GET", "HEAD"))
def favicon(request: Request) -> Response:
    """``/favicon.ico``: the icon the pages link (``static/favicon.svg``), an SVG image.

    Served under the name browsers ask for by default, so that request is not a
    404 in the log; modern browsers read the type from ``Content-Type``.
    """
    path = AssetResolver().resolve("{{ cookiecutter.project_slug }}:static/favicon.svg").abspath()
    return FileResponse(path, request=request, cache_max_age=86400, content_type="image/svg+xml")


def page_values(request: Request, *, message: str | None = None, error: str | None = None) -> dict[str, object]:
    """What the page template needs; error views render the same page."""
    upload_settings = request.upload_settings
    extensions = sorted(upload_settings.allowed_extensions)
    cursor = request.GET.get("cursor")
{%- if cookiecutter.access == "accounts" %}
    owner = owner_filter(request)
    try:
        q = catalogue.parse_query(request.GET.get("q"))
        page = catalogue.page(request.dbsession, cursor, q=q, owner=owner)
    except BadRequest:
        if error is None:
            raise
        q = None
        page = catalogue.page(request.dbsession, owner=owner)  # the page that explains a bad cursor or search
    count, total_size = catalogue.totals(request.dbsession, owner=owner)
{%- else %}
    try:
        q = catalogue.parse_query(request.GET.get("q"))
        page = catalogue.page(request.dbsession, cursor, q=q)
    except BadRequest:
        if error is None:
            raise
        q = None
        page = catalogue.page(request.dbsession)  # the page that explains a bad cursor or search
    count, total_size = catalogue.totals(request.dbsession)
{%- endif %}
    return {
        **chrome_values(request),
        "csrf_token": csrf_token(request),
        "files": [_file_row(request, info) for info in page.files],
        "file_count": count,
        "total_size": total_size,
        "file_totals": f"{count} file{'' if count == 1 else 's'}, {format_size(total_size)} in all",
        "older_url": (
            request.route_path("home", _query={"cursor": page.next_cursor} | ({"q": q} if q else {}))
            if page.next_cursor
            else None
        ),
        "newest_url": request.route_path("home", _query={"q": q} if q else {}) if cursor else None,
        "q": q or "",
        "search_url": request.route_path("home"),
        "bulk_delete_url": request.route_path("files_delete"),
        "previews": _previews(request),
        # Under accounts each row offers "Share link" (views/accounts.py); the page's script adds it to new rows.
        "share_links": {{ "True" if cookiecutter.access == "accounts" else "False" }},
        "thumbnail_max_size": THUMBNAIL_MAX_SIZE,
        "max_size": upload_settings.max_size,
        "max_size_text": format_size(upload_settings.max_size),
        "max_files": upload_settings.max_files,
        # The page's script uploads through tus (resumable), in chunks under the server's limit.
        "tus_endpoint": request.route_path("tus_collection"),
        "tus_chunk_size": min(upload_settings.tus_max_chunk, TUS_PAGE_CHUNK),
        "allowed_extensions": " ".join(extensions),
        "accept": ",".join(f".{extension}" for extension in extensions),
        "message": message,
        "error": error,
    }


def chrome_values(request: Request) -> dict[str, object]:
{%- if cookiecutter.access == "accounts" %}
    """What every page's layout needs: the title, where static files are, and who is signed in."""
    try:
        identity = request.identity
    except DBAPIError:
        identity = None  # the catalogue is down: its error page (503) shows nobody signed in
    return {
        "project_name": PROJECT_NAME,
        "static_url": request.static_path("{{ cookiecutter.project_slug }}:static/"),
        # A person signed in (not a program with a token): the layout shows their name and "Sign out".
        "signed_in": identity.name if identity is not None and identity.scopes is None else None,
        "signout_csrf_token": csrf_token(request) if identity is not None else None,
    }
{%- else %}
    """What every page's layout needs: the title and where static files are."""
    return {
        "project_name": PROJECT_NAME,
        "static_url": request.static_path("{{ cookiecutter.project_slug }}:static/"),
    }
{%- endif %}


def _previews(request: Request) -> bool:
    """Whether the page may show thumbnails and players: not when downloads redirect to the store.

    The page's Content-Security-Policy allows images and media from this
    site only (``security.PAGE_POLICY``), and would block the redirect.
    """
    storage = request.storage
    return not (isinstance(storage, ServesDirectly) and storage.redirect_downloads)


def _file_row(request: Request, info: StoredFile) -> dict[str, object]:
    created = info.created
    media_type = media_type_of(served_type(info.content_type))
    major = media_type.partition("/")[0]
    kind, badge = _KINDS.get(major) or _APPLICATION_KINDS.get(media_type, _OTHER_KIND)
    previews = _previews(request)
    return {
        "id": info.id,
        "filename": info.filename,
        "size": info.size,
        "size_text": format_size(info.size),
        "sha256": info.sha256,
        "created": created.isoformat(timespec="microseconds"),
        "created_text": created.strftime("%Y-%m-%d %H:%M UTC"),
        "media_type": media_type,
        "kind": kind,
        "badge": badge,
        "thumbnail": previews and media_type in THUMBNAIL_TYPES and info.size <= THUMBNAIL_MAX_SIZE,
        "player": major if previews and major in ("audio", "video") else None,
        "url": request.route_path("file", id=info.id),
        "delete_url": request.route_path("file_delete", id=info.id),
{%- if cookiecutter.access == "accounts" %}
        "share_url": request.route_path("file_share", id=info.id),
{%- endif %}
        "content_type": info.content_type,
    }


def _deleted_message(request: Request) -> str | None:
    """``?deleted=N``, where a Delete button or "Delete selected" sends the page without script."""
    value = request.GET.get("deleted", "")
    count = int(value) if value.isascii() and value.isdigit() and len(value) < 6 else 0
    if not 0 < count <= catalogue.MAX_LIMIT:  # no more can be deleted at once
        return None
    return f"Deleted {count} file{'' if count == 1 else 's'}."


def _stored_message(request: Request) -> str | None:
    names = []
    for file_id in request.GET.get("stored", "").split(",")[:MAX_STORED_SHOWN]:
        record = catalogue.get(request.dbsession, file_id) if file_id else None
        if record is not None{% if cookiecutter.access == "accounts" %} and may_see(request, record){% endif %}:
            names.append(record.filename)
    if not names:
        return None
    return f"Stored {len(names)} file{'s' if len(names) > 1 else ''}: {', '.join(names)}"
