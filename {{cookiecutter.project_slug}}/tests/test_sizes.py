"""``parse_size`` and ``format_size``: the sizes of the ini files and of the page."""

import pytest

from {{ cookiecutter.project_slug }}.sizes import format_size, parse_size

KIB = 1024
MIB = 1024**2
GIB = 1024**3
TIB = 1024**4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512KB", 512 * KIB),
        ("100MB", 100 * MIB),
        ("2GB", 2 * GIB),
        ("1TB", TIB),
        ("1.5GiB", int(1.5 * GIB)),
        ("64KiB", 64 * KIB),
        ("1048576", 1048576),
        ("1", 1),
        ("10B", 10),
        ("3K", 3 * KIB),
        ("3M", 3 * MIB),
        ("0.5MB", 512 * KIB),
    ],
)
def test_parses_units_as_powers_of_1024(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["512kb", "512Kb", "512kB", "512KB", "512kib", "512KIB", "512kIb"])
def test_units_are_case_insensitive(text: str) -> None:
    assert parse_size(text) == 512 * KIB


@pytest.mark.parametrize("text", ["  100MB  ", "100 MB", "100\tMB"])
def test_whitespace_around_and_before_the_unit_is_allowed(text: str) -> None:
    assert parse_size(text) == 100 * MIB


@pytest.mark.parametrize(
    "text",
    ["", "   ", "MB", "big", "100XB", "100 MBs", "1PB", "1,5GB", "1.5.2MB", "0x10", "1e6", "ten MB", "12 34", "100MB;"],
)
def test_garbage_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)


@pytest.mark.parametrize("text", ["0", "0KB", "0.0GB", "0.4", "0.0001KB"])
def test_zero_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="less than one byte"):
        parse_size(text)


@pytest.mark.parametrize("text", ["-1", "-100MB", "-0.5GB", "+5MB"])
def test_signed_sizes_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


def test_refusal_message_shows_the_value_and_examples() -> None:
    with pytest.raises(ValueError) as raised:
        parse_size("lots")
    assert "'lots'" in str(raised.value)
    assert "512KB" in str(raised.value)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (900, "900 bytes"),
        (1023, "1023 bytes"),
        (1024, "1 KiB"),
        (1536, "1.5 KiB"),
        (64 * KIB, "64 KiB"),
        (100 * MIB, "100 MiB"),
        (int(1.5 * MIB), "1.5 MiB"),
        (4 * GIB, "4 GiB"),
        (2 * TIB, "2 TiB"),
        (5000 * TIB, "5000 TiB"),
    ],
)
def test_format_size(size: int, expected: str) -> None:
    assert format_size(size) == expected


@pytest.mark.parametrize(
    ("size", "expected"),
    [(MIB - 1, "1 MiB"), (GIB - 1, "1 GiB"), (TIB - 1, "1 TiB")],
)
def test_format_size_rounding_up_moves_to_the_next_unit(size: int, expected: str) -> None:
    assert format_size(size) == expected


@pytest.mark.parametrize("text", ["512KB", "100MB", "4GB", "1.5GiB", "1TB"])
def test_format_size_reads_back_as_the_same_size(text: str) -> None:
    shown = format_size(parse_size(text))
    assert parse_size(shown.replace(" ", "")) == parse_size(text)


@pytest.mark.parametrize("text", ["\u0661\u0660\u0660MB", "\uff15MB", "1\u00b2KB"])
def test_digits_outside_ascii_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)
