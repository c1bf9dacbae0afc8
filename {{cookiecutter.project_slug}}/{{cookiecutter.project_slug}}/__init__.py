"""A Pyramid application that receives, stores and serves uploaded files."""

import tempfile
from pathlib import Path

from pyramid.config import Configurator
from pyramid.csrf import CookieCSRFStoragePolicy
from pyramid.events import NewResponse

from .memory import keep_memory_flat
from .security import add_security_headers
from .settings import load
from .storage import BACKENDS

PROJECT_NAME = {{ cookiecutter.project_name | py_str }}


def main(global_config: dict[str, str], **settings: str) -> object:
    """Build the WSGI application; ``pserve`` calls this with the ini file's settings."""
    uploads = load(settings, Path(global_config.get("here", ".")))
    keep_memory_flat()  # large buffers go back to the system when freed (memory.py)

    # Waitress spools request bodies larger than ``inbuf_overflow`` into an
    # anonymous temp file in tempfile's default directory. Point that at our
    # temp_path, so no byte of an upload ever lands outside the configured
    # paths (and the spool sits on the same disk as the files it becomes).
    tempfile.tempdir = str(uploads.temp_path)

    storage = BACKENDS[uploads.storage](
        uploads.storage_path,
        uploads.temp_path,
        fsync=uploads.fsync,
        file_mode=uploads.file_mode,
        dir_mode=uploads.dir_mode,
    )
    storage.recover()

    with Configurator(settings=settings) as config:
        config.include("{{ cookiecutter.__renderer_package }}")
        config.set_csrf_storage_policy(CookieCSRFStoragePolicy(httponly=True, samesite="Strict"))
        config.add_request_method(lambda request: uploads, "uploads", reify=True)
        config.add_request_method(lambda request: storage, "storage", reify=True)
        config.add_subscriber(add_security_headers, NewResponse)
        config.include(".refusals")  # answers for requests the server refused (server.py)
        config.include(".routes")
        config.scan()
    return config.make_wsgi_app()
