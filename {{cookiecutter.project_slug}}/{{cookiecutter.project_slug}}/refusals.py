"""Answers for requests the server refused before the application read them.

Some requests are refused by the server from their head alone, before a
byte of the body is read: a declared length over the limit, a missing or
invalid ``Host``, conflicting framing, no room left in ``temp_path``
(``server.py`` explains each rule). Their answer must still be this
project's own error (``{"error": ...}`` for JSON clients, the page for
browsers), so the server hands the refusal to the application in the WSGI
environ under :data:`REFUSAL_KEY`, with an empty body, and the tween below
raises it, for the error views to render like any other refusal.

The tween also checks the syntax of the ``Host`` header, which Pyramid
builds absolute URLs from (``Location``, the ``url`` of a stored file):
``server.py`` refuses a bad one before the body is read, but the application
may run under another server. Nothing here depends on waitress: any server
may set the key.
"""

import ipaddress
import re
from collections.abc import Callable

from pyramid.config import Configurator
from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response
from pyramid.tweens import MAIN

from .errors import BadRequest

# The environ key under which a server passes an ``errors.UploadRejected``.
REFUSAL_KEY = "{{ cookiecutter.project_slug }}.refusal"
INVALID_HOST = "The Host header must be one host name or address, with an optional port (RFC 9110 section 7.2)"

# RFC 3986 section 3.2.2: host = IP-literal / IPv4address / reg-name, and
# section 3.2.3: port = *DIGIT. An IPv4 address is also a valid reg-name.
_REG_NAME = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*"
_HOST_PORT = re.compile(rf"(?:\[(?P<literal>[^\[\]]*)\]|{_REG_NAME})(?::[0-9]*)?")
_IP_FUTURE = re.compile(r"v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+")


def valid_host(value: str) -> bool:
    """Whether ``value`` is a ``Host`` field value: ``uri-host [":" port]`` (RFC 9110 section 7.2).

    The empty value is valid (a request target without an authority).
    """
    match = _HOST_PORT.fullmatch(value)
    if match is None:
        return False
    literal = match["literal"]
    if literal is None:
        return True
    if _IP_FUTURE.fullmatch(literal):
        return True
    try:
        ipaddress.IPv6Address(literal)
    except ValueError:
        return False
    return True


def refusal_tween_factory(handler: Callable[[Request], Response], registry: Registry) -> Callable[[Request], Response]:
    """Raise the server's refusal, if there is one, or refuse a bad ``Host``, instead of running a view."""

    def refusal_tween(request: Request) -> Response:
        refusal = request.environ.get(REFUSAL_KEY)
        if refusal is not None:
            raise refusal
        # A repeated Host reaches WSGI joined with commas and a space: invalid too.
        if not valid_host(request.environ.get("HTTP_HOST", "")):
            raise BadRequest(INVALID_HOST)
        return handler(request)

    return refusal_tween


def includeme(config: Configurator) -> None:
    # Under the exception view tween (``over=MAIN``), so that the raised
    # refusal is rendered by ``views.errors.rejected``.
    config.add_tween("{{ cookiecutter.project_slug }}.refusals.refusal_tween_factory", over=MAIN)
