"""Master keys from configuration: right sizes only, placeholders refused."""

import base64
import os

import pytest

from shared.personal import InvalidMasterKey, MasterKey


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_random_key_is_accepted_and_hidden_from_repr() -> None:
    raw = os.urandom(32)
    master = MasterKey.from_base64("2025-01", "  " + b64(raw) + "\n")
    assert master.key == raw and master.key_id == "2025-01"
    assert master.algorithm == "aes-256-gcm"
    assert b64(raw) not in repr(master) and str(raw) not in repr(master)


def test_sm4_master_key_takes_sixteen_bytes() -> None:
    raw = os.urandom(16)
    assert MasterKey.from_base64("k1", b64(raw), algorithm="sm4-gcm").key == raw
    with pytest.raises(InvalidMasterKey, match="sm4-gcm needs 16 random bytes"):
        MasterKey.from_base64("k1", b64(os.urandom(32)), algorithm="sm4-gcm")


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_wrong_size_is_refused(size: int) -> None:
    with pytest.raises(InvalidMasterKey, match="k1"):
        MasterKey.from_base64("k1", b64(os.urandom(size)))


@pytest.mark.parametrize(
    "text",
    [
        "changeme",
        "CHANGEME",
        "change-me-please",
        "<placeholder>",
        "your-secret-here",
        b64(bytes(32)),  # all zero
        b64(b"\xff" * 32),
        b64(b"\x01\x02\x03\x04" * 8),  # repeating
        b64(b"changemechangemechangemechangeme"),
        b64(b"0123456789abcdef0123456789abcdef"),  # text, not random bytes
        "",
        "   ",
    ],
)
def test_placeholders_are_refused(text: str) -> None:
    with pytest.raises(InvalidMasterKey, match="generate one with"):
        MasterKey.from_base64("k1", text)


def test_invalid_base64_is_refused() -> None:
    with pytest.raises(InvalidMasterKey, match="not valid base64"):
        MasterKey.from_base64("k1", "not*base64!" + base64.b64encode(os.urandom(30)).decode())


def test_empty_key_id_is_refused() -> None:
    with pytest.raises(InvalidMasterKey, match="key id"):
        MasterKey.from_base64(" ", b64(os.urandom(32)))


def test_direct_construction_checks_too() -> None:
    with pytest.raises(InvalidMasterKey, match="all-zero"):
        MasterKey("k1", bytes(32))
    with pytest.raises(InvalidMasterKey, match="32"):
        MasterKey("k1", os.urandom(8))
