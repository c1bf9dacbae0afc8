"""The tus protocol's header rules (``tus.py``), without a server."""

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from {{ cookiecutter.project_slug }} import tus

pytestmark = pytest.mark.tus


@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_.-]{0,10}", fullmatch=True), st.text(max_size=20), max_size=8))
def test_metadata_survives_a_round_trip(metadata: dict[str, str]) -> None:
    assert tus.parse_metadata(tus.encode_metadata(metadata)) == metadata


def test_a_metadata_key_without_a_value_is_an_empty_string() -> None:
    assert tus.parse_metadata("is_confidential,filename YS5iaW4=") == {"is_confidential": "", "filename": "a.bin"}


@pytest.mark.parametrize("value", ["0", "1", "9223372036854775807"])
def test_counts_are_digits_only(value: str) -> None:
    assert tus.parse_count("Upload-Offset", value) == int(value)


@pytest.mark.parametrize("value", ["9223372036854775808", "-0", "+1", "١٢", ""])
def test_counts_outside_a_signed_64_bit_number_or_not_ascii_digits_are_refused(value: str) -> None:
    with pytest.raises(tus.InvalidHeader):
        tus.parse_count("Upload-Offset", value)


def test_a_checksum_verifier_raises_after_the_last_chunk_when_they_differ() -> None:
    checksum = tus.parse_checksum("sha256 " + base64.b64encode(hashlib.sha256(b"right").digest()).decode())
    assert b"".join(checksum.verifier([b"ri", b"ght"])) == b"right"
    with pytest.raises(tus.ChecksumMismatch):
        b"".join(checksum.verifier([b"wrong"]))


def test_a_digest_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(tus.InvalidHeader):
        tus.parse_checksum("sha1 " + base64.b64encode(b"short").decode())


def test_a_final_concatenation_names_its_parts_in_order() -> None:
    concat = tus.parse_concat("final;/uploads/a /uploads/b", lambda url: url.rsplit("/", 1)[1])
    assert concat == tus.Concat(partial=False, parts=("a", "b"))


def test_a_final_concatenation_of_a_foreign_url_is_refused() -> None:
    with pytest.raises(tus.InvalidHeader):
        tus.parse_concat("final;https://elsewhere.example/x", lambda url: None)
