"""Human-readable byte sizes: ``512KB``, ``100MB``, ``1.5GiB`` or plain bytes.

Units are powers of 1024 whether written ``KB`` or ``KiB`` (the way people
size uploads, and the way browsers and ``ls -h`` report them), and case does
not matter. The template's hooks and the ini files share this one parser, so
a size accepted when the project is generated is accepted when it starts.
"""

import re

_UNITS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}
_SIZE = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?:(?P<unit>[kmgt])i?)?b?", re.IGNORECASE | re.ASCII)


def parse_size(text: str) -> int:
    """Return the number of bytes ``text`` stands for.

    Raises ``ValueError`` with a readable reason for anything else, including
    zero: a limit of nothing is a typo, not a policy.
    """
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a size (examples: 512KB, 100MB, 2GB, 1.5GiB, 1048576)")
    unit = (match["unit"] or "").lower()
    size = int(float(match["number"]) * 1024 ** _UNITS[unit])
    if size < 1:
        raise ValueError(f"{text!r} is less than one byte")
    return size


def format_size(size: int) -> str:
    """Format ``size`` bytes for people: ``4 GiB``, ``1.5 MiB``, ``900 bytes``."""
    if size < 1024:
        return f"{size} bytes" if size != 1 else "1 byte"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        # Compare what will be shown: 1023.96 KiB would read "1024 KiB".
        if round(value, 1) < 1024 or unit == "TiB":
            break
    return f"{value:.1f}".removesuffix(".0") + f" {unit}"
