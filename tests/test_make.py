"""What a new user meets first: the Makefile's commands and the messages after a bake.

- a plain cookiecutter run ends with the commands that install, test and
  serve the project; under `make serve` (which does all that itself) the
  hook is silent and scripts/bake-serve says what it did;
- `make serve` re-bakes only when the template changed, never over edits
  to the baked project without saying so, and never touches its var/;
- `make serve PORT=...` serves there; a busy port is one line;
- `make project` (the README's command) works on a fresh clone.

The tests marked ``slow`` install packages (the served project, or a fresh
clone's own tooling).
"""

import os
import queue
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parent.parent
REBAKE_HINT = "make serve REBAKE=1"
# How long to wait for something that must happen; a safety net, not a pace.
PATIENCE = 300
# What a copy of the template leaves out: tooling, outputs, caches.
NOT_TEMPLATE = shutil.ignore_patterns(".venv", ".git", "build", "__pycache__", ".pytest_cache", ".ruff_cache")


def commands(message: str) -> list[str]:
    """The indented command lines of the hook's message, in order."""
    return [line.strip() for line in message.splitlines() if line.startswith("    ") and line.strip()]


def free_port() -> int:
    """A port nothing listens on now (the kernel's pick), for a server started next."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def drain(process: subprocess.Popen) -> "queue.Queue[str]":
    """``process``'s output lines, read as they come (the last one: ``exited STATUS``)."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:  # keep reading, or the process would block on a full pipe
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(f"exited {process.wait()}")

    threading.Thread(target=read, daemon=True).start()
    return lines


def wait_for(lines: "queue.Queue[str]", pattern: str) -> re.Match:
    """The next line that matches ``pattern``; fails, showing the output, if the process exits first."""
    seen = []
    while True:
        line = lines.get(timeout=PATIENCE)
        seen.append(line)
        if match := re.search(pattern, line):
            return match
        assert not line.startswith("exited "), "\n".join(seen)


# The hook's message


def test_a_cookiecutter_run_ends_with_the_commands_that_install_test_and_serve_the_project(cookies, capfd, monkeypatch):
    monkeypatch.delenv("UPLOADS_BAKED_BY", raising=False)
    result = cookies.bake()
    assert result.exit_code == 0, result.exception
    project = Path(result.project_path)
    message = capfd.readouterr().out
    assert f'Your project "Upload Service" is ready in {project}' in message
    assert commands(message) == [
        f"cd {shlex.quote(str(project))}",
        "python3 -m venv .venv",
        '.venv/bin/pip install -e ".[testing]"',
        ".venv/bin/alembic -c development.ini upgrade head",
        ".venv/bin/upload_service-users development.ini add YOUR_NAME --admin",
        ".venv/bin/pytest",
        ".venv/bin/pserve development.ini --reload",
    ]


def test_the_commands_name_what_the_project_has(cookies, capfd, monkeypatch):
    monkeypatch.delenv("UPLOADS_BAKED_BY", raising=False)
    project = Path(cookies.bake().project_path)
    message = capfd.readouterr().out
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert "testing" in pyproject["project"]["optional-dependencies"]
    assert (project / "development.ini").is_file()
    assert "http://localhost:6543" in message
    assert other_port_command(message) == ".venv/bin/pserve development.ini http_port=8080 --reload"


def other_port_command(message: str) -> str:
    """The message's command for serving on another port."""
    return re.search(r"`([^`]*http_port=[^`]*)`", message).group(1)


@pytest.mark.slow
def test_the_next_steps_install_and_serve_the_project_as_printed(cookies, capfd, monkeypatch):
    monkeypatch.delenv("UPLOADS_BAKED_BY", raising=False)
    assert cookies.bake().exit_code == 0
    message = capfd.readouterr().out
    *install, test, serve = commands(message)
    # The account step asks for a password twice, as a person would type it.
    password = "a newcomer's long password\n" * 2
    setup = subprocess.run(
        " && ".join(install), shell=True, input=password, capture_output=True, text=True, check=False
    )
    assert setup.returncode == 0, setup.stdout + setup.stderr
    # The test command itself runs the whole suite, browser tests included:
    # test_projects.py does that; here, that it exists and starts.
    cd = install[0]
    version = subprocess.run(f"{cd} && {test} --version", shell=True, capture_output=True, text=True, check=False)
    assert version.returncode == 0, version.stderr
    # The serve command, on port 0 (any free one) rather than 8080.
    assert serve == ".venv/bin/pserve development.ini --reload"
    server = subprocess.Popen(
        f"{cd} && exec {other_port_command(message).replace('http_port=8080', 'http_port=0')}",
        shell=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines = drain(server)
    try:
        url = wait_for(lines, r"Serving on (http://\S+)").group(1)
        # The default project has accounts: "/" sends a newcomer to sign in.
        browser = urllib.request.Request(url + "/", headers={"Accept": "text/html"})
        with urllib.request.urlopen(browser, timeout=30) as page:
            assert page.url.startswith(url + "/signin")
            assert '<form id="signin-form"' in page.read().decode("utf-8")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=PATIENCE)


def test_a_bake_for_make_serve_prints_no_next_steps(cookies, capfd, monkeypatch):
    monkeypatch.setenv("UPLOADS_BAKED_BY", "make-serve")
    assert cookies.bake().exit_code == 0
    assert capfd.readouterr().out.strip() == ""


def test_make_serve_says_where_the_project_is_and_nothing_about_installing_it(tmp_path):
    output = bake_serve(tmp_path)
    assert output.stdout == f"Baked the default project into {tmp_path / 'upload_service'}\n"


# Re-running make serve: bake-serve


def bake_serve(serve_dir: Path, *options: str, template: Path = TEMPLATE, status: int = 0):
    """Run ``template``'s scripts/bake-serve on ``serve_dir``; check its exit status."""
    process = subprocess.run(
        [sys.executable, str(template / "scripts" / "bake-serve"), str(serve_dir), *options],
        capture_output=True,
        text=True,
        check=False,
    )
    assert process.returncode == status, process.stdout + process.stderr
    return process


@pytest.fixture
def served(tmp_path: Path) -> Path:
    """A project baked by bake-serve, with an uploaded file in var/ and a file of the user's own."""
    serve_dir = tmp_path / "serve"
    bake_serve(serve_dir)
    project = serve_dir / "upload_service"
    (project / "var" / "uploads").mkdir(parents=True)
    (project / "var" / "uploads" / "song.mp3").write_bytes(b"uploaded bytes")
    (project / "notes.txt").write_text("mine\n", encoding="utf-8")
    return project


@pytest.fixture
def changed_template(tmp_path: Path) -> Path:
    """A copy of the template whose routes.py has changed."""
    copy = tmp_path / "template"
    shutil.copytree(TEMPLATE, copy, ignore=NOT_TEMPLATE)
    routes = copy / "{{cookiecutter.project_slug}}" / "{{cookiecutter.project_slug}}" / "routes.py"
    routes.write_text(routes.read_text(encoding="utf-8") + "# changed in the template\n", encoding="utf-8")
    return copy


def edit(project: Path) -> Path:
    home = project / "upload_service" / "views" / "home.py"
    home.write_text(home.read_text(encoding="utf-8") + "# my edit\n", encoding="utf-8")
    return home


def assert_user_files_kept(project: Path) -> None:
    assert (project / "var" / "uploads" / "song.mp3").read_bytes() == b"uploaded bytes"
    assert (project / "notes.txt").read_text(encoding="utf-8") == "mine\n"


def test_rerunning_with_nothing_changed_leaves_the_project_alone_and_quiet(served):
    assert bake_serve(served.parent).stdout == ""
    assert_user_files_kept(served)


def test_edits_are_served_and_named_when_the_template_has_not_changed(served):
    home = edit(served)
    output = bake_serve(served.parent).stdout
    assert "with your edits to upload_service/views/home.py" in output
    assert REBAKE_HINT in output
    assert home.read_text(encoding="utf-8").endswith("# my edit\n")


def test_rebake_discards_edits_saying_so_and_keeps_var_and_added_files(served):
    home = edit(served)
    output = bake_serve(served.parent, "--rebake").stdout
    assert "your edits to upload_service/views/home.py are discarded" in output
    assert not home.read_text(encoding="utf-8").endswith("# my edit\n")
    assert_user_files_kept(served)


def test_a_template_change_rebakes_an_unedited_project_keeping_var_and_added_files(served, changed_template):
    output = bake_serve(served.parent, template=changed_template).stdout
    assert output == f"Re-baked {served}: 1 file changed (var/ is kept)\n"
    routes = served / "upload_service" / "routes.py"
    assert routes.read_text(encoding="utf-8").endswith("# changed in the template\n")
    assert_user_files_kept(served)


def test_a_template_change_over_edits_stops_naming_them_and_changes_nothing(served, changed_template):
    home = edit(served)
    routes = served / "upload_service" / "routes.py"
    before = routes.read_bytes()
    output = bake_serve(served.parent, template=changed_template, status=1).stdout
    assert "not re-baked" in output
    assert "upload_service/views/home.py" in output
    assert REBAKE_HINT in output
    assert routes.read_bytes() == before
    assert home.read_text(encoding="utf-8").endswith("# my edit\n")
    assert_user_files_kept(served)


def test_a_file_the_template_no_longer_has_is_removed(served, changed_template):
    (changed_template / "{{cookiecutter.project_slug}}" / "tests" / "test_sizes.py").unlink()
    bake_serve(served.parent, template=changed_template)
    assert not (served / "tests" / "test_sizes.py").exists()
    assert_user_files_kept(served)


def test_a_project_baked_before_the_record_existed_is_adopted_when_unedited(served, changed_template):
    record = served.parent / ".upload_service.baked.json"
    record.unlink()
    assert bake_serve(served.parent).stdout == ""
    assert record.is_file()
    assert "Re-baked" in bake_serve(served.parent, template=changed_template).stdout


def test_make_serve_rebake_passes_the_rebake_option_to_bake_serve(tmp_path):
    dry_run = subprocess.run(
        ["make", "--dry-run", "--no-print-directory", "serve", f"SERVE_DIR={tmp_path}", "REBAKE=1"],
        cwd=TEMPLATE,
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"scripts/bake-serve {tmp_path} --rebake" in dry_run.stdout


# make serve PORT=...

MAKE_ERROR = re.compile(r"make(\[\d+\])?: \*\*\* ")


def test_make_serve_on_a_busy_port_says_so_in_one_line(tmp_path):
    with socket.socket() as other_server:
        other_server.bind(("127.0.0.1", 0))
        other_server.listen()
        port = other_server.getsockname()[1]
        process = subprocess.run(
            ["make", "--no-print-directory", "serve", f"SERVE_DIR={tmp_path}", f"PORT={port}"],
            cwd=TEMPLATE,
            capture_output=True,
            text=True,
            check=False,
        )
    assert process.returncode != 0
    # make's own "make: *** ..." line ("make[1]: ***" when make test runs this test) is not ours.
    ours = [line for line in (process.stdout + process.stderr).splitlines() if not MAKE_ERROR.match(line)]
    assert len(ours) == 1, ours
    assert re.fullmatch(rf"port {port} is in use: stop the other server, or run make serve PORT=\d+", ours[0])
    assert not (tmp_path / "upload_service").exists()  # refused before baking anything


def test_port_0_is_any_free_port_and_never_refused_as_busy():
    """``make serve PORT=0`` lets the system choose (the slow make serve test uses it)."""
    check = subprocess.run([sys.executable, "scripts/port-free", "0"], cwd=TEMPLATE, capture_output=True, text=True)
    assert (check.returncode, check.stderr) == (0, "")


def test_make_serve_refuses_a_port_that_is_not_a_number(tmp_path):
    process = subprocess.run(
        ["make", "--no-print-directory", "serve", f"SERVE_DIR={tmp_path}", "PORT=http"],
        cwd=TEMPLATE,
        capture_output=True,
        text=True,
        check=False,
    )
    assert process.returncode != 0
    assert "PORT=http is not a TCP port: give a number from 1 to 65535" in process.stderr


@pytest.fixture
def make_serve(tmp_path: Path) -> Iterator[tuple[int, "queue.Queue[str]"]]:
    """``make serve PORT=<a free port>`` into ``tmp_path``; its output, line by line."""
    port = free_port()
    process = subprocess.Popen(
        ["make", "--no-print-directory", "serve", f"SERVE_DIR={tmp_path}", f"PORT={port}"],
        cwd=TEMPLATE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        yield port, drain(process)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=PATIENCE)


@pytest.mark.slow
def test_make_serve_port_serves_there_and_logs_each_request(make_serve):
    port, lines = make_serve
    wait_for(lines, rf"Serving on http://127\.0\.0\.1:{port}\b")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/favicon.ico", timeout=30) as response:
        assert response.status == 200
        assert response.headers.get_content_type() == "image/svg+xml"
    wait_for(lines, r'"GET /favicon\.ico HTTP/1\.1" 200 \d+')


# make project: the README's command for a project of one's own


def readme_project_commands() -> list[str]:
    """The commands of the README's "generate a project of your own" block."""
    readme = (TEMPLATE / "README.md").read_text(encoding="utf-8")
    section = readme.split("To generate a project of your own", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL).group(1)
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.split("#", 1)[0].strip()]


def test_readme_generates_a_project_with_make_project():
    assert readme_project_commands() == ["make project"]


@pytest.mark.slow
def test_readme_project_command_works_on_a_fresh_clone_with_only_python3(tmp_path):
    clone = tmp_path / "pyramid-cookiecutter-uploads"
    shutil.copytree(TEMPLATE, clone, ignore=NOT_TEMPLATE)
    answers = "\n" * 20  # Enter at every question: the defaults
    for command in readme_project_commands():
        process = subprocess.run(
            command, shell=True, cwd=clone, input=answers, capture_output=True, text=True, check=False
        )
        assert process.returncode == 0, process.stdout + process.stderr
    project = tmp_path / "upload_service"
    assert (project / "development.ini").is_file()
    assert f"is ready in {project}" in process.stdout


def test_make_project_takes_an_output_dir_and_answers_as_the_readme_says(tmp_path):
    process = subprocess.run(
        ["make", "--no-print-directory", "project", f"OUTPUT_DIR={tmp_path}",
         "ARGS=--no-input project_name='Photo Share'"],
        cwd=TEMPLATE, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert process.returncode == 0, process.stdout + process.stderr
    assert f'Your project "Photo Share" is ready in {tmp_path / "photo_share"}' in process.stdout
    readme = (TEMPLATE / "README.md").read_text(encoding="utf-8")
    assert "make project OUTPUT_DIR=" in readme
    assert "make project ARGS=\"--no-input project_name='Photo Share'\"" in readme
