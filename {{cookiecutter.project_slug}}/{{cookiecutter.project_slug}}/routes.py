"""URL dispatch: the page, the collection of files, and each file."""

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.add_static_view("static", "static", cache_max_age=3600)
    config.add_route("home", "/")
    config.add_route("files", "/files")
    config.add_route("file", "/files/{id}")
    config.add_route("file_delete", "/files/{id}/delete")
