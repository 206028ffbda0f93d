"""Read-your-writes: position tokens and the bounded wait."""

from __future__ import annotations

import asyncio

import pytest

from shared.eventstore import CommitSignal
from shared.web.consistency import parse_tokens, wait_for_positions
from shared.web.errors import ApiError


def test_tokens_parse_and_keep_the_highest_position_per_service() -> None:
    assert parse_tokens("visits:4, pairing:7,visits:9") == {"visits": 9, "pairing": 7}


@pytest.mark.parametrize("bad", ["visits", "visits:", ":4", "visits:-1", "visits:abc"])
def test_a_malformed_token_is_refused_with_what_to_send(bad: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_tokens(bad)
    assert caught.value.status == 400
    assert caught.value.code == "bad_position_token"
    assert "<service>:<position>" in caught.value.message


async def test_a_wait_returns_as_soon_as_the_position_is_applied() -> None:
    signal = CommitSignal()

    async def apply_later() -> None:
        await asyncio.sleep(0.05)
        await signal.notify(5)

    task = asyncio.create_task(apply_later())
    await wait_for_positions({"visits": [signal]}, {"visits": 5}, timeout=10)
    await task
    assert signal.position == 5


async def test_a_wait_that_runs_out_answers_503_not_yet_with_retry_after() -> None:
    signal = CommitSignal()
    await signal.notify(3)
    with pytest.raises(ApiError) as caught:
        await wait_for_positions({"visits": [signal]}, {"visits": 4}, timeout=0.05)
    assert caught.value.status == 503
    assert caught.value.code == "not_yet_consistent"
    assert caught.value.headers["Retry-After"] == "1"


async def test_a_producer_the_read_model_does_not_follow_is_a_clear_400() -> None:
    with pytest.raises(ApiError) as caught:
        await wait_for_positions({"visits": [CommitSignal()]}, {"pairing": 1}, timeout=1)
    assert caught.value.code == "unknown_producer"


async def test_a_commit_between_check_and_wait_is_not_missed() -> None:
    signal = CommitSignal()
    await signal.notify(2)  # committed before the waiter starts waiting
    assert await signal.wait_beyond(1, timeout=0.01) is True
    assert await signal.wait_beyond(2, timeout=0.01) is False


async def test_a_position_applied_by_another_process_is_found_by_refreshing() -> None:
    signal = CommitSignal()
    reads = 0

    async def refresh() -> None:  # stands for re-reading the checkpoint another process moved
        nonlocal reads
        reads += 1
        if reads == 3:
            await signal.notify(8)

    await wait_for_positions({"visits": [signal]}, {"visits": 8}, timeout=10, refresh=refresh)
    assert reads == 3


async def test_a_wait_lasts_until_every_read_model_of_the_producer_has_the_position() -> None:
    """Two read models follow visits; the query may read the slower one, so it waits for both."""
    quick, slow = CommitSignal(), CommitSignal()
    await quick.notify(6)

    async def slow_applies_later() -> None:
        await asyncio.sleep(0.05)
        await slow.notify(6)

    task = asyncio.create_task(slow_applies_later())
    await wait_for_positions({"visits": [quick, slow]}, {"visits": 6}, timeout=10)
    assert slow.position == 6
    await task
    with pytest.raises(ApiError) as caught:
        await wait_for_positions({"visits": [quick, CommitSignal()]}, {"visits": 6}, timeout=0.05)
    assert caught.value.code == "not_yet_consistent"
