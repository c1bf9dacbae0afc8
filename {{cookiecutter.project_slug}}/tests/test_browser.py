"""The upload page as people use it, in real headless Chromium.

Playwright drives Chromium (``/usr/bin/chromium``, or the path in
``$CHROMIUM``; nothing is downloaded) against the application served by
waitress on a loopback port (the ``live_server`` fixture). Each test gets a
fresh browser context, so cookies and the CSRF token never leak between
tests, and its own ``storage_path`` and ``temp_path`` to check on disk.

A screenshot of the page after a successful upload is saved to
``$ARTIFACTS_DIR``, or to ``test-artifacts/`` in the project.
"""

import hashlib
import os
import re
import shutil
import struct
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from .bodies import everything_under
from .helpers import PROJECT, LiveServer, stored_files
from .wire import served

pytestmark = [pytest.mark.browser, pytest.mark.server]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TEMPLATE_LANGUAGE = "{{ cookiecutter.template_language }}"
ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR") or PROJECT / "test-artifacts")

# Settings of the servers some tests start with conftest's make_live_server.
SMALL_LIMIT = {"max_size": "1MB"}
PICKY = {"allowed_extensions": "mp3 png", "allowed_types": "image/png audio/mpeg"}

# Playwright waits for each condition and returns as soon as it holds; this
# bound (ms) only turns a page that never gets there into a failure, on a
# machine as busy as a shared CI runner.
PATIENCE = 60_000
expect.set_options(timeout=PATIENCE)


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for the module; tests get their own contexts."""
    executable = shutil.which(CHROMIUM)
    if executable is None:
        pytest.fail(
            f"Chromium not found at {CHROMIUM!r}: the browser tests need it. Install it "
            "(Debian, Ubuntu: `sudo apt-get install chromium`) or set CHROMIUM to its path.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    """``open_page(server, **context_options)``: a new context's page, on ``/``.

    A script error on any page fails the test that caused it.
    """
    errors: list[str] = []

    def open_page(server: LiveServer, **options: object) -> Page:
        context = browser.new_context(base_url=server.url, **options)
        context.set_default_timeout(PATIENCE)
        # Finalizers run last-in first-out: this one runs before the server's
        # teardown, which would otherwise wait on the browser's open connections.
        request.node.addfinalizer(context.close)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto("/")
        return page

    yield open_page
    assert errors == [], f"script errors in the page: {errors}"


@pytest.fixture
def page(open_page: Callable[..., Page], live_server: LiveServer) -> Page:
    """The upload page, with JavaScript, on an empty server."""
    return open_page(live_server)


# ------------------------------------------------------------------- helpers


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_files(directory: Path, files: dict[str, bytes]) -> list[Path]:
    paths = []
    for name, data in files.items():
        path = directory / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def png_image(width: int, height: int) -> bytes:
    """A valid RGB PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x22\x88\xdd" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def mp3_silence(frames: int = 40) -> bytes:
    """About a second of MPEG-1 Layer III: 128 kbit/s, 44.1 kHz frames of silence."""
    header = bytes([0xFF, 0xFB, 0x90, 0x00])  # frame sync, MPEG-1 layer III, 128k, 44.1k
    frame_length = 144 * 128_000 // 44_100  # 417 bytes, header included
    return (header + bytes(frame_length - len(header))) * frames


def store(server: LiveServer, name: str, data: bytes) -> dict[str, object]:
    """Upload through the JSON API (not the page), for tests that need stored files."""
    response = server.client().post(
        server.url + "/files", files={"file": (name, data)}, headers={"Accept": "application/json"}, timeout=60
    )
    assert response.status_code == 201, response.text
    return response.json()["files"][0]


def data_files(server: LiveServer) -> list[Path]:
    """The stored files' data (not their ``.json`` metadata)."""
    return [path for path in stored_files(server.storage_path) if path.suffix != ".json"]


def upload_row(page: Page, name: str) -> Locator:
    """The row of the upload queue for the file called ``name``."""
    return page.locator("#upload-queue li.upload").filter(has=page.locator(".upload-name", has_text=name))


def file_row(page: Page, name: str) -> Locator:
    """The row of the stored-files table for the file called ``name``."""
    return page.locator("#file-list tr.file").filter(has=page.get_by_role("link", name=name, exact=True))


def choose_generated_file(page: Page, name: str, size: int) -> None:
    """Choose a file made in the page (big ones cost nothing to send to the browser)."""
    page.evaluate(
        """([name, size]) => {
            const input = document.getElementById('file-input');
            const chosen = new DataTransfer();
            chosen.items.add(new File([new Uint8Array(size)], name));
            input.files = chosen.files;
            input.dispatchEvent(new Event('change', { bubbles: true }));
        }""",
        [name, size],
    )


def throttle_uploads(page: Page, bytes_per_second: int) -> None:
    """Make the browser send request bodies at most this fast (Chromium DevTools)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": bytes_per_second},
    )


def record_posts(page: Page) -> list[str]:
    """A list that fills with the URL of every POST request the page sends."""
    sent: list[str] = []
    page.on("request", lambda request: request.method == "POST" and sent.append(request.url))
    return sent


# --------------------------------------------------------------------- tests


def test_page_loads_its_script_and_style_without_csp_violations(open_page, live_server):
    violations: list[str] = []
    page = open_page(live_server)
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    page.reload()
    expect(page.get_by_text("or drop them in this box")).to_be_visible()  # upload.js ran
    assert page.locator("#dropzone").evaluate("zone => getComputedStyle(zone).borderStyle") == "dashed"
    assert violations == []


@pytest.mark.answers
def test_several_chosen_files_upload_to_100_percent_and_show_their_sha256(page, live_server, tmp_path):
    files = {"one.txt": b"first file\n", "two.bin": os.urandom(700_000), "three.bin": os.urandom(3_000_000)}
    page.locator("#file-input").set_input_files(write_files(tmp_path, files))

    for name, data in files.items():
        row = upload_row(page, name)
        expect(row).to_have_attribute("data-state", "done")
        expect(page.get_by_role("progressbar", name=f"Upload of {name}")).to_have_js_property("value", 100)
        expect(row.locator(".upload-percent")).to_have_text("100%")
        expect(row.locator(".upload-sent")).to_contain_text("sent")  # written by progress events only
        expect(row.locator(".upload-sha256")).to_have_text(sha256(data))
    assert sorted(sha256(path.read_bytes()) for path in data_files(live_server)) == sorted(map(sha256, files.values()))

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"upload-page-{TEMPLATE_LANGUAGE}.png", full_page=True)


def test_a_dropped_file_is_uploaded(page):
    page.evaluate(
        """() => {
            const zone = document.getElementById('dropzone');
            const dataTransfer = new DataTransfer();
            dataTransfer.items.add(new File(['dropped bytes'], 'dropped.txt', { type: 'text/plain' }));
            for (const type of ['dragenter', 'dragover', 'drop']) {
                zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer }));
            }
        }"""
    )
    row = upload_row(page, "dropped.txt")
    expect(row).to_have_attribute("data-state", "done")
    expect(row.locator(".upload-sha256")).to_have_text(sha256(b"dropped bytes"))


def test_the_drop_zone_highlights_while_files_are_dragged_over_it(page):
    page.evaluate(
        """() => {
            const dataTransfer = new DataTransfer();
            dataTransfer.items.add(new File(['x'], 'x.txt'));
            document.getElementById('dropzone').dispatchEvent(
                new DragEvent('dragenter', { bubbles: true, cancelable: true, dataTransfer }));
        }"""
    )
    expect(page.locator("#dropzone")).to_have_class("dropzone dragging")


def test_a_slow_upload_shows_bytes_sent_speed_and_time_left(page):
    throttle_uploads(page, 2_000_000)
    choose_generated_file(page, "slow.bin", 12_000_000)
    row = upload_row(page, "slow.bin")
    expect(row.locator(".upload-sent")).to_have_text(re.compile(r"^[\d.]+ (bytes|KiB|MiB) of 11\.4 MiB sent$"))
    expect(row.locator(".upload-speed")).to_have_text(re.compile(r"^[\d.]+ (KiB|MiB)/s$"))
    expect(row.locator(".upload-eta")).to_have_text(re.compile(r"^\d+ s left$"))
    row.get_by_role("button", name="Cancel slow.bin").click()  # no need to wait for the rest


def test_cancelling_an_upload_midway_keeps_nothing_on_the_server(page, live_server):
    throttle_uploads(page, 4_000_000)
    choose_generated_file(page, "big.bin", 40_000_000)
    row = upload_row(page, "big.bin")
    bar = page.get_by_role("progressbar", name="Upload of big.bin")
    page.wait_for_function("bar => bar.value >= 5", arg=bar.element_handle())
    with page.expect_event("requestfailed") as aborted:
        row.get_by_role("button", name="Cancel big.bin").click()

    assert aborted.value.failure == "net::ERR_ABORTED"
    assert bar.evaluate("bar => bar.value") < 100
    expect(row).to_have_attribute("data-state", "cancelled")
    expect(row.locator(".upload-message")).to_have_text("Cancelled; nothing was stored.")
    assert stored_files(live_server.storage_path) == []
    assert list(live_server.temp_path.iterdir()) == []


def test_a_file_over_the_size_limit_is_refused_before_a_byte_is_sent(open_page, make_live_server, tmp_path):
    page = open_page(make_live_server(**SMALL_LIMIT))
    uploads = record_posts(page)
    page.locator("#file-input").set_input_files(write_files(tmp_path, {"huge.bin": bytes(1_500_000)}))

    row = upload_row(page, "huge.bin")
    expect(row).to_have_attribute("data-state", "refused")
    expect(row.locator(".upload-message")).to_have_text("Too large: 1.4 MiB, and the limit is 1 MiB per upload.")
    assert uploads == []


def test_a_file_of_exactly_the_size_limit_is_uploaded_through_tus(open_page, make_live_server, tmp_path):
    page = open_page(make_live_server(**SMALL_LIMIT))
    data = os.urandom(1024 * 1024)  # tus counts the file's own bytes: no form envelope to fit
    page.locator("#file-input").set_input_files(write_files(tmp_path, {"exact.bin": data}))

    row = upload_row(page, "exact.bin")
    expect(row).to_have_attribute("data-state", "done")
    expect(row.locator(".upload-sha256")).to_have_text(sha256(data))


def test_a_file_with_an_extension_not_allowed_is_refused_before_a_byte_is_sent(open_page, make_live_server, tmp_path):
    page = open_page(make_live_server(**PICKY))
    uploads = record_posts(page)
    page.locator("#file-input").set_input_files(write_files(tmp_path, {"notes.txt": b"hello"}))

    row = upload_row(page, "notes.txt")
    expect(row).to_have_attribute("data-state", "refused")
    expect(row.locator(".upload-message")).to_have_text(".txt files are not accepted; allowed: mp3, png.")
    assert uploads == []


def test_the_servers_refusal_shows_on_the_files_row(open_page, make_live_server, tmp_path):
    server = make_live_server(**PICKY)
    page = open_page(server)  # .png is allowed, but the bytes are not a PNG image
    page.locator("#file-input").set_input_files(write_files(tmp_path, {"fake.png": b"not an image"}))

    row = upload_row(page, "fake.png")
    expect(row).to_have_attribute("data-state", "failed")
    expect(row.locator(".upload-message")).to_contain_text(
        "png is text/plain, which is not accepted; allowed: image/png, audio/mpeg."
    )
    assert data_files(server) == []


def test_without_javascript_the_form_stores_the_files_and_says_so(open_page, live_server, tmp_path):
    page = open_page(live_server, java_script_enabled=False)
    files = write_files(tmp_path, {"a.txt": b"alpha", "b.txt": b"bravo"})
    page.locator("#file-input").set_input_files(files)
    page.get_by_role("button", name="Upload", exact=True).click()

    expect(page).to_have_url(re.compile(r"/\?stored="))
    expect(page.locator(".notice-ok")).to_have_text("Stored 2 files: a.txt, b.txt")
    expect(file_row(page, "a.txt")).to_have_attribute("data-sha256", sha256(b"alpha"))
    expect(file_row(page, "b.txt")).to_have_attribute("data-sha256", sha256(b"bravo"))


def test_without_javascript_the_page_offers_an_upload_button_and_no_dropping(open_page, live_server):
    page = open_page(live_server, java_script_enabled=False)

    expect(page.get_by_role("button", name="Upload", exact=True)).to_be_visible()
    expect(page.get_by_text("or drop them in this box")).to_be_hidden()


def test_without_javascript_a_refused_upload_shows_the_reason(open_page, make_live_server, tmp_path):
    server = make_live_server(**SMALL_LIMIT)
    page = open_page(server, java_script_enabled=False)
    page.locator("#file-input").set_input_files(write_files(tmp_path, {"huge.bin": bytes(1_500_000)}))
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Upload", exact=True).click()

    assert navigation.value.status == 413
    expect(page.get_by_role("alert")).to_have_text("The upload is larger than the limit of 1 MiB (uploads.max_size).")
    expect(page.locator("#file-input")).to_be_visible()  # ready to try again
    assert data_files(server) == []


def test_without_javascript_a_body_refused_by_the_server_from_its_length_shows_the_reason(
    open_page, app_settings, tmp_path
):
    """Waitress's own limit answers before the body is read; the browser, still sending, gets the page."""
    with served(app_settings, max_size=1024 * 1024) as server:
        page = open_page(server, java_script_enabled=False)
        page.locator("#file-input").set_input_files(write_files(tmp_path, {"huge.bin": bytes(3_000_000)}))
        with page.expect_navigation() as navigation:
            page.get_by_role("button", name="Upload", exact=True).click()

        assert navigation.value.status == 413
        expect(page.get_by_role("alert")).to_have_text(
            "The upload is larger than the limit of 1 MiB (uploads.max_size)."
        )
        expect(page.locator("header h1 a")).to_have_attribute("href", "/")  # the way back
        assert data_files(server) == []


def test_delete_asks_for_confirmation_then_removes_the_row_and_the_file(page, live_server):
    store(live_server, "keep.txt", b"keep")
    store(live_server, "doomed.txt", b"doomed")
    page.reload()

    file_row(page, "doomed.txt").locator("details.delete summary").click()
    confirm = page.get_by_role("button", name="Confirm delete doomed.txt")
    expect(confirm).to_be_focused()
    assert len(data_files(live_server)) == 2  # asking is not deleting
    confirm.click()

    expect(file_row(page, "doomed.txt")).to_have_count(0)
    expect(page.locator("#upload-status")).to_have_text("doomed.txt deleted.")
    assert [path.read_bytes() for path in data_files(live_server)] == [b"keep"]


def test_keep_closes_the_delete_confirmation_and_keeps_the_file(page, live_server):
    store(live_server, "precious.txt", b"precious")
    page.reload()

    row = file_row(page, "precious.txt")
    row.locator("details.delete summary").click()
    row.get_by_role("button", name="Keep").click()

    expect(row.get_by_role("button", name="Confirm delete precious.txt")).to_be_hidden()
    expect(row.locator("details.delete summary")).to_be_focused()
    assert len(data_files(live_server)) == 1


def test_stored_images_get_a_thumbnail_and_audio_a_player_that_loads_only_when_opened(page, live_server):
    song = store(live_server, "song.mp3", mp3_silence())
    picture = store(live_server, "picture.png", png_image(24, 16))
    page.reload()

    thumbnail = file_row(page, "picture.png").locator("img.thumbnail")
    expect(thumbnail).to_have_attribute("src", f"/files/{picture['id']}")
    page.wait_for_function("img => img.complete && img.naturalWidth === 24", arg=thumbnail.element_handle())
    row = file_row(page, "song.mp3")
    player = row.locator("details.play audio[controls]")
    expect(player).to_be_hidden()
    assert player.evaluate("audio => audio.readyState") == 0  # preload="none": nothing fetched yet
    row.locator("details.play summary").click()
    expect(player).to_be_visible()
    expect(player).to_have_attribute("src", f"/files/{song['id']}")
    player.evaluate("audio => audio.load()")
    page.wait_for_function("audio => audio.duration > 0", arg=player.element_handle())  # it plays


def test_uploaded_files_join_the_top_of_the_table_with_player_and_thumbnail(page, live_server, tmp_path):
    store(live_server, "older.txt", b"older")
    page.reload()
    page.evaluate("window.notReloaded = true")
    page.locator("#file-input").set_input_files(
        write_files(tmp_path, {"tune.mp3": mp3_silence(), "photo.png": png_image(8, 8)})
    )

    expect(upload_row(page, "tune.mp3")).to_have_attribute("data-state", "done")
    expect(upload_row(page, "photo.png")).to_have_attribute("data-state", "done")
    names = page.locator("#file-list .file-name")
    expect(names).to_have_count(3)
    expect(names.last).to_have_text("older.txt")
    expect(file_row(page, "tune.mp3").locator("details.play audio[controls]")).to_have_count(1)
    expect(file_row(page, "older.txt").locator(".file-type")).to_have_text("TXT")
    thumbnail = file_row(page, "photo.png").locator("img.thumbnail")
    page.wait_for_function("img => img.complete && img.naturalWidth === 8", arg=thumbnail.element_handle())
    assert page.evaluate("window.notReloaded") is True


def test_the_keyboard_reaches_and_operates_the_file_chooser(page, tmp_path):
    # Listen first: Playwright starts catching file choosers only once asked to.
    with page.expect_file_chooser() as chooser:
        for _ in range(5):  # the title link, the account's link and Sign out (under accounts), then the chooser
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "file-input":
                break
        expect(page.locator("#file-input")).to_be_focused()
        page.keyboard.press("Space")
    chooser.value.set_files(write_files(tmp_path, {"typed.txt": b"by keyboard"}))
    expect(upload_row(page, "typed.txt")).to_have_attribute("data-state", "done")


def test_upload_progress_is_announced_in_a_live_region(page, tmp_path):
    page.locator("#file-input").set_input_files(write_files(tmp_path, {"heard.txt": b"hello"}))

    status = page.locator("#upload-status")
    expect(status).to_have_attribute("aria-live", "polite")
    expect(status).to_have_text("heard.txt stored.")


def test_nothing_overflows_horizontally_at_phone_width(open_page, live_server, tmp_path):
    long_name = "a-very-long-file-name-without-any-spaces-" * 4 + ".png"
    store(live_server, long_name, png_image(8, 8))
    store(live_server, "song.mp3", mp3_silence())
    page = open_page(live_server, viewport={"width": 360, "height": 740})
    page.locator("#file-input").set_input_files(write_files(tmp_path, {long_name.replace("png", "txt"): b"x"}))
    expect(page.locator("#upload-queue li[data-state=done]")).to_have_count(1)

    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow == 0


# ---------------------------------------------------------- resumable uploads (tus)

# Small chunks, so that a small file takes several PATCH requests.
SMALL_CHUNKS = {"tus_max_chunk": "256KB", "max_size": "8MB"}
CHUNK = 256 * 1024


def record_patches(page: Page) -> list[int]:
    """A list that fills with the ``Upload-Offset`` of every tus PATCH the page sends."""
    offsets: list[int] = []
    page.on(
        "request",
        lambda request: request.method == "PATCH" and offsets.append(int(request.headers["upload-offset"])),
    )
    return offsets


def stored_bytes(server: LiveServer) -> list[bytes]:
    return [path.read_bytes() for path in data_files(server)]


@pytest.mark.answers  # the form's data-tus-* attributes, in each page language
def test_an_upload_goes_through_tus_in_chunks_under_the_servers_limit(open_page, make_live_server, tmp_path):
    server = make_live_server(**SMALL_CHUNKS)
    page = open_page(server)
    offsets = record_patches(page)
    data = os.urandom(4 * CHUNK + 1000)
    page.locator("#file-input").set_input_files(write_files(tmp_path, {"chunked.bin": data}))

    expect(upload_row(page, "chunked.bin")).to_have_attribute("data-state", "done")
    assert offsets == [CHUNK, 2 * CHUNK, 3 * CHUNK, 4 * CHUNK]  # the first chunk went with the creation POST
    assert stored_bytes(server) == [data]


def leave_unfinished(page: Page, path: Path) -> None:
    """Start uploading ``path``, lose the network after two chunks, reload the page."""
    patches = 0

    def cut_after_two(route):  # the network goes away after two chunks
        nonlocal patches
        patches += route.request.method == "PATCH"
        if route.request.method == "PATCH" and patches > 2:
            route.abort()
        else:
            route.continue_()

    page.route("**/uploads/*", cut_after_two)
    with page.expect_event("requestfailed", lambda request: request.method == "PATCH"):
        page.locator("#file-input").set_input_files(path)
    page.reload()  # with the route still cutting: a retry of the old page never gets through
    page.unroute("**/uploads/*")


def test_an_interrupted_upload_resumes_after_a_reload_from_where_it_stopped(open_page, make_live_server, tmp_path):
    server = make_live_server(**SMALL_CHUNKS)
    page = open_page(server)
    data = os.urandom(8 * CHUNK)
    [path] = write_files(tmp_path, {"resumed.bin": data})
    leave_unfinished(page, path)

    offsets = record_patches(page)
    creations = record_posts(page)
    page.locator("#file-input").set_input_files(path)  # the same file, chosen again
    expect(upload_row(page, "resumed.bin")).to_have_attribute("data-state", "done")
    assert offsets[0] == 3 * CHUNK  # not from zero: the POST carried the first chunk, two PATCHes went through
    assert creations == []  # the upload the first page made, not a new one
    assert stored_bytes(server) == [data]


def test_after_a_reload_the_page_names_the_unfinished_upload_until_it_is_chosen_again(
    open_page, make_live_server, tmp_path
):
    server = make_live_server(**SMALL_CHUNKS)
    page = open_page(server)
    [path] = write_files(tmp_path, {"half-sent.bin": os.urandom(8 * CHUNK)})
    leave_unfinished(page, path)

    expect(page.locator("#interrupted")).to_be_visible()
    expect(page.locator("#interrupted")).to_contain_text("half-sent.bin (2 MiB)")
    page.locator("#file-input").set_input_files(path)
    expect(upload_row(page, "half-sent.bin")).to_have_attribute("data-state", "done")
    expect(page.locator("#interrupted")).to_be_hidden()


def test_giving_up_an_unfinished_upload_ends_it_on_the_server(open_page, make_live_server, tmp_path):
    server = make_live_server(**SMALL_CHUNKS)
    page = open_page(server)
    [path] = write_files(tmp_path, {"abandoned.bin": os.urandom(8 * CHUNK)})
    leave_unfinished(page, path)

    with page.expect_response(lambda response: response.request.method == "DELETE") as ended:
        page.get_by_role("button", name="Give it up").click()
    assert ended.value.status == 204
    expect(page.locator("#interrupted")).to_be_hidden()
    assert everything_under(server.temp_path) == []
    page.reload()
    expect(page.locator("#interrupted")).to_be_hidden()  # forgotten by the browser too


def test_a_paused_upload_resumes_where_it_was(open_page, make_live_server, tmp_path):
    server = make_live_server(**SMALL_CHUNKS)
    page = open_page(server)
    throttle_uploads(page, 1_000_000)
    offsets = record_patches(page)
    data = os.urandom(8 * CHUNK)
    with page.expect_event("requestfinished", lambda request: request.method == "PATCH"):
        page.locator("#file-input").set_input_files(write_files(tmp_path, {"paused.bin": data}))
    row = upload_row(page, "paused.bin")
    row.get_by_role("button", name="Pause paused.bin").click()
    expect(row).to_have_attribute("data-state", "paused")
    expect(row.locator(".upload-message")).to_have_text("Paused.")

    row.get_by_role("button", name="Resume paused.bin").click()
    expect(row).to_have_attribute("data-state", "done")
    assert 0 not in offsets  # resumed, never restarted (the first chunk went with the creation POST)
    assert stored_bytes(server) == [data]


def test_several_files_upload_in_parallel_and_the_panel_counts_their_bytes(open_page, make_live_server, tmp_path):
    server = make_live_server(**SMALL_CHUNKS)
    page = open_page(server)
    in_flight = 0
    most = 0

    def count(request, change):
        nonlocal in_flight, most
        if request.method == "PATCH":
            in_flight += change
            most = max(most, in_flight)

    page.on("request", lambda request: count(request, 1))
    page.on("requestfinished", lambda request: count(request, -1))
    files = {f"part{number}.bin": os.urandom(3 * CHUNK) for number in range(5)}
    page.locator("#file-input").set_input_files(write_files(tmp_path, files))

    for name in files:
        expect(upload_row(page, name)).to_have_attribute("data-state", "done")
    expect(page.locator(".upload-overall")).to_have_text("5 of 5 files, 3.8 MiB of 3.8 MiB")
    assert most > 1
    assert sorted(stored_bytes(server)) == sorted(files.values())

    page.get_by_role("button", name="Clear finished").click()
    expect(page.locator("#upload-queue li.upload")).to_have_count(0)


def test_a_pasted_file_is_uploaded(page, live_server):
    page.evaluate(
        """() => {
            const clipboardData = new DataTransfer();
            clipboardData.items.add(new File(['pasted bytes'], 'pasted.txt', { type: 'text/plain' }));
            document.dispatchEvent(new ClipboardEvent('paste', { clipboardData, bubbles: true, cancelable: true }));
        }"""
    )
    row = upload_row(page, "pasted.txt")
    expect(row).to_have_attribute("data-state", "done")
    expect(row.locator(".upload-sha256")).to_have_text(sha256(b"pasted bytes"))


# ------------------------------------------------- the stored list: times, links, bulk delete


@pytest.mark.pages
def test_the_stored_files_are_a_table_with_local_times_and_the_utc_time_in_a_tooltip(open_page, live_server):
    store(live_server, "timed.txt", b"when")
    page = open_page(live_server, timezone_id="Asia/Tokyo")

    table = page.get_by_role("table", name="Stored files, newest first")
    for header in ("Type", "Name", "Size", "Uploaded", "Actions"):
        expect(table.get_by_role("columnheader", name=header)).to_have_count(1)
    row = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name="timed.txt"))
    expect(row.get_by_role("cell")).to_have_count(5)  # the name is the row's header cell
    expect(row.locator(".file-type")).to_have_text("TXT")
    expect(row.locator(".file-type")).to_have_attribute("title", "text/plain")
    expect(row.locator(".file-size")).to_have_text("4 bytes")
    expect(row.get_by_role("link", name="Download timed.txt")).to_have_count(1)
    expect(row.get_by_role("button", name="Copy link timed.txt")).to_have_count(1)
    time = row.locator("time.file-time")
    expect(time).to_have_attribute("title", re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$"))
    utc = time.get_attribute("title")
    expect(time).not_to_have_text(utc)  # rewritten to local time
    local = time.evaluate("element => new Date(element.dateTime).getHours()")
    assert local == (int(utc[11:13]) + 9) % 24  # Tokyo is UTC+9 all year
    shown = time.evaluate(
        "e => new Date(e.dateTime).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })"
    )
    expect(time).to_have_text(shown)


def test_copy_link_puts_the_files_absolute_url_on_the_clipboard(open_page, live_server):
    stored = store(live_server, "linked.txt", b"link")
    page = open_page(live_server, permissions=["clipboard-read", "clipboard-write"])
    file_row(page, "linked.txt").get_by_role("button", name="Copy link linked.txt").click()
    expect(file_row(page, "linked.txt").locator(".copy-link")).to_contain_text("Link copied")
    assert page.evaluate("navigator.clipboard.readText()") == stored["url"]


@pytest.mark.pages  # the server's rows, in each page language
def test_the_actions_of_a_listed_row_and_of_a_just_uploaded_row_line_up(page, live_server):
    store(live_server, "listed.txt", b"listed")
    page.goto(live_server.url)
    choose_generated_file(page, "uploaded.txt", 8)
    expect(file_row(page, "uploaded.txt")).to_have_count(1)
    listed = file_row(page, "listed.txt").locator(".delete summary").bounding_box()
    uploaded = file_row(page, "uploaded.txt").locator(".delete summary").bounding_box()
    assert listed["x"] == uploaded["x"]  # "Delete" comes last: any extra space between the actions moves it


def test_selected_files_are_deleted_together_after_confirmation(page, live_server):
    for name in ("a.txt", "b.txt", "c.txt"):
        store(live_server, name, name.encode())
    page.reload()
    posts = record_posts(page)
    page.get_by_role("checkbox", name="Select a.txt").check()
    page.get_by_role("checkbox", name="Select c.txt").check()
    summary = page.locator("#bulk-form summary")
    expect(summary).to_have_text("Delete 2 selected files")
    summary.click()
    page.get_by_role("button", name="Confirm: delete 2 files").click()

    expect(page.locator("#file-list tr.file")).to_have_count(1)
    expect(file_row(page, "b.txt")).to_be_visible()
    expect(page.locator("#upload-status")).to_have_text("2 files deleted.")
    assert posts == [live_server.url + "/files/delete"]  # one request for both
    assert [path.read_bytes() for path in data_files(live_server)] == [b"b.txt"]


def test_select_all_selects_every_listed_file(page, live_server):
    for name in ("x.txt", "y.txt"):
        store(live_server, name, name.encode())
    page.reload()
    page.get_by_label("Select all").check()
    expect(page.get_by_role("checkbox", name="Select x.txt")).to_be_checked()
    expect(page.locator("#bulk-form summary")).to_have_text("Delete 2 selected files")


@pytest.mark.pages
def test_without_javascript_selected_files_are_deleted_together(open_page, live_server):
    for name in ("a.txt", "b.txt", "c.txt"):
        store(live_server, name, name.encode())
    page = open_page(live_server, java_script_enabled=False)
    page.get_by_role("checkbox", name="Select a.txt").check()
    page.get_by_role("checkbox", name="Select c.txt").check()
    page.locator("#bulk-form summary").click()
    page.get_by_role("button", name="Confirm: delete the selected files").click()

    expect(page.locator(".notice-ok")).to_have_text("Deleted 2 files.")
    expect(page.locator("#file-list .file-name")).to_have_text(["b.txt"])
    assert [path.read_bytes() for path in data_files(live_server)] == [b"b.txt"]


def test_a_dropped_folder_uploads_every_file_in_it_and_its_subfolders(page, live_server):
    # Chromium gives a DataTransfer made by script no file-system entries
    # (webkitGetAsEntry() is null, and a drop from the OS cannot be
    # synthesised), so the page's items answer with a folder tree made here,
    # shaped as the File and Directory Entries API gives it: a reader that
    # returns entries in batches (two at a time), then an empty batch.
    page.evaluate(
        """() => {
            const fileEntry = (name, text) => ({
                isFile: true, isDirectory: false, name,
                file: (resolve) => resolve(new File([text], name, { type: 'text/plain' })),
            });
            const folderEntry = (name, children) => ({
                isFile: false, isDirectory: true, name,
                createReader() {
                    let next = 0;
                    return { readEntries: (resolve) => { resolve(children.slice(next, next + 2)); next += 2; } };
                },
            });
            const tree = folderEntry('album', [
                fileEntry('one.txt', 'first'),
                fileEntry('two.txt', 'second'),
                folderEntry('deeper', [fileEntry('three.txt', 'third')]),
            ]);
            DataTransferItem.prototype.webkitGetAsEntry = () => tree;
            const dataTransfer = new DataTransfer();
            dataTransfer.items.add(new File([''], 'album'));  // what a dropped folder's `files` holds
            const zone = document.getElementById('dropzone');
            for (const type of ['dragenter', 'dragover', 'drop']) {
                zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer }));
            }
        }"""
    )
    for name in ("one.txt", "two.txt", "three.txt"):
        expect(upload_row(page, name)).to_have_attribute("data-state", "done")
        expect(file_row(page, name)).to_have_count(1)
    expect(page.locator("#upload-queue li.upload")).to_have_count(3)  # not the folder itself
    expect(page.get_by_role("table", name="Stored files, newest first")).to_be_visible()  # it was empty, hidden
    assert sorted(path.read_bytes() for path in data_files(live_server)) == [b"first", b"second", b"third"]


def test_the_totals_follow_uploads_and_deletes_without_a_reload(page, live_server, tmp_path):
    store(live_server, "old.bin", b"o" * 1024)
    page.reload()
    totals = page.locator("#file-totals")
    expect(totals).to_have_text("1 file, 1 KiB in all")
    page.locator("#file-input").set_input_files(write_files(tmp_path, {"new.bin": b"n" * 2048}))
    expect(upload_row(page, "new.bin")).to_have_attribute("data-state", "done")
    expect(totals).to_have_text("2 files, 3 KiB in all")
    file_row(page, "old.bin").locator("details.delete summary").click()
    page.get_by_role("button", name="Confirm delete old.bin").click()
    expect(totals).to_have_text("1 file, 2 KiB in all")
    page.reload()
    expect(totals).to_have_text("1 file, 2 KiB in all")  # the server counts the same


def test_two_hundred_files_at_once_all_upload_and_the_panel_counts_them(page, live_server):
    page.evaluate(
        """() => {
            const input = document.getElementById('file-input');
            const chosen = new DataTransfer();
            for (let number = 0; number < 200; number += 1) {
                chosen.items.add(new File([`file ${number}`], `many-${number}.txt`, { type: 'text/plain' }));
            }
            input.files = chosen.files;
            input.dispatchEvent(new Event('change', { bubbles: true }));
        }"""
    )
    expect(page.locator(".upload-overall")).to_have_text(re.compile(r"^200 of 200 files, "), timeout=60_000)
    expect(page.locator("#upload-queue li.upload[data-state=done]")).to_have_count(200)
    assert len(data_files(live_server)) == 200
