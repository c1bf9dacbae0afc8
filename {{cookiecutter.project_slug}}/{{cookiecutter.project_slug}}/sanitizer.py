"""Turn a client-supplied filename into a safe name for display and downloads.

The name a browser sends is attacker-controlled text. We never build a path
from it (files are stored under generated ids, see ``storage.py``); we only
show it and offer it back in ``Content-Disposition``. These rules make it
harmless there, and on whatever disk a user later saves it to:

1. Keep the last path component: old browsers send ``C:\\Users\\me\\a.mp3``.
2. Drop control and invisible format characters (NUL, CR, LF, bidi overrides
   that make ``evil\u202egpj.exe`` display as ``evilexe.jpg``, zero-width
   characters) and normalise to NFC, so one visible name has one spelling.
3. Replace the characters Windows forbids, ``<>:"/\\|?*``, with ``_``.
4. Strip leading and trailing dots and spaces: no hidden files, no ``..``.
5. Prefix Windows device names (``CON``, ``nul.txt``, ``COM1``, ``LPT²``...)
   with ``_``: saving a file called ``NUL.mp3`` on Windows loses it.
6. Cut to 255 UTF-8 bytes on a character boundary, keeping the extension.
7. Never return an empty name: fall back to ``upload``.

Letters of every script are kept (``фото.jpg`` stays ``фото.jpg``).
"""

import re
import unicodedata

MAX_BYTES = 255
FALLBACK = "upload"

# Unicode categories dropped outright: controls, format characters (bidi
# overrides, zero-width joiners and spaces, BOM), surrogates, private use,
# and line or paragraph separators.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
_FORBIDDEN = re.compile(r'[<>:"/\\|?*]')
# Windows reserves these whatever the extension or case (``nul.tar.gz`` is
# the device too); COM0, LPT0 and the console's CONIN$/CONOUT$ are listed by
# Microsoft's "Naming Files, Paths, and Namespaces" as well.
_DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{port}{digit}" for port in ("COM", "LPT") for digit in "0123456789\u00b9\u00b2\u00b3"}
)
# What counts as an extension worth keeping when a long name is cut.
_EXTENSION = re.compile(r"\.[^\W_]{1,16}\Z")


def secure_filename(name: str) -> str:
    """Return a display-safe version of ``name``; see the module docstring."""
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(_visible(char) for char in name)
    name = unicodedata.normalize("NFC", name)
    name = _FORBIDDEN.sub("_", name)
    name = name.strip(". ")
    if name.split(".")[0].rstrip(" ").upper() in _DEVICE_NAMES:
        name = "_" + name
    name = _truncate(name)
    return name or FALLBACK


def extension_of(name: str) -> str:
    """The lower-cased last extension of ``name`` once sanitized, or ``""``.

    This is what ``uploads.allowed_extensions`` is checked against:
    ``x.exe.mp3`` is ``mp3``, and ``a.PHP.`` is ``php`` because Windows drops
    the trailing dot when saving it. Sanitizing first (it is idempotent) means
    the check always sees the name the file will be offered under.
    """
    stem, dot, extension = secure_filename(name).rpartition(".")
    return extension.lower() if dot and stem else ""


def _visible(char: str) -> str:
    category = unicodedata.category(char)
    if category in _DROPPED_CATEGORIES:
        return ""
    # Non-breaking and other exotic spaces look like spaces: make them one.
    return " " if category == "Zs" else char


def _truncate(name: str) -> str:
    if len(name.encode("utf-8")) <= MAX_BYTES:
        return name
    match = _EXTENSION.search(name)
    extension = match.group() if match and match.start() > 0 else ""
    stem = _cut(name[: len(name) - len(extension)], MAX_BYTES - len(extension.encode("utf-8")))
    return stem + extension if stem else FALLBACK + extension


def _cut(text: str, budget: int) -> str:
    """The longest NFC prefix of ``text`` that fits in ``budget`` UTF-8 bytes.

    Decoding with "ignore" drops a character cut in half by the byte limit.
    Normalising the prefix again can (rarely) make it longer, e.g. U+0958
    becomes two code points, so shorten until the normalised form fits.
    """
    cut = text.encode("utf-8")[:budget].decode("utf-8", "ignore")
    while True:
        stem = unicodedata.normalize("NFC", cut).rstrip(". ")
        if len(stem.encode("utf-8")) <= budget:
            return stem
        cut = cut[:-1]
