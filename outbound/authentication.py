"""Tenant API keys for the WABA platform, and tenant scoping, in one place."""

from typing import Any

import structlog
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from tenants.models import ApiKey
from tenants.services import api_key_authenticate


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
        api_key = api_key_authenticate(raw_key=raw_key)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid API key.")
        structlog.contextvars.bind_contextvars(tenant=api_key.tenant.slug)
        return (None, api_key)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
