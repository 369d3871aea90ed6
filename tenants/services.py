"""Writes for tenants, integrations, API keys, secrets and the conversation routing map."""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_slug
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from tenants import crypto
from tenants.metrics import conversation_claim_conflict_count
from tenants.models import ApiKey, Conversation, Integration, Tenant
from tenants.regions import CUSTOM, REGIONS

# Genesys requires an Open Messaging webhook secret longer than 15 characters.
MIN_WEBHOOK_SECRET_LENGTH = 16
API_KEY_PREFIX = "gwk_"

logger = structlog.get_logger(__name__)

_url_validator = URLValidator(schemes=["http", "https"])


def _require(value: str, field: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(f"{field} is required", code="required")
    return value


def webhook_secret_validate(*, secret: str) -> str:
    """The secret, stripped, if Genesys would accept it for signing webhooks."""
    secret = _require(secret, "secret")
    if len(secret) < MIN_WEBHOOK_SECRET_LENGTH:
        raise ValidationError(
            f"secret must be at least {MIN_WEBHOOK_SECRET_LENGTH} characters (Genesys requires it)"
        )
    return secret


def _region_errors(region: str, *, api_base_url: str, login_base_url: str) -> dict[str, str]:
    if region != CUSTOM:
        if region in REGIONS:
            return {}
        return {"region": f"unknown region {region!r}; use one of {', '.join(REGIONS)} or 'custom'"}
    errors = {}
    for field, url in (("api_base_url", api_base_url), ("login_base_url", login_base_url)):
        if not url:
            errors[field] = f"region 'custom' needs --{field.replace('_', '-')}"
            continue
        try:
            _url_validator(url)
        except ValidationError:
            errors[field] = f"{field} {url!r} is not an http(s) URL"
    return errors


def tenant_validate(
    *,
    is_new: bool,
    slug: str,
    name: str,
    region: str,
    client_id: str,
    api_base_url: str = "",
    login_base_url: str = "",
    client_secret: str = "",
    events_secret: str = "",
) -> None:
    """Every rule a tenant must meet, for the command and the admin alike.

    Raises one ValidationError keyed by field, so a form can show each message next to
    its field. Empty secrets mean "keep the stored one", which only an existing tenant has.
    """
    errors: dict[str, str] = {}
    slug = (slug or "").strip()
    if not slug:
        errors["slug"] = "slug is required"
    else:
        try:
            validate_slug(slug)
        except ValidationError:
            errors["slug"] = f"slug {slug!r} may hold only letters, digits, - and _"
    for field, value in (("name", name), ("client_id", client_id)):
        if not (value or "").strip():
            errors[field] = f"{field} is required"
    errors.update(_region_errors(region, api_base_url=api_base_url, login_base_url=login_base_url))
    if is_new and not (client_secret or "").strip():
        errors["client_secret"] = "client_secret is required"
    if events_secret:
        try:
            webhook_secret_validate(secret=events_secret)
        except ValidationError as exc:
            errors["events_secret"] = exc.messages[0]
    if errors:
        raise ValidationError(errors)


def tenant_save(*, tenant: Tenant, client_secret: str = "", events_secret: str = "") -> Tenant:
    """Store a new or changed tenant; an empty secret keeps the stored one."""
    tenant_validate(
        is_new=tenant.pk is None,
        slug=tenant.slug,
        name=tenant.name,
        region=tenant.region,
        client_id=tenant.client_id,
        api_base_url=tenant.api_base_url,
        login_base_url=tenant.login_base_url,
        client_secret=client_secret,
        events_secret=events_secret,
    )
    tenant.slug, tenant.name, tenant.client_id = (
        tenant.slug.strip(),
        tenant.name.strip(),
        tenant.client_id.strip(),
    )
    if tenant.region != CUSTOM:
        tenant.api_base_url = tenant.login_base_url = ""
    if client_secret.strip():
        tenant.set_client_secret(client_secret.strip())
    if events_secret:
        tenant.set_events_secret(events_secret.strip())
    try:
        with transaction.atomic():
            tenant.save()
    except IntegrityError:
        raise ValidationError(
            {"slug": f"a tenant with slug {tenant.slug!r} already exists"}
        ) from None
    return tenant


def tenant_create(
    *,
    slug: str,
    name: str,
    region: str,
    client_id: str,
    client_secret: str,
    api_base_url: str = "",
    login_base_url: str = "",
) -> Tenant:
    tenant = Tenant(
        slug=slug,
        name=name,
        region=region,
        api_base_url=api_base_url,
        login_base_url=login_base_url,
        client_id=client_id,
    )
    return tenant_save(tenant=tenant, client_secret=client_secret)


def tenant_set_client_secret(*, tenant: Tenant, secret: str) -> None:
    tenant.set_client_secret(_require(secret, "client_secret"))
    tenant.save(update_fields=["client_secret_encrypted", "updated_at"])


def tenant_set_events_secret(*, tenant: Tenant, secret: str) -> None:
    tenant.set_events_secret(webhook_secret_validate(secret=secret))
    tenant.save(update_fields=["events_secret_encrypted", "updated_at"])


@transaction.atomic
def integration_add(
    *, tenant: Tenant, integration_id: str, secret: str, name: str = ""
) -> Integration:
    """Register an integration, or give a known one a new secret (the old one stays valid).

    Keeping the previous secret lets Genesys be switched over without rejected webhooks;
    `integration_drop_previous_secret` ends the overlap.
    """
    integration_id = _require(integration_id, "integration_id")
    secret = webhook_secret_validate(secret=secret)
    integration = (
        Integration.objects.select_for_update().filter(integration_id=integration_id).first()
    )
    if integration is None:
        integration = Integration(tenant=tenant, integration_id=integration_id, name=name)
        integration.set_secret(secret, keep_previous=False)
        integration.save()
        return integration
    if integration.tenant_id != tenant.pk:
        raise ValidationError(f"integration {integration_id} belongs to another tenant")
    integration.set_secret(secret, keep_previous=True)
    if name:
        integration.name = name
    integration.save()
    return integration


def integration_drop_previous_secret(*, integration: Integration) -> None:
    integration.previous_secret_encrypted = ""
    integration.save(update_fields=["previous_secret_encrypted", "updated_at"])


def _hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_create(*, tenant: Tenant, name: str = "") -> tuple[ApiKey, str]:
    """A new key (256 random bits). The raw key is returned here and never again."""
    random_part = secrets.token_urlsafe(32)
    raw_key = API_KEY_PREFIX + random_part
    api_key = ApiKey.objects.create(
        tenant=tenant, name=name, prefix=raw_key[:12], key_hash=_hash_key(raw_key)
    )
    return api_key, raw_key


def api_key_revoke(*, api_key: ApiKey) -> None:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key matching raw_key, with its tenant, or None.

    The lookup is by SHA-256 of the key, so its timing tells an attacker nothing about
    stored keys; last_used_at is written at most once per API_KEY_LAST_USED_RESOLUTION_S.
    """
    if not raw_key.startswith(API_KEY_PREFIX) or len(raw_key) > 200:
        return None
    key_hash = _hash_key(raw_key)
    api_key = (
        ApiKey.objects.select_related("tenant")
        .filter(key_hash=key_hash, revoked_at__isnull=True, tenant__is_active=True)
        .first()
    )
    if api_key is None or not hmac.compare_digest(api_key.key_hash, key_hash):
        return None
    now = timezone.now()
    resolution = timedelta(seconds=settings.API_KEY_LAST_USED_RESOLUTION_S)
    if api_key.last_used_at is None or now - api_key.last_used_at >= resolution:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


@transaction.atomic
def encryption_rotate() -> int:
    """Re-encrypt every stored secret with the newest key; returns how many were rewritten.

    "Every" means every field registered with `crypto.encrypted_fields_register`, by this
    app and by the apps built on it (outbound registers its cached Genesys tokens).
    """
    rewritten = 0
    for model, fields in crypto.encrypted_fields().items():
        for row in model._default_manager.select_for_update().order_by("pk"):
            changed = []
            for field in fields:
                token = getattr(row, field)
                if token:
                    setattr(row, field, crypto.reencrypt(token))
                    changed.append(field)
            if changed:
                row.save(update_fields=changed)
                rewritten += len(changed)
    return rewritten


def conversation_record(
    *,
    tenant: Tenant,
    conversation_id: str,
    integration: Integration | None = None,
    customer_id: str = "",
) -> Conversation:
    """Remember which tenant (and integration, customer) a conversation belongs to.

    The one rule for the routing map, whichever side saw the conversation: the first tenant
    to name it owns it for good. A later claim by another tenant changes nothing and is
    logged and counted, since it means two tenants share a Genesys org or integration.
    A claim by the owner only fills in a missing integration or customer.

    INSERT ... ON CONFLICT DO NOTHING: several requests about one new conversation may
    arrive at once, and none of them may fail on the unique conversation id.
    """
    Conversation.objects.bulk_create(
        [
            Conversation(
                conversation_id=conversation_id,
                tenant=tenant,
                integration=integration,
                customer_id=customer_id,
            )
        ],
        ignore_conflicts=True,
    )
    conversation = Conversation.objects.select_related("tenant", "integration").get(
        conversation_id=conversation_id
    )
    if conversation.tenant_id != tenant.pk:
        logger.warning(
            "conversation.claim_conflict",
            conversation_id=conversation_id,
            owner=conversation.tenant.slug,
            claimant=tenant.slug,
        )
        conversation_claim_conflict_count()
        return conversation
    changed = []
    if integration is not None and conversation.integration_id is None:
        conversation.integration = integration
        changed.append("integration")
    if customer_id and not conversation.customer_id:
        conversation.customer_id = customer_id
        changed.append("customer_id")
    if changed:
        conversation.save(update_fields=[*changed, "updated_at"])
    return conversation


def conversation_event_record(
    *, conversation: Conversation, event_type: str, event_at: datetime, disconnected: bool = False
) -> None:
    """Note the conversation's latest event (never moving back in time), and its end."""
    now = timezone.now()
    conversations = Conversation.objects.filter(pk=conversation.pk)
    conversations.filter(Q(last_event_at__isnull=True) | Q(last_event_at__lte=event_at)).update(
        last_event_type=event_type, last_event_at=event_at, updated_at=now
    )
    if disconnected:
        conversations.update(state=Conversation.State.DISCONNECTED, updated_at=now)
