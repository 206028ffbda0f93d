"""AEAD ciphers: round trips, random nonces, and tamper detection."""

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.personal import (
    AeadCipher,
    AesGcm,
    CipherError,
    Sm4Gcm,
    TamperedCiphertext,
    cipher_named,
)
from shared.personal.ciphers import NONCE_SIZE, TAG_SIZE

CIPHERS: list[AeadCipher] = [AesGcm(), Sm4Gcm()]


@pytest.fixture(params=CIPHERS, ids=lambda c: c.name)
def cipher(request: pytest.FixtureRequest):
    return request.param


def test_names_and_key_sizes() -> None:
    assert (AesGcm.name, AesGcm.key_size) == ("aes-256-gcm", 32)
    assert (Sm4Gcm.name, Sm4Gcm.key_size) == ("sm4-gcm", 16)
    assert isinstance(cipher_named("aes-256-gcm"), AesGcm)
    assert isinstance(cipher_named("sm4-gcm"), Sm4Gcm)


def test_unknown_cipher_is_refused() -> None:
    with pytest.raises(CipherError, match="unknown cipher 'rot13'"):
        cipher_named("rot13")


def test_round_trip_lays_out_nonce_body_tag(cipher) -> None:
    key = os.urandom(cipher.key_size)
    blob = cipher.encrypt(key, "张三 13800138000".encode(), b"aad")
    assert len(blob) == NONCE_SIZE + len("张三 13800138000".encode()) + TAG_SIZE
    assert cipher.decrypt(key, blob, b"aad") == "张三 13800138000".encode()


def test_nonce_is_fresh_each_time(cipher) -> None:
    key = os.urandom(cipher.key_size)
    first, second = cipher.encrypt(key, b"same", b""), cipher.encrypt(key, b"same", b"")
    assert first[:NONCE_SIZE] != second[:NONCE_SIZE]
    assert first != second


@pytest.mark.parametrize("position", [0, NONCE_SIZE, -1])
def test_flipped_bit_is_detected(cipher, position: int) -> None:
    key = os.urandom(cipher.key_size)
    blob = bytearray(cipher.encrypt(key, b"secret data", b"aad"))
    blob[position] ^= 0x01
    with pytest.raises(TamperedCiphertext):
        cipher.decrypt(key, bytes(blob), b"aad")


def test_other_aad_is_detected(cipher) -> None:
    key = os.urandom(cipher.key_size)
    blob = cipher.encrypt(key, b"secret data", b"person-1")
    with pytest.raises(TamperedCiphertext):
        cipher.decrypt(key, blob, b"person-2")


def test_other_key_is_detected(cipher) -> None:
    blob = cipher.encrypt(os.urandom(cipher.key_size), b"secret data", b"")
    with pytest.raises(TamperedCiphertext):
        cipher.decrypt(os.urandom(cipher.key_size), blob, b"")


def test_truncated_blob_is_detected(cipher) -> None:
    key = os.urandom(cipher.key_size)
    blob = cipher.encrypt(key, b"", b"")
    with pytest.raises(TamperedCiphertext):
        cipher.decrypt(key, blob[:-1], b"")
    with pytest.raises(TamperedCiphertext):
        cipher.decrypt(key, b"short", b"")


def test_wrong_key_size_is_refused(cipher) -> None:
    with pytest.raises(CipherError, match=f"{cipher.key_size * 8}-bit key"):
        cipher.encrypt(os.urandom(cipher.key_size + 1), b"x", b"")
    with pytest.raises(CipherError):
        cipher.decrypt(b"short", b"\0" * 40, b"")


def test_ciphers_do_not_read_each_other() -> None:
    key = os.urandom(16)
    blob = Sm4Gcm().encrypt(key, b"x", b"")
    with pytest.raises(CipherError):
        AesGcm().decrypt(key, blob, b"")


@given(plaintext=st.binary(max_size=512), aad=st.binary(max_size=64))
def test_round_trip_property(plaintext: bytes, aad: bytes) -> None:
    for cipher in CIPHERS:
        key = os.urandom(cipher.key_size)
        assert cipher.decrypt(key, cipher.encrypt(key, plaintext, aad), aad) == plaintext
