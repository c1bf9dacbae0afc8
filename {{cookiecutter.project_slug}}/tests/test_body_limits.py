"""The body limits are written once, in ``[app:main]``: ``pserve`` takes them from there, or refuses to start.

``serve()`` (the ``[server:main]`` runner) gives waitress ``uploads.max_size``
and ``uploads.tus_max_chunk`` in bytes as its body limits. An ini file that
still gives a limit of its own, different from the setting, stops ``pserve``
at once with one line naming both, instead of serving with a limit the page
and the error messages do not tell.
"""

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from .bodies import raw_request
from .helpers import PserveServer, write_ini

# How long pserve may take to start and stop; a safety net, not a pace.
PATIENCE = 60


def pserve_command() -> list[str]:
    """The ``pserve`` of this environment."""
    script = Path(sys.executable).with_name("pserve")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pyramid.scripts.pserve"]


@pytest.mark.parametrize(
    ("option", "setting", "value", "message"),
    [
        (
            "max_request_body_size",
            "max_size",
            "8GB",
            "[server:main] max_request_body_size = 4294967296 disagrees with [app:main] uploads.max_size"
            " = 8 GiB (8589934592 bytes): remove max_request_body_size, it is taken from uploads.max_size",
        ),
        (
            "max_patch_body_size",
            "tus_max_chunk",
            "16MB",
            "[server:main] max_patch_body_size = 4294967296 disagrees with [app:main] uploads.tus_max_chunk"
            " = 16 MiB (16777216 bytes): remove max_patch_body_size, it is taken from uploads.tus_max_chunk",
        ),
    ],
)
def test_pserve_refuses_to_start_when_a_server_body_limit_disagrees_with_its_setting(
    tmp_path: Path, database_url: str, option: str, setting: str, value: str, message: str
):
    ini = write_ini(tmp_path / "mismatched.ini", database_url, **{setting: value})
    text = ini.read_text(encoding="utf-8")
    text = text.replace("[server:main]\n", f"[server:main]\n{option} = 4294967296\n", 1)
    ini.write_text(re.sub(r"(?m)^listen *=.*$", "listen = 127.0.0.1:0", text), encoding="utf-8")
    result = subprocess.run(
        [*pserve_command(), str(ini)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=PATIENCE
    )
    assert result.returncode == 1
    # Ours is the last line, whole; before it only what the ini's logging
    # prints as the app starts (pserve's "Starting server", a renderer's
    # INFO lines): no traceback, no warning.
    *before, last = result.stderr.splitlines()
    assert last == f"{ini}: {message}"
    assert not [line for line in before if "Traceback" in line or "Warning" in line], result.stderr


def test_pserve_refuses_a_body_over_uploads_max_size_from_its_head(pserve: Callable[..., PserveServer]):
    server = pserve(max_size="1MB")
    head = (
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 1048577\r\nExpect: 100-continue\r\n\r\n"
    )
    answer = raw_request(server.url, head.encode("ascii"), timeout=PATIENCE)
    assert answer.status == 413
    assert "100 Continue" not in answer.headers
    assert json.loads(answer.body)["error"] == "The upload is larger than the limit of 1 MiB (uploads.max_size)."
