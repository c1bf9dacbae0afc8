"""Waitress as this project runs it: stock waitress with seven wire-level rules added.

The ini files' ``[server:main]`` says ``use = egg:{{ cookiecutter.project_slug }}#main``, which is
:func:`serve` (a ``paste.server_runner``); it takes waitress's options, and
takes its two body limits from the application's own settings (see
:func:`body_limits`), so that each limit is written once, in ``[app:main]``.
Tests start the same server with :func:`create_server`. Where
stock waitress 3 differs from what an upload service needs, these classes
step in, each at the point where waitress has the information:

1. **A refused request is refused at once** (RFC 9110 section 10.1.1). Waitress
   sends ``100 Continue`` even to a request it has already refused from its
   headers (a declared ``Content-Length`` over ``max_request_body_size``),
   then reads the whole body before answering. Here nothing refused is ever
   invited: the answer goes out as soon as the head is read.
2. **Refusals are this project's own answers.** Waitress answers its own
   refusals with a text/plain page. Every refusal made here (and the body
   size limit waitress enforces) goes to the application with an empty body
   and :data:`~{{ cookiecutter.project_slug }}.refusals.REFUSAL_KEY` set, so
   clients get ``{"error": ...}`` or the upload page, as for any other
   refusal (``refusals.py``). Waitress's limit stays on: it is what stops a
   body from being spooled past the limit.
3. **The spool's disk is checked** (507, RFC 4918 section 11.5). Waitress
   spools bodies over ``inbuf_overflow`` into ``tempfile``'s directory, which
   ``main()`` points at ``uploads.temp_path``. A declared length larger than
   that disk's free space is refused before the body is read; a disk that
   fills while the body arrives (a chunked body, or other uploads at the
   same time) is answered 507 too, where waitress closed the connection
   without an answer.
4. **The Host header is checked** (RFC 9112 section 3.2). A request with more
   than one ``Host`` line, or a ``Host`` that is not ``host[:port]`` (RFC 9110
   section 7.2, RFC 3986 section 3.2), is answered 400; so is an HTTP/1.1
   request without one. HTTP/1.0 did not require ``Host``, and RFC 9112 only
   requires the 400 for HTTP/1.1, so HTTP/1.0 requests without it are
   served. This is done here, not in the application, because only the
   server sees the raw header lines (WSGI hands the application repeated
   fields joined by commas) and because here it happens before the body is
   read. Pyramid builds absolute URLs (``Location``, the ``url`` of a stored
   file) from ``Host``; ``refusals.py`` checks its syntax again in the
   application, for servers other than this one.
5. **Ambiguous framing is refused** (RFC 9112 section 6.1). A request with both
   ``Transfer-Encoding`` and ``Content-Length`` may be read differently by a
   proxy in front of this server (request smuggling): it is answered 400 and
   the connection is closed, so nothing sent after it is read as a request.
   So is an HTTP/1.0 request with ``Transfer-Encoding``, which HTTP/1.0 did
   not have.

6. **A tus chunk over its limit is refused from its head** (413). A ``PATCH``
   (or a ``POST`` with ``X-HTTP-Method-Override: PATCH``) declaring more than
   the ``max_patch_body_size`` option (``uploads.tus_max_chunk`` in bytes) is
   answered before its body is spooled, so one resumable chunk never costs
   more than that much of ``temp_path``; the application checks it again.

7. **Waitress's own answers are in this project's form too.** Some requests
   cannot reach the application at all: a head waitress cannot parse (400),
   header fields over ``max_request_header_size`` (431, RFC 6585 section 5),
   a transfer coding other than chunked (501), a malformed chunked body
   (400), and the 500 waitress sends when the application fails before
   answering. :class:`WaitressErrorTask` writes them here: ``{"error": ...}``
   for a client whose ``Accept`` prefers JSON, otherwise a short static page
   with a way back, by the application's rule (``negotiation.prefers_json``).
   The head may be unparsable, so ``Accept`` is taken from what could be
   read of it. (Waitress has no 408: a connection idle past
   ``channel_timeout`` is closed without an answer.)

After any refusal the connection closes. So that the client can read the
answer even while it is still sending a body it was not asked for, the
server first stops sending, then reads and discards what still arrives, for
at most :data:`LINGER_SECONDS`, and closes only then (a "lingering close", as
Apache and nginx do): closing a socket with unread data in it makes the
kernel reset the connection, which can destroy the answer before it is read.
"""

import contextlib
import errno
import html
import json
import logging
import os
import re
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Mapping
from io import BytesIO
from pathlib import Path

from pyramid.paster import get_appsettings
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError, TransferEncodingNotImplemented
from waitress.server import BaseWSGIServer
from waitress.server import create_server as create_waitress_server
from waitress.task import ErrorTask, WSGITask
from waitress.utilities import BadRequest as WaitressBadRequest
from waitress.utilities import Error as WaitressError
from waitress.utilities import (
    InternalServerError,
    RequestEntityTooLarge,
    RequestHeaderFieldsTooLarge,
    ServerNotImplemented,
)

from .errors import BadRequest, OutOfSpace, TooLarge, UploadRejected
from .negotiation import prefers_json
from .refusals import INVALID_HOST, REFUSAL_KEY, valid_host
from .settings import SettingsError, UploadSettings, load
from .sizes import format_size

# Options of ours that create_server() takes beside waitress's own.
OWN_OPTIONS = ("max_patch_body_size",)
# The body limits of [server:main] (in bytes) and the uploads.* setting each one is.
BODY_LIMITS = {"max_request_body_size": "max_size", "max_patch_body_size": "tus_max_chunk"}
# How long a refused connection keeps reading (and discarding) what the
# client still sends before it closes (nginx's ``lingering_time``).
LINGER_SECONDS = 30


class UploadRequestParser(HTTPRequestParser):
    """Waitress's request parser, refusing what ``server.py`` lists, as soon as it can.

    ``refusal`` is the :class:`~{{ cookiecutter.project_slug }}.errors.UploadRejected`
    the request is answered with, or ``None``.
    """

    refusal: UploadRejected | None = None
    host_lines = 0
    # The head as received, kept only for a request waitress refuses, to
    # find its Accept field when the head could not be parsed (rule 7).
    raw_head = b""
    max_patch_body_size: int | None = None  # rule 6; set per server by create_server()

    def parse_header(self, header_plus: bytes) -> None:
        # Waitress joins repeated fields into one value; count Host's lines first.
        lines = header_plus.split(b"\r\n")[1:]
        self.host_lines = sum(1 for line in lines if line.partition(b":")[0].lower() == b"host")
        try:
            super().parse_header(header_plus)
        except (ParsingError, TransferEncodingNotImplemented):
            self.raw_head = header_plus + b"\r\n"  # every line of it complete
            raise

    def received(self, data: bytes) -> int:
        """Take ``data`` from the socket; the number of bytes consumed (see waitress)."""
        if self.completed:
            return 0
        had_head = self.headers_finished
        try:
            consumed = super().received(data)
        except OSError as error:
            # Writing the body to waitress's spool file failed.
            if error.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            refusal = OutOfSpace("The server has no space left to receive this upload")
            refusal.__cause__ = error
            self.refuse(refusal)
            return len(data)
        if isinstance(self.error, RequestHeaderFieldsTooLarge) and not had_head:
            # Waitress stopped reading the head at its limit, unparsed; its
            # last line may be cut short (so it is not completed here).
            self.raw_head = self.header_plus + data[:consumed]
        refusal = None
        too_large = isinstance(self.error, RequestEntityTooLarge)
        if self.headers_finished and not had_head and not self.empty and (self.error is None or too_large):
            refusal = self._check_head()
        if refusal is None and too_large:
            # Waitress refuses a body of exactly ``max_request_body_size``
            # (it tests ``>=``); create_server() passed the limit plus one.
            limit = format_size(self.adj.max_request_body_size - 1)
            refusal = TooLarge(f"The upload is larger than the limit of {limit} (uploads.max_size)")
        declared = self.content_length if self.headers_finished and not had_head else 0
        if refusal is None and self.error is None and declared and declared > _free_space():
            size = format_size(self.content_length)
            refusal = OutOfSpace(f"The server has no space left for an upload of {size}")
        if refusal is None:
            return consumed
        self.refuse(refusal)
        return len(data)  # the rest is body: never read as a request

    def refuse(self, refusal: UploadRejected) -> None:
        """Answer this request with ``refusal``, now, and drop what was received of its body."""
        self.refusal = self.error = refusal
        self.completed = True
        self.expect_continue = False  # never invite a body that is refused
        body = self.body_rcv
        self.body_rcv = None
        if body is not None:
            # Closing a spool file whose last write failed can fail again.
            with contextlib.suppress(OSError):
                body.getbuf().close()

    def _check_head(self) -> UploadRejected | None:
        """The 400 a request's head deserves, if any (rules 4 and 5 above)."""
        headers = self.headers
        if self.host_lines > 1:
            return BadRequest("A request must have one Host header, not several (RFC 9112 section 3.2)")
        host = headers.get("HOST")
        if host is None and self.version >= "1.1":
            return BadRequest("An HTTP/1.1 request must have a Host header (RFC 9112 section 3.2)")
        if host is not None and not valid_host(host):
            return BadRequest(INVALID_HOST)
        limit = self.max_patch_body_size
        patch = self.command == "PATCH" or headers.get("X_HTTP_METHOD_OVERRIDE", "").upper() == "PATCH"
        if limit is not None and patch and self.content_length > limit:
            return TooLarge(f"A PATCH body may be at most {format_size(limit)} (uploads.tus_max_chunk)")
        if self.chunked and "CONTENT_LENGTH" in headers:
            return BadRequest("A request must not have both Transfer-Encoding and Content-Length (RFC 9112 6.1)")
        if "TRANSFER_ENCODING" in headers:  # waitress leaves it only in HTTP/1.0 requests
            return BadRequest("An HTTP/1.0 request cannot use Transfer-Encoding (RFC 9112 section 6.1)")
        return None


def _free_space() -> float:
    """Bytes free on the disk of waitress's spool (``tempfile``'s directory, i.e. ``temp_path``)."""
    try:
        return shutil.disk_usage(tempfile.gettempdir()).free
    except OSError:
        return float("inf")  # let the upload find out, and answer 507 if it must


class RefusalTask(WSGITask):
    """Answer a refused request through the application, which renders the refusal."""

    def execute(self) -> None:
        self.set_close_on_finish()  # sends "Connection: close" with the answer
        super().execute()

    def get_environment(self) -> dict[str, object]:
        environ = super().get_environment()
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ.update({"CONTENT_LENGTH": "0", "wsgi.input": BytesIO(), REFUSAL_KEY: self.request.refusal})
        return environ


# The page a browser gets for an answer written without the application
# (rule 7): static, no script or style sheet, the message escaped.
_ERROR_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{status}</title></head>
<body><main><h1>{status}</h1><p role="alert">{message}</p><p><a href="/">Back to the uploads</a></p></main></body>
</html>
"""
# The security headers the application gives every response (security.py),
# with a policy that allows nothing: the page needs nothing.
_ERROR_HEADERS = [
    ("Content-Security-Policy", "default-src 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cache-Control", "no-store"),
]
# An Accept field line in a raw head (RFC 9112 section 5: name, colon, optional whitespace, value).
_ACCEPT_LINE = re.compile(rb"^accept[ \t]*:[ \t]*([^\r\n]*)\r?\n", re.IGNORECASE | re.MULTILINE)


def waitress_error_message(error: WaitressError, max_request_header_size: int) -> str:
    """The sentence for one of waitress's own refusals (``waitress.utilities.Error``), for people."""
    if isinstance(error, RequestHeaderFieldsTooLarge):
        limit = format_size(max_request_header_size)
        return f"The request line and header fields are larger than the limit of {limit} (RFC 6585 section 5)"
    if isinstance(error, ServerNotImplemented):
        return "The request's Transfer-Encoding is not supported: only chunked is (RFC 9112 section 6.1)"
    if isinstance(error, InternalServerError):
        return "The server failed while answering this request"
    # Waitress's reason: "Invalid header", "Invalid chunk size", or a quoted
    # header line, which could be long (up to the head's limit).
    reason = error.body if len(error.body) <= 200 else error.body[:200] + "..."
    if isinstance(error, WaitressBadRequest):
        return f"The request is not valid HTTP/1.1 ({reason}; RFC 9112)"
    return f"The request was refused ({reason})"


def accept_of(request: HTTPRequestParser) -> str | None:
    """The request's ``Accept`` value: parsed if waitress got that far, else found in the raw head, else ``None``."""
    accept = request.headers.get("ACCEPT")
    if accept is None and (match := _ACCEPT_LINE.search(getattr(request, "raw_head", b""))):
        accept = match[1].decode("latin-1").strip()
    return accept


class WaitressErrorTask(ErrorTask):
    """Waitress's own error answers (rule 7), as ``{"error": ...}`` or the short page."""

    accept: str | None = None  # the Accept value to answer by; set by _error_task

    def execute(self) -> None:
        error = self.request.error
        status = f"{error.code} {error.reason}"
        message = waitress_error_message(error, self.channel.server.adj.max_request_header_size)
        if prefers_json(self.accept):
            content_type = "application/json"
            body = json.dumps({"error": message}).encode("utf-8")
        else:
            content_type = "text/html; charset=utf-8"
            body = _ERROR_PAGE.format(status=html.escape(status), message=html.escape(message)).encode("utf-8")
        self.status = status
        self.response_headers.extend([("Content-Type", content_type), *_ERROR_HEADERS])
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


def _error_task(channel: HTTPChannel, request: HTTPRequestParser) -> WSGITask | ErrorTask:
    if getattr(request, "refusal", None) is not None:
        return RefusalTask(channel, request)
    task = WaitressErrorTask(channel, request)
    task.accept = accept_of(request)
    if task.accept is None and channel.requests and channel.requests[0] is not request:
        # Waitress's 500 comes with a request of its own, made from nothing
        # of the failed one but its version; the failed one is still first.
        task.accept = accept_of(channel.requests[0])
    return task


class UploadChannel(HTTPChannel):
    """One client connection: waitress's, with the parser above and a lingering close."""

    parser_class = UploadRequestParser
    error_task_class = staticmethod(_error_task)
    refused = False  # a request on this connection was refused: close after answering
    lingering = False
    linger_until = 0.0

    def received(self, data: bytes) -> bool:
        if self.lingering:
            return True  # discarded
        result = super().received(data)
        with self.requests_lock:
            if any(request.error for request in self.requests):
                self.refused = True
        return result

    def readable(self) -> bool:
        return self.lingering or super().readable()

    def handle_read(self) -> None:
        if self.lingering and time.monotonic() > self.linger_until:
            super().handle_close()
            return
        super().handle_read()

    def handle_close(self) -> None:
        if self.refused and not self.lingering and not self.total_outbufs_len and self.socket is not None:
            # The answer is sent: stop sending, then read until the client is done.
            try:
                self.socket.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            else:
                self.lingering = True
                self.will_close = self.close_when_flushed = False
                self.linger_until = time.monotonic() + LINGER_SECONDS
                return
        super().handle_close()


def create_server(application: object, **options: object) -> BaseWSGIServer:
    """A waitress server for ``application`` with this module's rules; ``options`` are waitress's.

    Like ``waitress.create_server``, it only binds: call ``run()`` on the result.
    """
    if "max_request_body_size" in options:
        # Waitress refuses a body of exactly its limit; ours is the largest body accepted.
        options["max_request_body_size"] = int(options["max_request_body_size"]) + 1
    channel_class = UploadChannel
    if options.get("max_patch_body_size") is not None:
        limited = {"max_patch_body_size": int(options.pop("max_patch_body_size"))}
        parser_class = type("UploadRequestParser", (UploadRequestParser,), limited)
        channel_class = type("UploadChannel", (UploadChannel,), {"parser_class": parser_class})
    options.pop("max_patch_body_size", None)
    listeners: dict[int, object] = {}
    server = create_waitress_server(application, map=listeners, **options)
    for listener in listeners.values():
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = channel_class
    return server


def body_limits(settings: UploadSettings, options: Mapping[str, str]) -> dict[str, str]:
    """``options`` (``[server:main]``'s) with its body limits taken from ``settings``.

    ``max_request_body_size`` is ``uploads.max_size`` and ``max_patch_body_size``
    is ``uploads.tus_max_chunk``, in bytes. An ini file need not give them;
    one it gives must be that number. Raises :class:`~{{ cookiecutter.project_slug }}.settings.SettingsError`
    naming both, with their values, when it is not.
    """
    limited = dict(options)
    for option, name in BODY_LIMITS.items():
        limit = getattr(settings, name)
        given = str(limited.setdefault(option, str(limit))).strip()
        if given != str(limit):
            raise SettingsError(
                f"[server:main] {option} = {given} disagrees with [app:main] uploads.{name}"
                f" = {format_size(limit)} ({limit} bytes): remove {option}, it is taken from uploads.{name}"
            )
    return limited


def app_settings(global_conf: Mapping[str, str], name: str = "main") -> UploadSettings | None:
    """The ``uploads.*`` settings of the ini file ``pserve`` is running (``global_conf["__file__"]``).

    ``None`` when ``global_conf`` names no file (:func:`serve` called from
    Python). ``[app:main]`` may be a pipeline (development.ini's request
    log): ``get_appsettings`` finds the application's section through it.
    """
    path = global_conf.get("__file__")
    if not path:
        return None
    # pserve's command-line variables (http_port=...) are in global_conf too.
    variables = {key: value for key, value in global_conf.items() if key not in ("__file__", "here")}
    settings = get_appsettings(path, name=name, options=variables)
    return load(settings, Path(global_conf.get("here", Path(path).parent)))


def serve(app: object, global_conf: dict[str, str], **options: str) -> int:
    """Run ``app`` until interrupted: the ``paste.server_runner`` that ``pserve`` calls.

    Exits with status 1 and one line on standard error naming the settings when ``[server:main]``
    gives a body limit that disagrees with ``[app:main]`` (:func:`body_limits`).
    """
    logging.basicConfig()  # as waitress does; a no-op once the ini's logging is set up
    settings = app_settings(global_conf)
    if settings is not None:
        try:
            options = body_limits(settings, options)
        except SettingsError as error:
            # pserve turns a SystemExit raised here into "Exiting ..." and a
            # status of 0 (pyramid/scripts/pserve.py), so the runner exits
            # itself, with one line and a status that says it failed.
            print(f"{global_conf['__file__']}: {error}", file=sys.stderr, flush=True)
            sys.stdout.flush()
            logging.shutdown()
            os._exit(1)
    server = create_server(app, **options)
    server.print_listen("Serving on http://{}:{}")
    server.run()
    return 0
