"""Helpers for the wire-level tests: the server as ``pserve`` runs it, with chosen limits.

``served`` starts the app under ``server.py``'s waitress with ``uploads.max_size``
and waitress's ``max_request_body_size`` equal (as the ini files keep them),
and every extension and type accepted, whatever answers the project was made
with. ``head`` writes a request head byte for byte.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from .helpers import LiveServer, server_options, serving


@contextmanager
def served(app_settings: dict[str, str], *, max_size: int, **uploads: str) -> Iterator[LiveServer]:
    """The app under ``server.py`` on a loopback port; ``uploads`` are more ``uploads.*`` settings."""
    settings = {
        **app_settings,
        "uploads.max_size": str(max_size),
        "uploads.chunk_size": "16KB",
        "uploads.allowed_extensions": "",
        "uploads.allowed_types": "",
        **{f"uploads.{name}": value for name, value in uploads.items()},
    }
    with serving(settings, {**server_options(), "max_request_body_size": str(max_size)}) as live:
        yield live


def head(request_line: str, *fields: str) -> bytes:
    """A request head: the request line, ``fields`` ("Name: value"), the empty line."""
    return "".join(f"{line}\r\n" for line in (request_line, *fields, "")).encode("latin-1")
