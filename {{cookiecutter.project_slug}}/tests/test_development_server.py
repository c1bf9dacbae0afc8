"""What `pserve development.ini` gives a developer: a request log, the site icon, a port to choose.

The log and port tests start the real ``pserve`` on a copy of
development.ini whose paths are moved under ``tmp_path`` and read what it
writes to its standard error, line by line, as it writes it.
"""

import queue
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import webtest
from paste.deploy.loadwsgi import SERVER, loadcontext

PROJECT = Path(__file__).resolve().parent.parent
DEVELOPMENT_INI = PROJECT / "development.ini"
# How long to wait for a line that must come; a safety net, not a pace.
PATIENCE = 60
# TransLogger's line: the Apache "combined" format.
REQUEST_LINE = re.compile(
    r'^\S+ - \S+ \[[^]]+\] "(?P<request>[A-Z]+ \S+ HTTP/1\.[01])" (?P<status>\d{3}) (?P<bytes>\d+|-) '
)


def test_favicon_ico_answers_the_site_icon_as_an_image(testapp: webtest.TestApp):
    response = testapp.get("/favicon.ico")
    assert response.status_int == 200
    assert response.content_type == "image/svg+xml"
    assert response.body.lstrip().startswith(b"<svg")


def test_the_page_links_the_icon_and_the_link_answers_an_image(testapp: webtest.TestApp):
    href = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', testapp.get("/").text).group(1)
    icon = testapp.get(href)
    assert icon.content_type == "image/svg+xml"
    assert icon.body == testapp.get("/favicon.ico").body


def test_error_pages_link_the_icon_too(testapp: webtest.TestApp):
    assert '<link rel="icon"' in testapp.get("/no/such/page", status=404).text


def test_development_ini_serves_on_port_6543_unless_told_otherwise():
    server = loadcontext(SERVER, f"config:{DEVELOPMENT_INI}")
    assert (server.local_conf["host"], server.local_conf["port"]) == ("localhost", "6543")
    other = loadcontext(SERVER, f"config:{DEVELOPMENT_INI}", global_conf={"http_port": "8080"})
    assert other.local_conf["port"] == "8080"


@dataclass
class Pserve:
    url: str
    lines: "queue.Queue[str]"

    def next_request_line(self) -> str:
        """The next line of the request log (other log lines are skipped)."""
        while True:
            line = self.lines.get(timeout=PATIENCE)
            if REQUEST_LINE.match(line):
                return line


@pytest.fixture
def development_pserve(tmp_path: Path, database_url: str) -> Iterator[Pserve]:
    """``pserve development.ini http_port=0``, on a copy with the test's catalogue and uploads under ``tmp_path``."""
    text = DEVELOPMENT_INI.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^sqlalchemy\.url *=.*$", lambda _: f"sqlalchemy.url = {database_url}", text)
    for name in ("storage_path", "temp_path"):
        value = str(tmp_path / name)
        text = re.sub(rf"(?m)^uploads\.{name} *=.*$", lambda _, n=name, v=value: f"uploads.{n} = {v}", text)
    ini = tmp_path / "development.ini"
    ini.write_text(text, encoding="utf-8")
    pserve_script = Path(sys.executable).with_name("pserve")
    pserve = [str(pserve_script)] if pserve_script.exists() else [sys.executable, "-m", "pyramid.scripts.pserve"]
    # http_port=0: any free port (the log line "Serving on ..." says which).
    process = subprocess.Popen(
        [*pserve, str(ini), "http_port=0"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    lines: queue.Queue[str] = queue.Queue()

    def drain() -> None:  # keep reading, or the server would block on a full pipe
        for line in process.stderr:
            lines.put(line.rstrip("\n"))
        lines.put("")  # end of output: the server exited

    threading.Thread(target=drain, daemon=True).start()
    try:
        url = None
        while url is None:
            line = lines.get(timeout=PATIENCE)
            if not line:
                pytest.fail(f"pserve exited {process.wait()} before serving")
            if match := re.search(r"Serving on (http://\S+)", line):
                url = match.group(1)
        yield Pserve(url, lines)
    finally:
        process.kill()
        process.wait(timeout=PATIENCE)


def test_development_server_logs_one_line_per_request(development_pserve: Pserve):
    for path, status in (("/{% if cookiecutter.access == "accounts" %}signin{% endif %}", 200), ("/favicon.ico", 200), ("/no/such/page", 404)):
        response = requests.get(development_pserve.url + path, timeout=PATIENCE)
        assert response.status_code == status
        line = REQUEST_LINE.match(development_pserve.next_request_line())
        assert line["request"] == f"GET {path} HTTP/1.1"
        assert line["status"] == str(status)
        assert line["bytes"] == str(len(response.content))
