"""URL dispatch: the page, the collection of files, each file, and the site icon."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.add_static_view("static", "static", cache_max_age=3600)
    config.add_route("home", "/")
    # Browsers ask for /favicon.ico on pages that name no icon (a JSON answer,
    # a download); the pages themselves link static/favicon.svg.
    config.add_route("favicon", "/favicon.ico")
    config.add_route("files", "/files")
    config.add_route("file", "/files/{id}")
    config.add_route("file_delete", "/files/{id}/delete")
    # tus 1.0 resumable uploads (views/tus.py).
    config.add_route("tus_collection", "/uploads/")
    config.add_route("tus_upload", "/uploads/{upload_id}")
