"""Client filenames are hostile text: ``secure_filename`` and ``extension_of``.

The table pins the exact answer for names that attack paths, terminals,
Windows and people's eyes; the Hypothesis properties check the rules hold
for any Unicode string at all, including ones nobody thought to list.
"""

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from {{ cookiecutter.project_slug }}.sanitizer import extension_of, secure_filename

LONG_ASCII = "x" * 300 + ".mp3"
LONG_CJK = "音" * 100 + ".flac"  # 3 bytes a character
LONG_EMOJI = "😀" * 70 + ".png"  # 4 bytes a character

DEVICE_STEMS = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{port}{digit}" for port in ("COM", "LPT") for digit in "0123456789¹²³"
}

HOSTILE_NAMES = [
    # Paths: only the last component survives, whichever separator.
    ("C:\\a\\evil.exe", "evil.exe"),
    ("/etc/passwd", "passwd"),
    ("../../etc/passwd", "passwd"),
    ("..\\..\\windows\\win.ini", "win.ini"),
    ("a\\b/c\\d.txt", "d.txt"),
    ("////", "upload"),
    # Dots and spaces: no hidden files, never "." or "..".
    ("..", "upload"),
    (".", "upload"),
    ("...", "upload"),
    (".htaccess", "htaccess"),
    (" .bashrc ", "bashrc"),
    ("trail. . .", "trail"),
    # Control and invisible format characters are dropped.
    ("evil\u202egpj.exe", "evilgpj.exe"),
    ("a\x00b.txt", "ab.txt"),
    ("line\r\nbreak.txt", "linebreak.txt"),
    ("tab\there.txt", "tabhere.txt"),
    ("\x7fdel.txt", "del.txt"),
    ("a\x85b.txt", "ab.txt"),
    ("\u200bzero\u200dwidth\ufeff.txt", "zerowidth.txt"),
    ("\u2066iso\u2069late.pdf", "isolate.pdf"),
    ("\u202aem\u202bbed\u202c\u202d.txt", "embed.txt"),
    ("\u2028sep.txt", "sep.txt"),
    ("file\ud800.txt", "file.txt"),
    ("\xa0nbsp\u3000space.txt", "nbsp space.txt"),
    # Characters Windows forbids become "_".
    ("a<b>c.txt", "a_b_c.txt"),
    ('q"uote".txt', "q_uote_.txt"),
    ("pipe|star*.txt", "pipe_star_.txt"),
    ("what?.txt", "what_.txt"),
    ("c:colon.txt", "c_colon.txt"),
    # Windows device names, whatever the case or extension.
    ("CON", "_CON"),
    ("con.txt", "_con.txt"),
    ("NUL.mp3", "_NUL.mp3"),
    ("nul.tar.gz", "_nul.tar.gz"),
    ("Com1", "_Com1"),
    ("COM9.log", "_COM9.log"),
    ("lpt1.txt", "_lpt1.txt"),
    ("LPT9", "_LPT9"),
    ("COM¹.txt", "_COM¹.txt"),
    ("lpt³", "_lpt³"),
    ("AUX .txt", "_AUX .txt"),
    ("PRN.", "_PRN"),
    ("CONOUT$", "_CONOUT$"),
    # ...but only device names.
    ("COM10.txt", "COM10.txt"),
    ("CONSOLE.txt", "CONSOLE.txt"),
    ("NULL.mp3", "NULL.mp3"),
    # Nothing left: a fallback name, never "".
    ("", "upload"),
    ("   ", "upload"),
    ("\x00\x01\x02", "upload"),
    ("\u202e", "upload"),
    # Letters of every script are kept; NFC gives one spelling.
    ("音乐.mp3", "音乐.mp3"),
    ("фото.jpg", "фото.jpg"),
    ("é.txt", "é.txt"),
    ("e\u0301.txt", "é.txt"),
    ("Ωmega ñ.flac", "Ωmega ñ.flac"),
    # Percent escapes are the multipart parser's business, not ours.
    ("%22quoted%22.txt", "%22quoted%22.txt"),
    # Long names are cut to 255 bytes, keeping the extension.
    (LONG_ASCII, "x" * 251 + ".mp3"),
    (LONG_CJK, "音" * 83 + ".flac"),
    (LONG_EMOJI, "😀" * 62 + ".png"),
    ("x" * 300, "x" * 255),
]


@pytest.mark.parametrize(("name", "expected"), HOSTILE_NAMES)
def test_hostile_name_is_sanitized_to_expected(name: str, expected: str) -> None:
    assert secure_filename(name) == expected


@pytest.mark.parametrize("name", ["音乐.mp3", "фото.jpg", "é.txt", "song (live).mp3", "a_b-c.tar.gz"])
def test_ordinary_names_are_kept_unchanged(name: str) -> None:
    assert secure_filename(name) == name


@pytest.mark.parametrize("name", [LONG_ASCII, LONG_CJK, LONG_EMOJI, "é" * 200 + ".txt", "a" + "\u0301" * 300])
def test_long_name_fits_255_bytes_and_is_cut_on_a_character_boundary(name: str) -> None:
    cut = secure_filename(name)
    assert len(cut.encode("utf-8")) <= 255
    extension = extension_of(name)
    stem = cut.removesuffix("." + extension) if extension else cut
    # A prefix of the (normalised) name: whole characters, none half-cut or replaced.
    assert unicodedata.normalize("NFC", name).startswith(stem)
    assert len(stem.encode("utf-8")) > 200


@pytest.mark.parametrize("name", [LONG_ASCII, LONG_CJK, LONG_EMOJI])
def test_long_name_keeps_its_extension(name: str) -> None:
    assert extension_of(secure_filename(name)) == extension_of(name) != ""


def test_long_name_whose_normal_form_grows_still_fits_255_bytes() -> None:
    """U+0958 is one code point but two once NFC-normalised: the limit applies to the normalised name."""
    name = "a" * 250 + "\u0958" * 3 + ".mp3"
    cut = secure_filename(name)
    assert len(cut.encode("utf-8")) <= 255
    assert cut.endswith(".mp3")
    assert secure_filename(cut) == cut


@pytest.mark.parametrize(
    ("name", "extension"),
    [
        ("a.PHP.", "php"),
        ("x.exe.mp3", "mp3"),
        ("song.MP3", "mp3"),
        ("archive.tar.gz", "gz"),
        ("C:\\x\\evil.Exe", "exe"),
        ("noextension", ""),
        (".mp3", ""),  # a hidden file called "mp3", not an MP3
        ("..mp3", ""),
        ("a.mp3 ", "mp3"),
        ("a.mp3\u202e", "mp3"),
        ("фото.JPG", "jpg"),
        ("", ""),
    ],
)
def test_extension_is_last_extension_of_sanitized_name_lowercased(name: str, extension: str) -> None:
    assert extension_of(name) == extension


# Any Unicode at all, plus names built from the characters attacks are made of.
ATTACK_ALPHABET = st.sampled_from(
    list('./\\:*?"<>| \t\r\n\x00\x85\u00a0\u200b\u200d\u202a\u202e\u2066\u2069\ufeff\u0301¹²³$')
    + list("CONPRAUXLMconpraux0123456789")
    + ["音", "😀", "é", "e", "\u0958"]
)
NAMES = st.one_of(
    st.text(max_size=300),
    st.text(ATTACK_ALPHABET, max_size=40),
    st.builds(
        lambda stem, ext: stem + ext, st.sampled_from(sorted(DEVICE_STEMS)), st.text(ATTACK_ALPHABET, max_size=8)
    ),
    st.text(st.characters(min_codepoint=0x80), min_size=60, max_size=200),
)
PROPERTY_SETTINGS = settings(max_examples=400, deadline=None)


@PROPERTY_SETTINGS
@given(NAMES)
def test_sanitizing_is_idempotent(name: str) -> None:
    once = secure_filename(name)
    assert secure_filename(once) == once


@PROPERTY_SETTINGS
@given(NAMES)
def test_sanitized_name_is_never_empty(name: str) -> None:
    assert secure_filename(name) != ""


@PROPERTY_SETTINGS
@given(NAMES)
def test_sanitized_name_is_at_most_255_utf8_bytes(name: str) -> None:
    assert len(secure_filename(name).encode("utf-8")) <= 255


@PROPERTY_SETTINGS
@given(NAMES)
def test_sanitized_name_has_no_separator_forbidden_or_control_character(name: str) -> None:
    result = secure_filename(name)
    assert not re.search(r'[<>:"/\\|?*]', result)
    assert not [char for char in result if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp")]


@PROPERTY_SETTINGS
@given(NAMES)
def test_sanitized_name_has_no_leading_or_trailing_dot_or_space(name: str) -> None:
    result = secure_filename(name)
    assert result[0] not in ". " and result[-1] not in ". "
    assert result not in (".", "..")


@PROPERTY_SETTINGS
@given(NAMES)
def test_sanitized_name_is_never_a_windows_device_name(name: str) -> None:
    stem = secure_filename(name).split(".")[0].rstrip(" ")
    assert stem.upper() not in DEVICE_STEMS


@PROPERTY_SETTINGS
@given(NAMES)
def test_sanitized_name_is_nfc_normalized(name: str) -> None:
    result = secure_filename(name)
    assert unicodedata.normalize("NFC", result) == result
