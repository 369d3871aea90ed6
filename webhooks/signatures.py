"""Webhook authentication: Genesys' X-Hub-Signature-256 and a Bearer shared secret.

Genesys signs the raw request body: `sha256=` + base64(HMAC-SHA256(secret, body))
(https://developer.genesys.cloud/commdigital/digital/openmessaging/validate). Every
comparison is constant-time, so response timing tells nothing about a secret.
"""

import base64
import hashlib
import hmac
from collections.abc import Iterable

SIGNATURE_PREFIX = "sha256="


def signature_compute(*, secret: str, body: bytes) -> str:
    """The header value Genesys sends for this body."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return SIGNATURE_PREFIX + base64.b64encode(digest).decode("ascii")


def signature_matches(*, body: bytes, header: str, secrets: Iterable[str]) -> bool:
    """Whether `header` signs `body` with any of `secrets` (two while a secret rotates).

    Base64 is what Genesys sends. A hex digest is accepted too, because some forwarders
    and test tools produce one (Meta's header of the same name is hex); both encode the
    same 256-bit HMAC, so accepting either does not weaken the check.
    """
    if not header.startswith(SIGNATURE_PREFIX):
        return False
    presented = header[len(SIGNATURE_PREFIX) :].strip().encode("utf-8", "replace")
    matched = False
    for secret in secrets:
        if not secret:
            continue
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        # Check both encodings for every secret, without an early exit.
        matched |= hmac.compare_digest(presented, base64.b64encode(digest))
        matched |= hmac.compare_digest(presented.lower(), digest.hex().encode("ascii"))
    return matched


def bearer_matches(*, header: str, secret: str) -> bool:
    """Whether an `Authorization: Bearer <secret>` header carries `secret`."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not secret:
        return False
    return hmac.compare_digest(token.strip().encode("utf-8", "replace"), secret.encode())
