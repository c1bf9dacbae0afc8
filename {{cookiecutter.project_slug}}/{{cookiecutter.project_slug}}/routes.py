"""URL dispatch: the page, the collection of files, each file, and the site icon{% if cookiecutter.access == "accounts" %}; accounts{% endif %}."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.add_static_view("static", "static", cache_max_age=3600)
    config.add_route("home", "/")
    # Browsers ask for /favicon.ico on pages that name no icon (a JSON answer,
    # a download); the pages themselves link static/favicon.svg.
    config.add_route("favicon", "/favicon.ico")
    config.add_route("files", "/files")
    # Before "file": otherwise /files/delete would match it with id "delete".
    config.add_route("files_delete", "/files/delete")
    config.add_route("file", "/files/{id}")
    config.add_route("file_delete", "/files/{id}/delete")
    # tus 1.0 resumable uploads (views/tus.py).
    config.add_route("tus_collection", "/uploads/")
    config.add_route("tus_upload", "/uploads/{upload_id}")
{%- if cookiecutter.access == "accounts" %}
    # Accounts (views/accounts.py): signing in and out, API tokens, share links.
    config.add_route("signin", "/signin")
    config.add_route("signout", "/signout")
    config.add_route("account", "/account")
    config.add_route("tokens", "/account/tokens")
    config.add_route("token_revoke", "/account/tokens/{id}/revoke")
    config.add_route("file_share", "/files/{id}/share")
    config.add_route("share_revoke", "/account/links/{id}/revoke")
    config.add_route("shared", "/s/{secret}")
{%- endif %}
