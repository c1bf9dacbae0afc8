"""Signing in and out in real headless Chromium, with and without JavaScript.

The server is ``accounts_server``: the browser carries only the session it
signs in to. Two accounts upload; each sees only their own files.
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from .helpers import LiveServer, add_account

pytestmark = [pytest.mark.browser, pytest.mark.server]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
USER = ("alice", "alice-password")
OTHER = ("other", "other-password")

expect.set_options(timeout=10_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which(CHROMIUM)
    if executable is None:
        pytest.fail(f"Chromium not found at {CHROMIUM!r}: install it or set CHROMIUM to its path.", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture
def server(accounts_server: LiveServer, database_url: str) -> LiveServer:
    add_account(database_url, *USER)
    add_account(database_url, *OTHER)
    return accounts_server


def signed_in_page(browser: Browser, server: LiveServer, account: tuple[str, str], *, javascript: bool) -> Page:
    """A new browser context on ``/``: sent to the sign-in page, signs in, comes back."""
    page = browser.new_context(base_url=server.url, java_script_enabled=javascript).new_page()
    page.goto("/")
    expect(page).to_have_url(server.url + "/signin?next=%2F")
    page.get_by_label("Name").fill(account[0])
    page.get_by_label("Password").fill(account[1])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(server.url + "/")
    expect(page.locator(".account-bar")).to_contain_text(account[0])
    return page


def upload(page: Page, path: Path, *, javascript: bool) -> None:
    """Choose ``path``: the script uploads it at once; without it, the form's button sends it."""
    page.locator("#file-input").set_input_files(path)
    if not javascript:
        page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#file-list .file-name", has_text=path.name)).to_be_visible()


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
@pytest.mark.pages
def test_sign_in_upload_see_only_your_files_sign_out(
    browser: Browser, server: LiveServer, tmp_path: Path, javascript: bool
) -> None:
    mine, theirs = tmp_path / "mine.txt", tmp_path / "theirs.txt"
    mine.write_bytes(b"mine\n")
    theirs.write_bytes(b"theirs\n")
    other = signed_in_page(browser, server, OTHER, javascript=javascript)
    upload(other, theirs, javascript=javascript)

    page = signed_in_page(browser, server, USER, javascript=javascript)
    upload(page, mine, javascript=javascript)
    page.reload()
    expect(page.locator("#file-list .file-name")).to_have_text(["mine.txt"])

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(server.url + "/signin")
    page.goto("/")
    expect(page).to_have_url(server.url + "/signin?next=%2F")


def test_wrong_password_shows_one_message_for_both_mistakes(browser: Browser, server: LiveServer) -> None:
    page = browser.new_context(base_url=server.url).new_page()
    page.goto("/signin")
    page.get_by_label("Name").fill(USER[0])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong name or password.")


def test_share_link_copies_a_link_that_downloads_without_signing_in(
    browser: Browser, server: LiveServer, tmp_path: Path
) -> None:
    # "Copy link" copies the file's own URL, which only its owner (signed in)
    # can open; "Share link" is the deliberate step that makes one for anybody.
    page = signed_in_page(browser, server, USER, javascript=True)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    shared = tmp_path / "shared.txt"
    shared.write_bytes(b"shared\n")
    upload(page, shared, javascript=True)  # its row is made by the page's script
    page.get_by_role("button", name="Share link for shared.txt").click()
    expect(page.get_by_role("button", name="Share link copied for shared.txt")).to_be_visible()

    link = page.evaluate("navigator.clipboard.readText()")
    assert link.startswith(server.url + "/s/")
    assert requests.get(link, timeout=30).content == b"shared\n"  # no session: anyone with the link
