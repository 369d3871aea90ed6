"""Tenant API keys for the WABA platform, and tenant scoping, in one place."""

import hashlib
from datetime import timedelta
from typing import Any

import structlog
from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from outbound.cache import API_KEYS
from tenants.models import ApiKey
from tenants.services import api_key_authenticate


def api_key_authenticate_cached(*, raw_key: str) -> ApiKey | None:
    """api_key_authenticate, remembered for API_CACHE_TTL_S (outbound/cache.py).

    Only valid keys are cached; last_used_at is still written at most once per
    API_KEY_LAST_USED_RESOLUTION_S.
    """
    cache_key = hashlib.sha256(raw_key.encode()).hexdigest()
    api_key = API_KEYS.get(cache_key)
    if api_key is None:
        api_key = api_key_authenticate(raw_key=raw_key)
        if api_key is not None:
            API_KEYS.put(cache_key, api_key)
        return api_key
    now = timezone.now()
    resolution = timedelta(seconds=settings.API_KEY_LAST_USED_RESOLUTION_S)
    if api_key.last_used_at is None or now - api_key.last_used_at >= resolution:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


class TenantApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer <api key>`; request.auth becomes the ApiKey."""

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword or len(parts) != 2:
            return None
        try:
            raw_key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid API key.") from None
        api_key = api_key_authenticate_cached(raw_key=raw_key)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        structlog.contextvars.bind_contextvars(tenant=api_key.tenant.slug)
        return (None, api_key)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
