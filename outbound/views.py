from typing import Any

from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.views import APIView

from outbound.authentication import TenantApiKeyAuthentication
from tenants.models import ApiKey, Tenant


class TenantApi(APIView):
    """Base for /api/v1/tenants/{slug}/...: a key sees only its own tenant.

    Any other slug answers 404 with the same body as an unknown slug, so a key cannot
    learn which tenants exist. Views read the tenant from request.tenant.
    """

    authentication_classes = [TenantApiKeyAuthentication]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.auth is None:
            raise exceptions.NotAuthenticated("Missing API key.")
        api_key = request.auth
        assert isinstance(api_key, ApiKey)
        tenant: Tenant = api_key.tenant
        if kwargs.get("slug") != tenant.slug:
            raise exceptions.NotFound("No such tenant.")
        request.tenant = tenant  # type: ignore[attr-defined]  # set for every tenant view
