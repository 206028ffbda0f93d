"""Seals the personal fields of event payloads on write and unseals them on read."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from shared.contracts.base import ERASED, EventPayload
from shared.contracts.introspection import (
    EACH,
    PersonalContractError,
    Segment,
    check_contract,
    contract_fields,
    personal_fields,
)
from shared.personal.building import build_payload
from shared.personal.ciphers import CipherError, TamperedCiphertext, cipher_named
from shared.personal.keystore import DataKey, KeyStore, PersonErased

__all__ = [
    "ENVELOPE",
    "MalformedSealedField",
    "PayloadSealer",
    "build_payload",
    "check_contract",
    "personal_fields",
]

ENVELOPE = "$personal"
"""The key of the one-key object that replaces a sealed field in stored JSON."""

FORMAT_VERSION = 1

Path = tuple[Segment, ...]


class MalformedSealedField(TamperedCiphertext):
    """A `$personal` object that is not a well-formed sealed field."""


@dataclass(slots=True)
class _Site:
    """Where a value to seal or unseal sits: its container, its key there and its full path."""

    doc: int
    container: dict[str, Any] | list[Any]
    key: Any
    path: Path
    owner: str
    envelope: dict[str, Any] | None = None


class PayloadSealer:
    """Encrypts every `Personal` field under its owner's data key, and decrypts it back.

    A sealed field's ciphertext is bound (as AEAD associated data) to its owner and its path
    from the root of the sealed dict: moved or swapped ciphertexts fail authentication, so
    `unseal` must be given the very dict `seal` returned, before any upcasting. When
    `algorithm` is given, `seal` refuses data keys made for any other cipher.
    """

    def __init__(self, keystore: KeyStore, algorithm: str | None = None) -> None:
        if algorithm is not None:
            cipher_named(algorithm)
        self.keystore = keystore
        self.algorithm = algorithm

    async def seal(self, payload: EventPayload) -> dict[str, Any]:
        """Returns the payload's JSON dict with each marked field replaced by a sealed object."""
        return (await self.seal_many([payload]))[0]

    async def seal_many(self, payloads: Sequence[EventPayload]) -> list[dict[str, Any]]:
        """Seals a batch, asking the key store once for every owner in it."""
        docs: list[dict[str, Any]] = []
        sites: list[_Site] = []
        for doc, payload in enumerate(payloads):
            check_contract(type(payload))
            data = payload.model_dump(mode="json", by_alias=False)
            if _holds_reserved(data):  # the cheap check; the slow one names the place
                _refuse_reserved(data, type(payload).__name__, ())
            docs.append(data)
            _collect_sites(doc, data, payload, sites)
        if not sites:
            return docs
        keys = await self._writing_keys({s.owner for s in sites})
        for site in sites:
            key = keys[site.owner]
            value = site.container[site.key]
            site.container[site.key] = {ENVELOPE: encrypt_value(key, site.path, value)}
        return docs

    async def unseal(self, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Returns a copy of `data` with every sealed field decrypted, and whether any was erased.

        Works on any JSON shape (old schema versions included). A field whose owner's key is
        destroyed reads as `ERASED`; a tampered one raises `TamperedCiphertext`.
        """
        return (await self.unseal_many([data]))[0]

    async def unseal_many(self, data: Sequence[dict[str, Any]]) -> list[tuple[dict[str, Any], bool]]:
        """Unseals a batch, asking the key store once for every owner in it."""
        sites: list[_Site] = []
        copies: list[dict[str, Any]] = []
        for doc, item in enumerate(data):
            if not isinstance(item, dict) or ENVELOPE in item:
                raise MalformedSealedField("a sealed payload is a JSON object, never sealed whole")
            copies.append(_copy_collect(doc, item, (), sites))
        erased = [False] * len(copies)
        keys = await self.keystore.keys_for_reading({s.owner for s in sites}) if sites else {}
        for site in sites:
            key = keys.get(site.owner)
            if key is None:
                site.container[site.key] = ERASED
                erased[site.doc] = True
            else:
                assert site.envelope is not None
                site.container[site.key] = decrypt_value(key, site.path, site.envelope)
        return list(zip(copies, erased, strict=True))

    async def _writing_keys(self, owners: set[str]) -> dict[str, DataKey]:
        if not owners:
            return {}
        found = await self.keystore.keys_for_writing(sorted(owners))
        erased = sorted(o for o, k in found.items() if k is None)
        if erased:
            raise PersonErased(erased[0])
        keys = {o: k for o, k in found.items() if k is not None}
        for key in keys.values():
            if self.algorithm is not None and key.algorithm != self.algorithm:
                raise CipherError(
                    f"the data key of {key.person_id!r} is for {key.algorithm}, but this sealer "
                    f"writes {self.algorithm}: configure the key store with the same algorithm"
                )
        return keys


def _collect_sites(doc: int, data: dict[str, Any], payload: EventPayload, sites: list[_Site]) -> None:
    for field in contract_fields(type(payload)):
        owner = data.get(field.owner)
        if len(field.path) == 1:  # a top-level field, the common case: no walk
            key = field.path[0]
            located: Iterable[tuple[Any, Any, Path]] = ((data, key, field.path),) if key in data else ()
        else:
            located = _locate(data, field.path, ())
        for container, key, path in located:
            if container[key] is None:
                continue
            if not isinstance(owner, str) or not owner:
                raise PersonalContractError(
                    f"{type(payload).__name__}.{field.dotted} is personal data of the person in "
                    f"{field.owner!r}, but {field.owner} is {owner!r}: set it before sealing"
                )
            sites.append(_Site(doc, container, key, path, owner))


def _locate(node: Any, template: Path, path: Path) -> Iterator[tuple[Any, Any, Path]]:
    """Yields (container, key, concrete path) of every value at `template` under `node`."""
    head, rest = template[0], template[1:]
    for key, child in _children(node, head):
        if not rest:
            yield node, key, (*path, key)
        elif child is not None:
            yield from _locate(child, rest, (*path, key))


def _children(node: Any, segment: Segment) -> Iterable[tuple[Any, Any]]:
    if segment == EACH:
        if isinstance(node, list):
            return enumerate(node)
        return node.items() if isinstance(node, dict) else ()
    if isinstance(segment, int):
        return [(segment, node[segment])] if isinstance(node, list) and segment < len(node) else ()
    return [(segment, node[segment])] if isinstance(node, dict) and segment in node else ()


def _holds_reserved(node: Any) -> bool:
    """Whether the reserved key appears anywhere; no paths built, so it costs little."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if ENVELOPE in item:
                return True
            stack.extend(v for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, dict | list))
    return False


def _refuse_reserved(node: Any, where: str, path: Path) -> None:
    if isinstance(node, dict):
        if ENVELOPE in node:
            raise PersonalContractError(
                f"{where}: {'.'.join(map(str, path)) or 'the payload'} holds the reserved key "
                f"{ENVELOPE!r}, which would read back as a sealed field"
            )
        for key, value in node.items():
            _refuse_reserved(value, where, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _refuse_reserved(value, where, (*path, index))


def _copy_collect(doc: int, node: Any, path: Path, sites: list[_Site]) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out[key] = _copy_or_site(doc, out, key, value, (*path, key), sites)
        return out
    if isinstance(node, list):
        items: list[Any] = [None] * len(node)
        for index, value in enumerate(node):
            items[index] = _copy_or_site(doc, items, index, value, (*path, index), sites)
        return items
    return node


def _copy_or_site(doc: int, container: Any, key: Any, value: Any, path: Path, sites: list[_Site]) -> Any:
    if isinstance(value, dict) and ENVELOPE in value:
        envelope = parse_envelope(value, path)
        sites.append(_Site(doc, container, key, path, envelope["owner"], envelope))
        return None
    return _copy_collect(doc, value, path, sites)


def parse_envelope(value: dict[str, Any], path: Path) -> dict[str, Any]:
    inner = value.get(ENVELOPE)
    if (
        len(value) != 1
        or not isinstance(inner, dict)
        or inner.get("v") != FORMAT_VERSION
        or not isinstance(inner.get("alg"), str)
        or not isinstance(inner.get("owner"), str)
        or not inner["owner"]
        or not isinstance(inner.get("ct"), str)
    ):
        raise MalformedSealedField(f"malformed sealed field at {_dotted(path)}")
    return inner


def _aad(algorithm: str, owner: str, path: Path) -> bytes:
    # Compact UTF-8 JSON: orjson writes the same bytes json.dumps(..., separators=(",", ":"),
    # ensure_ascii=False) does for these strings and integers, several times faster.
    return orjson.dumps(["carepair.personal", FORMAT_VERSION, algorithm, owner, list(path)])


def encrypt_value(key: DataKey, path: Path, value: Any) -> dict[str, Any]:
    plaintext = orjson.dumps(value)
    blob = cipher_named(key.algorithm).encrypt(key.key, plaintext, _aad(key.algorithm, key.person_id, path))
    return {
        "v": FORMAT_VERSION,
        "alg": key.algorithm,
        "owner": key.person_id,
        "ct": base64.b64encode(blob).decode("ascii"),
    }


def decrypt_value(key: DataKey, path: Path, envelope: dict[str, Any]) -> Any:
    where = f"sealed field {_dotted(path)} of person {key.person_id!r}"
    if envelope["alg"] != key.algorithm:
        raise TamperedCiphertext(f"{where} says {envelope['alg']}, but the key is {key.algorithm}")
    try:
        blob = base64.b64decode(envelope["ct"], validate=True)
    except (binascii.Error, ValueError):
        raise MalformedSealedField(f"{where} is not valid base64") from None
    try:
        plaintext = cipher_named(key.algorithm).decrypt(
            key.key, blob, _aad(key.algorithm, key.person_id, path)
        )
    except TamperedCiphertext:
        raise TamperedCiphertext(
            f"{where} fails authentication: altered, moved, or sealed for someone else"
        ) from None
    return orjson.loads(plaintext)


def _dotted(path: Path) -> str:
    return ".".join(map(str, path)) or "(root)"
