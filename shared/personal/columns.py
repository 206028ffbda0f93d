"""Personal values in read models: sealed in the column, opened by the query.

A read model keeps no personal field in clear. Most need none: they keep ids, codes and
states, and a query that shows a name opens the person's sealed stream. A read model that must
keep a personal value (to show a list without opening a stream per row) keeps it sealed:

    note = SealedColumn("visit_notes", "note")          # declared once, by the table
    row["note"] = await note.seal(sealer, subject_id, event.note)     # in the projection
    notes = await note.open_many(sealer, [r.note for r in rows])      # in the query

The stored value is a JSON object (a `sa.JSON` column) holding the same sealed form as an
event's personal field: encrypted under its owner's data key and bound to the owner and to
`table.column`: moved to another column, or relabelled with another owner, it fails to open. Once
the owner is erased (their key destroyed) it opens as `ERASED`, as their events do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.contracts.base import ERASED
from shared.personal.sealing import ENVELOPE, MalformedSealedField, PayloadSealer, parse_envelope
from shared.personal.sealing import decrypt_value as decrypt
from shared.personal.sealing import encrypt_value as encrypt


@dataclass(frozen=True)
class SealedColumn:
    """A read-model column whose values are personal: sealed when written, opened when read."""

    table: str
    column: str

    @property
    def path(self) -> tuple[str, ...]:
        return ("read-model", self.table, self.column)

    async def seal(self, sealer: PayloadSealer, owner: str, value: Any) -> dict[str, Any]:
        """`value` (any JSON value) sealed under `owner`'s key, for this column."""
        return (await self.seal_many(sealer, [(owner, value)]))[0]

    async def seal_many(
        self, sealer: PayloadSealer, values: Sequence[tuple[str, Any]]
    ) -> list[dict[str, Any]]:
        """Seals (owner, value) pairs, asking the key store once for every owner among them."""
        keys = await sealer._writing_keys({owner for owner, _ in values})  # noqa: SLF001 - same package
        return [{ENVELOPE: encrypt(keys[owner], self.path, value)} for owner, value in values]

    async def open(self, sealer: PayloadSealer, stored: dict[str, Any] | None) -> Any:
        """The value sealed in `stored` (None stays None; an erased owner's reads as `ERASED`)."""
        return (await self.open_many(sealer, [stored]))[0]

    async def open_many(self, sealer: PayloadSealer, stored: Sequence[dict[str, Any] | None]) -> list[Any]:
        """Opens a column's values, asking the key store once for every owner among them."""
        envelopes = [None if s is None else self._envelope(s) for s in stored]
        owners = {e["owner"] for e in envelopes if e is not None}
        keys = await sealer.keystore.keys_for_reading(owners) if owners else {}
        opened: list[Any] = []
        for envelope in envelopes:
            if envelope is None:
                opened.append(None)
            elif (key := keys.get(envelope["owner"])) is None:
                opened.append(ERASED)
            else:
                opened.append(decrypt(key, self.path, envelope))
        return opened

    def _envelope(self, stored: Any) -> dict[str, Any]:
        if not isinstance(stored, dict) or ENVELOPE not in stored:
            raise MalformedSealedField(f"{self.table}.{self.column} holds a value that is not sealed")
        return parse_envelope(stored, self.path)
