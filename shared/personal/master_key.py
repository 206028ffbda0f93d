"""The master key that wraps every data key at rest, read from configuration."""

from __future__ import annotations

import base64
import binascii
import string
from dataclasses import dataclass, field

from shared.personal.ciphers import AeadCipher, cipher_named

GENERATE_HINT = (
    'generate one with: python -c "import base64, os; print(base64.b64encode(os.urandom(32)).decode())"'
)

# Only words of six letters or more: a random base64 key contains one by chance < 1e-6.
_PLACEHOLDER_WORDS = (
    "changeme",
    "change-me",
    "change_me",
    "placeholder",
    "replace",
    "example",
    "secret",
    "password",
    "default",
    "insert",
    "xxxxxx",
    "aaaaaa",
    "000000",
)
_PRINTABLE = set(string.printable.encode())


class InvalidMasterKey(ValueError):
    """A master key that is missing, of the wrong size, or an obvious placeholder."""


@dataclass(frozen=True, slots=True)
class MasterKey:
    """A key-encryption key named `key_id`; `repr` never shows the key."""

    key_id: str
    key: bytes = field(repr=False)
    algorithm: str = "aes-256-gcm"

    def __post_init__(self) -> None:
        if not self.key_id.strip():
            raise InvalidMasterKey("a master key needs a non-empty key id")
        size = cipher_named(self.algorithm).key_size
        if len(self.key) != size:
            raise InvalidMasterKey(
                f"master key {self.key_id!r} has {len(self.key)} bytes; {self.algorithm} needs "
                f"{size} random bytes, base64-encoded; {GENERATE_HINT}"
            )
        _refuse_weak(self.key_id, self.key)

    @property
    def cipher(self) -> AeadCipher:
        return cipher_named(self.algorithm)

    @classmethod
    def from_base64(cls, key_id: str, text: str, algorithm: str = "aes-256-gcm") -> MasterKey:
        """Decodes a base64 key from configuration, refusing wrong sizes and placeholders."""
        cleaned = (text or "").strip()
        if not cleaned:
            raise InvalidMasterKey(f"master key {key_id!r} is empty; {GENERATE_HINT}")
        lowered = cleaned.lower()
        for word in _PLACEHOLDER_WORDS:
            if word in lowered:
                raise InvalidMasterKey(
                    f"master key {key_id!r} looks like a placeholder ({word!r}); {GENERATE_HINT}"
                )
        try:
            raw = base64.b64decode(cleaned, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidMasterKey(f"master key {key_id!r} is not valid base64; {GENERATE_HINT}") from None
        return cls(key_id, raw, algorithm)


def _refuse_weak(key_id: str, key: bytes) -> None:
    if len(set(key)) <= max(2, len(key) // 4):
        raise InvalidMasterKey(
            f"master key {key_id!r} is a placeholder (all-zero or repeating bytes); {GENERATE_HINT}"
        )
    if all(b in _PRINTABLE for b in key):
        lowered = key.decode("ascii").lower()
        hit = next((w for w in _PLACEHOLDER_WORDS if w in lowered), None)
        reason = f"placeholder text ({hit!r})" if hit else "text, not random bytes"
        raise InvalidMasterKey(f"master key {key_id!r} decodes to {reason}; {GENERATE_HINT}")
