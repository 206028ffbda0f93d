"""Authenticated ciphers (AEAD) that seal personal data and wrap data keys."""

from __future__ import annotations

import os
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_SIZE = 12
TAG_SIZE = 16


class CipherError(ValueError):
    """A cipher used wrongly: an unknown name or a key of the wrong size."""


class TamperedCiphertext(ValueError):
    """A ciphertext that fails authentication: altered, truncated, or under another key or aad."""


class AeadCipher(Protocol):
    """An authenticated cipher: `encrypt` returns nonce ‖ ciphertext ‖ tag."""

    @property
    def name(self) -> str: ...

    @property
    def key_size(self) -> int: ...

    def encrypt(self, key: bytes, plaintext: bytes, aad: bytes) -> bytes: ...

    def decrypt(self, key: bytes, blob: bytes, aad: bytes) -> bytes: ...


def _check_key(cipher: AeadCipher, key: bytes) -> None:
    if len(key) != cipher.key_size:
        raise CipherError(f"{cipher.name} needs a {cipher.key_size * 8}-bit key, got {len(key) * 8} bits")


def _split(blob: bytes) -> tuple[bytes, bytes, bytes]:
    if len(blob) < NONCE_SIZE + TAG_SIZE:
        raise TamperedCiphertext("ciphertext is too short to hold a nonce and a tag")
    return blob[:NONCE_SIZE], blob[NONCE_SIZE:-TAG_SIZE], blob[-TAG_SIZE:]


class AesGcm:
    """AES-256 in Galois/Counter Mode with a random 96-bit nonce per message."""

    name = "aes-256-gcm"
    key_size = 32

    def encrypt(self, key: bytes, plaintext: bytes, aad: bytes) -> bytes:
        _check_key(self, key)
        nonce = os.urandom(NONCE_SIZE)
        return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)

    def decrypt(self, key: bytes, blob: bytes, aad: bytes) -> bytes:
        _check_key(self, key)
        nonce, _, _ = _split(blob)
        try:
            return AESGCM(key).decrypt(nonce, blob[NONCE_SIZE:], aad)
        except InvalidTag:
            raise TamperedCiphertext(f"{self.name}: authentication failed") from None


class Sm4Gcm:
    """SM4 (GB/T 32907) in Galois/Counter Mode with a random 96-bit nonce per message."""

    name = "sm4-gcm"
    key_size = 16

    def encrypt(self, key: bytes, plaintext: bytes, aad: bytes) -> bytes:
        _check_key(self, key)
        nonce = os.urandom(NONCE_SIZE)
        encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(aad)
        body = encryptor.update(plaintext) + encryptor.finalize()
        return nonce + body + encryptor.tag

    def decrypt(self, key: bytes, blob: bytes, aad: bytes) -> bytes:
        _check_key(self, key)
        nonce, body, tag = _split(blob)
        decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(aad)
        try:
            return decryptor.update(body) + decryptor.finalize()
        except InvalidTag:
            raise TamperedCiphertext(f"{self.name}: authentication failed") from None


_CIPHERS: dict[str, AeadCipher] = {c.name: c for c in (AesGcm(), Sm4Gcm())}

CIPHER_NAMES: tuple[str, ...] = tuple(_CIPHERS)


def cipher_named(name: str) -> AeadCipher:
    """Returns the cipher called `name` ("aes-256-gcm" or "sm4-gcm")."""
    try:
        return _CIPHERS[name]
    except KeyError:
        known = ", ".join(sorted(_CIPHERS))
        raise CipherError(f"unknown cipher {name!r}: use one of {known}") from None
