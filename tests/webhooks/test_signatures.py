"""The signature scheme, checked against the shared test vector."""

import base64
import hashlib
import hmac

from tests.conftest import genesys_example
from webhooks.signatures import bearer_matches, signature_compute, signature_matches

# tests/fixtures/genesys/webhook-signature.json, verbatim.
VECTOR_SECRET = "wa-bridge-test-secret-0123456789"
VECTOR_RAW_BODY = '{"id":"c7a2e915-4f0b-4d3e-a8c6-1e5b9d2f7a60","channel":{"id":"6f1c2a9e-3b7d-4c1e-9a52-0d8e4b7f1a23","platform":"Open","type":"Private","to":{"id":"+15550123456","idType":"Phone"},"from":{"nickname":"WhatsApp Bridge (prod)","id":"6f1c2a9e-3b7d-4c1e-9a52-0d8e4b7f1a23","idType":"Opaque"},"time":"2026-01-31T12:02:00.412Z","messageId":"c7a2e915-4f0b-4d3e-a8c6-1e5b9d2f7a60"},"type":"Text","text":"Hello Maria, I\'m Alex. Let me look up order #4821 for you.","originatingEntity":"Human","direction":"Outbound"}'  # noqa: E501  # the vector must stay byte-identical
VECTOR_HEADER = "sha256=JT9W9gsf2HRtmAGHxH3/BZohcHVZx+ThlpPRqm709dw="
VECTOR_HEX = "253f56f60b1fd8746d980187c47dff059a21707559c7e4e19693d1aa6ef4f5dc"


def test_shared_vector_file_matches_the_copy_here() -> None:
    vector = genesys_example("webhook-signature.json")
    assert (vector["secret"], vector["raw_body"], vector["header"], vector["hex_digest"]) == (
        VECTOR_SECRET,
        VECTOR_RAW_BODY,
        VECTOR_HEADER,
        VECTOR_HEX,
    )


def test_signature_is_computed_as_genesys_does() -> None:
    body = VECTOR_RAW_BODY.encode()
    assert signature_compute(secret=VECTOR_SECRET, body=body) == VECTOR_HEADER
    # The same thing written out as Genesys' Node sample does it.
    digest = hmac.new(VECTOR_SECRET.encode(), body, hashlib.sha256).digest()
    assert "sha256=" + base64.b64encode(digest).decode() == VECTOR_HEADER


def test_shared_vector_verifies() -> None:
    body = VECTOR_RAW_BODY.encode()
    assert signature_matches(body=body, header=VECTOR_HEADER, secrets=[VECTOR_SECRET])


def test_hex_digest_is_accepted_defensively_in_either_case() -> None:
    body = VECTOR_RAW_BODY.encode()
    for digest in (VECTOR_HEX, VECTOR_HEX.upper()):
        assert signature_matches(body=body, header=f"sha256={digest}", secrets=[VECTOR_SECRET])


def test_either_secret_verifies_during_rotation() -> None:
    body = VECTOR_RAW_BODY.encode()
    assert signature_matches(
        body=body, header=VECTOR_HEADER, secrets=["new-secret-0000000000", VECTOR_SECRET]
    )
    assert signature_matches(
        body=body, header=VECTOR_HEADER, secrets=[VECTOR_SECRET, "old-secret-0000000000"]
    )


def test_wrong_secret_body_prefix_or_encoding_is_rejected() -> None:
    body = VECTOR_RAW_BODY.encode()
    assert not signature_matches(body=body, header=VECTOR_HEADER, secrets=["another-secret-1234"])
    assert not signature_matches(body=body + b" ", header=VECTOR_HEADER, secrets=[VECTOR_SECRET])
    assert not signature_matches(
        body=body, header=VECTOR_HEADER.removeprefix("sha256="), secrets=[VECTOR_SECRET]
    )
    assert not signature_matches(body=body, header="sha1=" + VECTOR_HEX, secrets=[VECTOR_SECRET])
    assert not signature_matches(body=body, header="", secrets=[VECTOR_SECRET])
    assert not signature_matches(body=body, header=VECTOR_HEADER, secrets=[])
    assert not signature_matches(body=body, header="sha256=é\x00", secrets=[VECTOR_SECRET])


def test_bearer_token_must_equal_the_secret() -> None:
    assert bearer_matches(
        header="Bearer events-secret-0123456789", secret="events-secret-0123456789"
    )
    assert bearer_matches(
        header="bearer events-secret-0123456789", secret="events-secret-0123456789"
    )
    assert not bearer_matches(
        header="Bearer events-secret-012345678", secret="events-secret-0123456789"
    )
    assert not bearer_matches(
        header="Basic events-secret-0123456789", secret="events-secret-0123456789"
    )
    assert not bearer_matches(header="Bearer ", secret="")
    assert not bearer_matches(header="Bearer ", secret="events-secret-0123456789")
