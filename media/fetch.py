"""Copying a file from a URL into media storage (an agent's attachment in Genesys).

Streamed like an upload, with the same limits and type checks. Failures are split by
whether trying again can help, so a caller can retry the transient ones.
"""

import requests
import urllib3
from django.conf import settings

from genesys_gateway.problems import ProblemError
from media.models import Media
from media.services import media_store
from media.storage import media_storage
from tenants.models import Tenant


class MediaFetchError(Exception):
    """The file could not be copied."""


class MediaFetchTransientError(MediaFetchError):
    """Timeout, connection failure, 429 or 5xx: a later attempt may work."""


class MediaFetchPermanentError(MediaFetchError):
    """Any other status, a file too large or of a refused type, a checksum mismatch."""


def media_copy_from_url(
    *,
    tenant: Tenant,
    url: str,
    mime: str = "",
    filename: str = "",
    sha256: str = "",
) -> Media:
    """Download `url` (no credentials: attachment URLs carry their own) into the tenant's
    media. `mime` is the type the sender declared (else the response's Content-Type);
    `sha256`, when given, must match the bytes."""
    if not url.startswith(("https://", "http://")):
        raise MediaFetchPermanentError(f"not an http(s) URL: {url[:80]!r}")
    timeout = settings.MEDIA_FETCH_TIMEOUT_S
    try:
        response = requests.get(url, stream=True, timeout=(timeout, timeout))
    except requests.RequestException as exc:
        raise MediaFetchTransientError(f"fetching failed: {type(exc).__name__}") from None
    with response:
        status = response.status_code
        if status == 429 or status >= 500:
            raise MediaFetchTransientError(f"the file's server answered {status}")
        if status != 200:
            raise MediaFetchPermanentError(f"the file's server answered {status}")
        length = response.headers.get("Content-Length", "")
        response.raw.decode_content = True
        try:
            media = media_store(
                tenant=tenant,
                stream=response.raw,
                content_type=mime or response.headers.get("Content-Type", ""),
                content_length=int(length) if length.isdigit() else None,
                filename=filename,
            )
        except ProblemError as exc:
            raise MediaFetchPermanentError(exc.detail) from None
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            # The connection broke or stalled mid-body (urllib3 raises its own errors there).
            raise MediaFetchTransientError(f"reading failed: {type(exc).__name__}") from None
    if sha256 and sha256.lower() != media.sha256:
        _media_discard(media)
        raise MediaFetchPermanentError("the file does not match its sha256")
    return media


def _media_discard(media: Media) -> None:
    media_storage().delete(media.storage_name)
    media.delete()
