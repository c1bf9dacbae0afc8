"""A Pyramid application that receives, stores and serves uploaded files."""

from pathlib import Path

from pyramid.config import Configurator
from pyramid.csrf import CookieCSRFStoragePolicy
from pyramid.events import NewResponse

from .security import add_security_headers
from .settings import load

PROJECT_NAME = {{ cookiecutter.project_name | py_str }}


def main(global_config: dict[str, str], **settings: str) -> object:
    """Build the WSGI application; ``pserve`` calls this with the ini file's settings."""
    with Configurator(settings=settings) as config:
        # The uploads.* settings, checked now: a bad one stops the server here.
        config.registry["upload_settings"] = load(settings, Path(global_config.get("here", ".")))
        config.include("{{ cookiecutter.__renderer_package }}")
        config.include(".memory")  # large buffers go back to the system when freed
        config.include(".receiving")  # request.upload_settings; bodies spool under temp_path
        config.include(".models")  # the catalogue: request.dbsession, one transaction per request
        config.include(".storage")  # the backend named by uploads.storage: request.storage
        config.include(".cleaning")  # old records imported, unrecorded bytes removed
        config.include(".resumable")  # tus uploads: request.resumable; expired ones removed
        config.set_csrf_storage_policy(CookieCSRFStoragePolicy(httponly=True, samesite="Strict"))
{%- if cookiecutter.access == "accounts" %}
        config.include(".policy")  # who is asking (session or API token) and what they may do
{%- endif %}
        config.add_subscriber(add_security_headers, NewResponse)
        config.include(".refusals")  # answers for requests the server refused (server.py)
        config.include(".routes")
        config.scan()
    return config.make_wsgi_app()
