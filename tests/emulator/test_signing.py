"""The signature scheme against the test vector in tests/fixtures/genesys/webhook-signature.json."""

import json

from emulator.webhooks import encode, sign
from tests.emulator.conftest import example


def test_signature_matches_the_shared_test_vector() -> None:
    vector = example("webhook-signature.json")

    assert sign(vector["secret"], vector["raw_body"].encode()) == vector["header"]


def test_payloads_are_encoded_compactly_like_the_vector() -> None:
    vector = example("webhook-signature.json")
    payload = json.loads(vector["raw_body"])

    assert encode(payload).decode() == vector["raw_body"]
