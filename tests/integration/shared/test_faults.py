"""Faults: a database that goes away, a person erased, an event type no contract declares."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.engine import URL

from shared.contracts.base import ERASED, UnknownEventType
from shared.eventstore import NO_STREAM, Metadata, StoreUnavailable
from shared.eventstore.opener import EventOpener
from shared.personal import MemoryKeyStore, PayloadSealer
from tests.support.contracts import TEST_CONTRACTS, thing
from tests.support.stores import sql_store

META = Metadata(actor="tester")


def _admin(url: URL, sql: str) -> None:
    admin = url.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql)


@pytest.mark.postgres
async def test_a_database_that_goes_away_fails_writes_clearly_and_loses_nothing(pg_url: URL) -> None:
    async with sql_store(pg_url) as store:
        first = await store.append("before", NO_STREAM, [thing(1), thing(2)], META)
        _admin(pg_url, f'ALTER DATABASE "{pg_url.database}" ALLOW_CONNECTIONS false')
        _admin(
            pg_url,
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{pg_url.database}'",
        )
        with pytest.raises(StoreUnavailable, match="did not take the write"):
            await store.append("during", NO_STREAM, [thing(3)], META)
        _admin(pg_url, f'ALTER DATABASE "{pg_url.database}" ALLOW_CONNECTIONS true')
        after = await store.append("after", NO_STREAM, [thing(4)], META)
        assert first.positions == (1, 2)
        assert after.positions == (3,)  # the failed write left no hole
        events = await store.read_after(0)
        assert [(e.stream_id, e.position) for e in events] == [("before", 1), ("before", 2), ("after", 3)]


async def test_destroying_a_persons_key_erases_their_fields_for_every_reader(sqlite_url: URL) -> None:
    keys = MemoryKeyStore()
    async with sql_store(sqlite_url, sealer=PayloadSealer(keys)) as store:
        await store.append("a", NO_STREAM, [thing(1, person="p-1", name="王芳")], META)
        await store.append("b", NO_STREAM, [thing(2, person="p-2", name="赵敏")], META)
        stored = await store.read_after(0)
        await keys.destroy("p-1")
        # Another service reads the same ciphertext with its own sealer on the same key store.
        other_reader = EventOpener(TEST_CONTRACTS, PayloadSealer(keys))
        erased, kept = await other_reader.open_many(stored)
        assert erased.erased and erased.payload.secret_name is ERASED
        assert erased.payload.n == 1  # what is not personal stays readable
        assert not kept.erased and kept.payload.secret_name == "赵敏"


async def test_an_event_type_no_contract_declares_is_a_typed_error(sqlite_url: URL) -> None:
    async with sql_store(sqlite_url) as store:
        await store.append("a", NO_STREAM, [thing(1)], META)
        stored = await store.read_after(0)
    from shared.contracts.base import ContractRegistry

    with pytest.raises(UnknownEventType, match="ThingHappened"):
        await EventOpener(ContractRegistry(), PayloadSealer(MemoryKeyStore())).open_many(stored)
