"""Helpers for the wire-level tests: the server as ``pserve`` runs it, with chosen limits.

``served`` starts the app under ``server.py``'s waitress with ``uploads.max_size``
and waitress's ``max_request_body_size`` equal (as the ini files keep them),
and every extension and type accepted, whatever answers the project was made
with. ``head`` writes a request head byte for byte.
"""

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from {{ cookiecutter.project_slug }} import main

from .helpers import (
{%- if cookiecutter.access == "accounts" %}
    ACCOUNT,
{%- endif %}
    PROJECT,
    TESTING_INI,
    LiveServer,
{%- if cookiecutter.access == "accounts" %}
    SignedIn,
{%- endif %}
    server_options,
    start_waitress,
)


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
    saved = tempfile.tempdir  # main() points tempfile at temp_path; give it back
    app = main({"here": str(PROJECT), "__file__": str(TESTING_INI)}, **settings)
{%- if cookiecutter.access == "accounts" %}
    app = SignedIn(app, *ACCOUNT)  # requests without credentials of their own speak as the tests' account
{%- endif %}
    options = {**server_options(), "max_request_body_size": str(max_size)}
    server = start_waitress(app, options)
    try:
        yield LiveServer(
            server.url,
            Path(settings["uploads.storage_path"]),
            Path(settings["uploads.temp_path"]),
        )
    finally:
        server.stop()
        tempfile.tempdir = saved


def head(request_line: str, *fields: str) -> bytes:
    """A request head: the request line, ``fields`` ("Name: value"), the empty line."""
    return "".join(f"{line}\r\n" for line in (request_line, *fields, "")).encode("latin-1")
