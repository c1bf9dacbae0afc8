"""Build multipart bodies by hand, byte for byte, including broken ones.

Client libraries only produce well-formed bodies; the hostile-input tests need
exact control over every header, delimiter and byte, so they use these.
"""

import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

BOUNDARY = "hostile-test-boundary-3f9a"


def content_type(boundary: str = BOUNDARY) -> str:
    return f"multipart/form-data; boundary={boundary}"


def part(disposition: str, data: bytes = b"", headers: Sequence[str] = ()) -> bytes:
    """One part: its headers (UTF-8, as browsers send them), a blank line, its bytes."""
    lines = [f"Content-Disposition: {disposition}", *headers]
    return "\r\n".join(lines).encode("utf-8") + b"\r\n\r\n" + data


def file_part(data: bytes, filename: str = "a.bin", name: str = "file", headers: Sequence[str] = ()) -> bytes:
    return part(
        f'form-data; name="{name}"; filename="{filename}"', data, ["Content-Type: application/octet-stream", *headers]
    )


def field_part(name: str, value: str | bytes) -> bytes:
    return part(f'form-data; name="{name}"', value.encode("utf-8") if isinstance(value, str) else value)


def body(*parts: bytes, boundary: str = BOUNDARY, close: bool = True) -> bytes:
    """``parts`` between delimiters, with the closing delimiter unless ``close=False``."""
    delimiter = b"--" + boundary.encode("ascii")
    out = b"".join(delimiter + b"\r\n" + each + b"\r\n" for each in parts)
    return out + delimiter + b"--\r\n" if close else out


@dataclass
class RawResponse:
    status: int
    headers: str
    body: bytes


def raw_request(url: str, request: bytes, *, shutdown: bool = True, timeout: float = 30) -> RawResponse:
    """Send ``request`` exactly as given to the server at ``url`` and read its answer.

    ``requests`` refuses to send malformed requests (negative lengths,
    unnormalised paths), so these go over a plain socket. With ``shutdown``
    the client then closes its sending side, as a client that gave up would.
    """
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        if shutdown:
            sock.shutdown(socket.SHUT_WR)
        received = bytearray()
        while chunk := sock.recv(65536):
            received += chunk
    if not received:
        return RawResponse(0, "", b"")
    head, _, payload = bytes(received).partition(b"\r\n\r\n")
    return RawResponse(int(head.split()[1]), head.decode("latin-1"), payload)


def everything_under(*directories: Path) -> list[Path]:
    """Every file and directory below ``directories``: what an upload left behind."""
    return sorted(path for directory in directories if directory.exists() for path in directory.rglob("*"))
