"""Signatures on relayed messages: proof that a message on a producer's subjects is the producer's.

The relay signs each message with its producer's signing key (HMAC-SHA256 over the payload);
consumers of that producer hold the key and check the signature before they apply a message.
A message that fails is treated as lost: its position is filled from the producer's feed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping

SIGNATURE_HEADER = "Carepair-Signature"
_VERSION = "v1="
_DOMAIN = b"carepair event v1\n"  # a signature over anything else never matches one of these


def sign(key: bytes, payload: bytes) -> str:
    """The signature header's value for `payload` under `key`."""
    digest = hmac.new(key, _DOMAIN + payload, hashlib.sha256).digest()
    return _VERSION + base64.urlsafe_b64encode(digest).decode().rstrip("=")


class Verifier:
    """Checks messages against the keys of the producers a service consumes."""

    def __init__(self, keys: Mapping[str, Iterable[bytes]]) -> None:
        # Several keys per producer: during a rotation both the old and the new one are good.
        self._keys = {producer: tuple(found) for producer, found in keys.items()}

    def producers(self) -> set[str]:
        return {producer for producer, keys in self._keys.items() if keys}

    def problem(self, producer: str, headers: Mapping[str, str] | None, payload: bytes) -> str | None:
        """None when the message is signed by `producer`; otherwise what is wrong with it."""
        signature = (headers or {}).get(SIGNATURE_HEADER)
        if not signature:
            return "no signature"
        for key in self._keys.get(producer, ()):
            if hmac.compare_digest(sign(key, payload), signature):
                return None
        return "wrong signature"


def signing_keys(text: str) -> dict[str, list[bytes]]:
    """Parses `producer:key,producer:key,…` (a producer may have several keys)."""
    keys: dict[str, list[bytes]] = {}
    for item in text.split(","):
        producer, _, key = item.strip().partition(":")
        if producer and key:
            keys.setdefault(producer, []).append(key.encode())
    return keys
