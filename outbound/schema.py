"""OpenAPI description of the API key scheme (drf-spectacular cannot guess it)."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class TenantApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "outbound.authentication.TenantApiKeyAuthentication"
    name = "TenantApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A tenant API key (`manage.py tenant create-key SLUG`).",
        }
