"""Message signatures: only the producer's key makes one that a consumer accepts."""

from __future__ import annotations

from shared.messaging.signing import SIGNATURE_HEADER, Verifier, sign, signing_keys

PAYLOAD = b'{"position": 2, "event_id": "e-2", "data": {"mode": "home"}}'


def test_a_signature_by_the_producers_key_passes_and_anything_else_does_not() -> None:
    verifier = Verifier({"visits": [b"visits-key-0123456789"]})
    good = {SIGNATURE_HEADER: sign(b"visits-key-0123456789", PAYLOAD)}
    assert verifier.problem("visits", good, PAYLOAD) is None
    assert verifier.problem("visits", None, PAYLOAD) == "no signature"
    assert verifier.problem("visits", {SIGNATURE_HEADER: sign(b"another-key-987654", PAYLOAD)}, PAYLOAD) == (
        "wrong signature"
    )
    # The same signature over other content, or claimed for another producer, fails too.
    assert verifier.problem("visits", good, PAYLOAD.replace(b"home", b"phone")) == "wrong signature"
    assert verifier.problem("pairing", good, PAYLOAD) == "wrong signature"


def test_during_a_rotation_both_keys_of_a_producer_pass() -> None:
    keys = signing_keys("visits:old-key-0123456789,visits:new-key-0123456789")
    verifier = Verifier(keys)
    for key in (b"old-key-0123456789", b"new-key-0123456789"):
        assert verifier.problem("visits", {SIGNATURE_HEADER: sign(key, PAYLOAD)}, PAYLOAD) is None
    assert verifier.producers() == {"visits"}
