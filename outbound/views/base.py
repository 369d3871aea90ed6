"""What every view of /api/v1/tenants/{slug}/... shares: tenant scoping, error schemas."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.views import APIView

from genesys_gateway.problems import PROBLEM_CONTENT_TYPE
from outbound.authentication import TenantApiKeyAuthentication
from outbound.serializers import ProblemSerializer
from tenants.models import ApiKey, Tenant


class TenantApi(APIView):
    """Base for /api/v1/tenants/{slug}/...: a key sees only its own tenant.

    Any other slug answers 404 with the same body as an unknown slug, so a key cannot
    learn which tenants exist. Views read the tenant from self.tenant (or request.tenant).
    """

    authentication_classes = [TenantApiKeyAuthentication]
    tenant: Tenant

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.auth is None:
            raise exceptions.NotAuthenticated("Missing API key.")
        api_key = request.auth
        assert isinstance(api_key, ApiKey)
        tenant: Tenant = api_key.tenant
        if kwargs.get("slug") != tenant.slug:
            raise exceptions.NotFound("No such tenant.")
        self.tenant = tenant
        request.tenant = tenant  # type: ignore[attr-defined]  # set for every tenant view
        # Every body is read under the API's limits, also where the view ignores it, so
        # an oversized, malformed or too deeply nested body is a 4xx on every endpoint.
        # A view that streams its body itself (media uploads) declares no parsers.
        if self.parser_classes:
            request.data  # noqa: B018


def problems(*statuses: int) -> dict[Any, Any]:
    meanings = {
        400: "Invalid request (`errors` names the fields), or a body that is not JSON or"
        " is nested too deeply.",
        401: "Missing or invalid API key.",
        404: "Unknown tenant (or another tenant's), or not found in Genesys.",
        409: "The same message is still being sent; retry after Retry-After.",
        413: "The body is larger than the API's limit (64 KiB).",
        415: "The body is not application/json.",
        422: "Genesys rejected the request; its message is in `detail`.",
        502: "Genesys refused the gateway's credentials (`/genesys-auth-failed`) or failed.",
        503: "Genesys unavailable or rate limited after the retry budget; see Retry-After.",
        504: "Genesys did not answer within the retry budget.",
    }
    return {
        (status, PROBLEM_CONTENT_TYPE): OpenApiResponse(
            ProblemSerializer, description=meanings[status]
        )
        for status in sorted(set(statuses))
    }


# What any endpoint may answer because of its request body (even one it does not use).
BODY_PROBLEMS = (400, 413, 415)
UPSTREAM_PROBLEMS = (401, 404, 422, 502, 503, 504)
CONVERSATION_ID_PARAMETER = OpenApiParameter(
    "conversation_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Genesys id."
)
