"""The reference the generated project is measured against: uploads done the seed page's way.

The Pyramid documentation's recipe for file uploads reads the file from
``request.POST`` and copies it to disk::

    input_file = request.POST["file"].file
    input_file.seek(0)
    with open(temp_file_path, "wb") as output_file:
        shutil.copyfileobj(input_file, output_file)
    os.rename(temp_file_path, file_path)

``request.POST`` hands the body to ``cgi.FieldStorage``, which parses it line
by line in Python and writes the file part to yet another temp file before
the view sees a byte. This module serves exactly that view under waitress
with the ``[server:main]`` settings of the benchmark's ini file, so the two
servers differ only in the application. :mod:`upload` starts it with the
baked project's interpreter (which has Pyramid and waitress)::

    python seed_app.py BENCH_INI STORAGE_DIR TEMP_DIR
"""

import configparser
import json
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import waitress
from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response


def make_app(storage: Path) -> object:
    """A WSGI app with one view, ``POST /upload``, that stores the ``file`` field."""

    def upload(request: Request) -> Response:
        input_file = request.POST["file"].file
        file_path = storage / uuid.uuid4().hex
        temp_file_path = file_path.with_name(file_path.name + "~")
        input_file.seek(0)
        with open(temp_file_path, "wb") as output_file:
            shutil.copyfileobj(input_file, output_file)
        os.rename(temp_file_path, file_path)
        return Response(json_body={"path": str(file_path)})

    with Configurator() as config:
        config.add_route("upload", "/upload")
        config.add_view(upload, route_name="upload", request_method="POST")
    return config.make_wsgi_app()


def server_settings(ini: Path) -> dict[str, str]:
    """The ``[server:main]`` options of ``ini``, as ``waitress.serve`` keywords."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ini)
    return {key: value for key, value in parser["server:main"].items() if key != "use"}


def main() -> None:
    ini, storage, temp = (Path(arg) for arg in sys.argv[1:4])
    # Like the generated project: waitress's spool (and here cgi's temp file)
    # lands in the benchmark's temp directory, on the same filesystem.
    tempfile.tempdir = str(temp)
    settings = server_settings(ini)
    print(json.dumps({"seed_app": settings}), flush=True)
    waitress.serve(make_app(storage), **settings)


if __name__ == "__main__":
    main()
