"""Download tokens: a media id and an expiry time, signed with SECRET_KEY.

`<media id hex>.<expiry, unix seconds in hex>.<HMAC-SHA256, base64>`; signatures made
with a key in SECRET_KEY_FALLBACKS keep working while the secret key is rotated.
"""

from datetime import UTC, datetime
from uuid import UUID

from django.core import signing

from media.errors import MediaLinkInvalidError

_SALT = "media.download"
_SEP = "."


def _signer() -> signing.Signer:
    return signing.Signer(salt=_SALT, sep=_SEP)


def media_token_make(*, media_id: UUID, expires_at: datetime) -> str:
    return _signer().sign(f"{media_id.hex}{_SEP}{int(expires_at.timestamp()):x}")


def media_token_read(token: str, *, now: datetime) -> tuple[UUID, datetime]:
    """(media id, expiry) of a genuine, unexpired token; MediaLinkInvalidError otherwise."""
    try:
        value = _signer().unsign(token)
        id_hex, expiry_hex = value.split(_SEP)
        media_id = UUID(hex=id_hex)
        expires_at = datetime.fromtimestamp(int(expiry_hex, 16), tz=UTC)
    except (signing.BadSignature, ValueError, OverflowError):
        raise MediaLinkInvalidError("bad signature") from None
    if expires_at <= now:
        raise MediaLinkInvalidError("expired")
    return media_id, expires_at
