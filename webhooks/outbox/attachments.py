"""Agents' attachments copied into the gateway's media storage before their event goes out.

Genesys' links to an agent's file expire, and the WhatsApp side may fetch late, so each
attachment of a `message.outbound` event also gets `gateway_url`: a signed link to a copy
in media storage (docs/media.md). The copy is made by the relay, never in the webhook
request: the webhook stores the event as Genesys sent it and answers at once.

Ordering. The relay copies a claimed row's files just before publishing it, while it holds
the row's key (docs/relay.md, "The claim"). A copy that fails for a reason that may pass
(timeout, 5xx) keeps the row pending with a back-off and holds back the later rows of its
conversation, exactly as a broker rejection does, so nothing overtakes it. Those attempts
are counted in `OutboxMessage.copy_attempts`, apart from the broker's budget. After
OUTBOX_COPY_MAX_ATTEMPTS, or at once for a failure that cannot pass (404, refused type,
too large), the event is published anyway, with `gateway_url` null and
`gateway_url_error` saying why: an event is never dropped or held forever for its files.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import structlog
from django.conf import settings

from media.fetch import MediaFetchPermanentError, MediaFetchTransientError, media_copy_from_url
from media.services import media_url_sign
from tenants.models import Tenant
from webhooks.models import OutboxMessage
from webhooks.outbox.claim import ClaimedRow

logger = structlog.get_logger(__name__)

COPIED_TYPE = "message.outbound"
# Most agent messages have no files: found in the stored JSON text (PostgreSQL's and
# Python's spelling), they skip parsing. A spelling not matched is only parsed.
_NO_ATTACHMENTS = b'"attachments": []'


@dataclass(frozen=True)
class CopyOutcome:
    event: dict[str, Any]  # the CloudEvent with what was copied (or given up) so far
    done: bool  # every attachment has its gateway_url, a link or null
    error: str  # why not done: the last failure that may pass


def attachments_copy_needed(event: dict[str, Any]) -> bool:
    data = event.get("data")
    if event.get("type") != COPIED_TYPE or not isinstance(data, dict):
        return False
    attachments = data.get("attachments")
    return isinstance(attachments, list) and any(
        isinstance(a, dict) and "gateway_url" not in a for a in attachments
    )


def attachments_copy(*, tenant: Tenant, event: dict[str, Any], last_attempt: bool) -> CopyOutcome:
    """Copy each attachment that has no `gateway_url` yet; a new event dict is returned.

    Attachments copied before (an earlier attempt) are left alone, so a retry fetches only
    what is still missing.
    """
    event = json.loads(json.dumps(event))
    error = ""
    for attachment in event["data"]["attachments"]:
        if not isinstance(attachment, dict) or "gateway_url" in attachment:
            continue
        try:
            media = media_copy_from_url(
                tenant=tenant,
                url=str(attachment.get("url") or ""),
                mime=str(attachment.get("mime") or ""),
                filename=str(attachment.get("filename") or ""),
            )
        except MediaFetchPermanentError as exc:
            _give_up(attachment, str(exc))
        except MediaFetchTransientError as exc:
            if last_attempt:
                _give_up(attachment, f"gave up after {_budget()} attempts: {exc}")
            else:
                error = str(exc)
        else:
            signed = media_url_sign(media=media)
            attachment["gateway_url"] = signed.url
            attachment["gateway_url_expires_at"] = signed.expires_at.isoformat()
    return CopyOutcome(event=event, done=not error, error=error)


def _give_up(attachment: dict[str, Any], reason: str) -> None:
    attachment["gateway_url"] = None
    attachment["gateway_url_error"] = reason[:500]
    logger.warning("outbox.attachment_not_copied", url_host=_host(attachment), error=reason)


def _host(attachment: dict[str, Any]) -> str:
    # The host only: Genesys' download links carry their credentials in the query.
    url = str(attachment.get("url") or "")
    return url.split("/")[2] if url.count("/") >= 2 else ""


def _budget() -> int:
    return int(settings.OUTBOX_COPY_MAX_ATTEMPTS)


def outbox_attachments_prepare(
    *, rows: list[ClaimedRow], defer: Callable[[OutboxMessage], None]
) -> list[ClaimedRow]:
    """The claimed rows that may be published now, their attachments copied.

    A row whose copy must be tried again is counted and handed to `defer` (the relay's:
    set its retry time, hold back the later rows of its key); it and the rest of its key
    leave this batch. Call inside the claim's transaction.
    """
    ready: list[ClaimedRow] = []
    blocked: set[str] = set()
    for row in rows:
        if row.ordering_key in blocked:
            continue
        if not row.event.routing_key.startswith(f"{COPIED_TYPE}.") or _NO_ATTACHMENTS in (
            row.event.body
        ):
            ready.append(row)
            continue
        event = json.loads(row.event.body)
        if not attachments_copy_needed(event):
            ready.append(row)
            continue
        stored = OutboxMessage.objects.select_related("tenant").get(id=row.event.key)
        outcome = attachments_copy(
            tenant=stored.tenant,
            event=event,
            last_attempt=stored.copy_attempts + 1 >= _budget(),
        )
        stored.cloud_event = outcome.event
        if outcome.done:
            stored.save(update_fields=["cloud_event"])
            body = json.dumps(outcome.event, separators=(",", ":")).encode()
            ready.append(replace(row, event=replace(row.event, body=body)))
            continue
        stored.copy_attempts += 1
        stored.last_error = f"attachment copy failed (attempt {stored.copy_attempts}): "
        stored.last_error += outcome.error
        defer(stored)
        stored.save(update_fields=["cloud_event", "copy_attempts", "next_attempt_at", "last_error"])
        blocked.add(row.ordering_key)
        logger.warning(
            "outbox.attachment_copy_retry",
            outbox_id=stored.id,
            attempts=stored.copy_attempts,
            error=outcome.error,
        )
    return ready
