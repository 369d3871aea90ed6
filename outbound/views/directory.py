"""The tenant's Genesys organisation and users."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from outbound.serializers import GenesysDateTimeOutputField
from outbound.services.directory import (
    USER_EXPANSIONS,
    USERS_PAGE_MAX,
    USERS_PAGE_SIZE_MAX,
    organization_get,
    user_get,
    user_list,
)
from outbound.views.base import (
    BODY_PROBLEMS,
    UPSTREAM_PROBLEMS,
    TenantApi,
    problems,
)


class OrganizationDetailApi(TenantApi):
    """The tenant's Genesys organisation."""

    class OutputSerializer(serializers.Serializer):
        id = serializers.CharField(allow_null=True, help_text="Null only if Genesys gave none.")
        name = serializers.CharField(allow_null=True)
        domain = serializers.CharField(allow_null=True)
        state = serializers.CharField(allow_null=True)
        third_party_org_name = serializers.CharField(allow_null=True)
        default_language = serializers.CharField(allow_null=True)
        default_country_code = serializers.CharField(allow_null=True)
        product_platform = serializers.CharField(allow_null=True)
        version = serializers.IntegerField(allow_null=True)

        class Meta:
            ref_name = "Organization"

    @extend_schema(
        operation_id="organization_retrieve",
        summary="The tenant's Genesys organisation",
        responses={200: OutputSerializer, **problems(*BODY_PROBLEMS, *UPSTREAM_PROBLEMS)},
    )
    def get(self, request: Request, slug: str) -> Response:
        organization = organization_get(tenant=self.tenant)
        return Response(self.OutputSerializer(organization).data)


class ExpandField(serializers.Field):
    """`presence,routing_status` as a list of known names."""

    def to_internal_value(self, data: Any) -> list[str]:
        if not isinstance(data, str):
            raise serializers.ValidationError("A comma-separated string.")
        names = [name.strip() for name in data.split(",")]
        names = [name for name in names if name]
        unknown = [name for name in names if name not in USER_EXPANSIONS]
        if unknown:
            raise serializers.ValidationError(
                f"Unknown: {', '.join(unknown)}; allowed: {', '.join(USER_EXPANSIONS)}."
            )
        return list(dict.fromkeys(names))


class UserOutputSerializer(serializers.Serializer):
    class PresenceSerializer(serializers.Serializer):
        system_presence = serializers.CharField(allow_null=True)
        presence_definition_id = serializers.CharField(allow_null=True)
        message = serializers.CharField(allow_null=True)
        modified_date = GenesysDateTimeOutputField(allow_null=True)

        class Meta:
            ref_name = "UserPresence"

    class RoutingStatusSerializer(serializers.Serializer):
        status = serializers.CharField(allow_null=True)
        start_time = GenesysDateTimeOutputField(allow_null=True)

        class Meta:
            ref_name = "UserRoutingStatus"

    id = serializers.CharField(allow_null=True)
    name = serializers.CharField(allow_null=True)
    email = serializers.CharField(allow_null=True)
    username = serializers.CharField(allow_null=True)
    state = serializers.CharField(allow_null=True)
    title = serializers.CharField(allow_null=True)
    department = serializers.CharField(allow_null=True)
    division_id = serializers.CharField(allow_null=True)
    presence = PresenceSerializer(allow_null=True, help_text="With expand=presence.")
    routing_status = RoutingStatusSerializer(
        allow_null=True, help_text="With expand=routing_status."
    )

    class Meta:
        ref_name = "User"


_EXPAND = OpenApiParameter(
    "expand",
    str,
    OpenApiParameter.QUERY,
    description="Comma-separated: presence, routing_status.",
)


class UserListApi(TenantApi):
    """The organisation's users (agents), a page at a time."""

    class QuerySerializer(serializers.Serializer):
        # An upper bound only so absurd numbers stop here rather than at Genesys.
        page = serializers.IntegerField(min_value=1, max_value=USERS_PAGE_MAX, default=1)
        page_size = serializers.IntegerField(min_value=1, max_value=USERS_PAGE_SIZE_MAX, default=25)
        expand = ExpandField(required=False)

    class OutputSerializer(serializers.Serializer):
        items = UserOutputSerializer(many=True)
        page = serializers.IntegerField()
        page_size = serializers.IntegerField()
        total = serializers.IntegerField()
        page_count = serializers.IntegerField()

        class Meta:
            ref_name = "UserPage"

    @extend_schema(
        operation_id="users_list",
        summary="The organisation's users (agents), paged",
        parameters=[
            OpenApiParameter(
                "page", int, OpenApiParameter.QUERY, description="1 to 1,000,000, default 1."
            ),
            OpenApiParameter(
                "page_size", int, OpenApiParameter.QUERY, description="1 to 500, default 25."
            ),
            _EXPAND,
        ],
        responses={200: OutputSerializer, **problems(*BODY_PROBLEMS, *UPSTREAM_PROBLEMS)},
    )
    def get(self, request: Request, slug: str) -> Response:
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        users = user_list(tenant=self.tenant, **query.validated_data)
        return Response(self.OutputSerializer(users).data)


class UserDetailApi(TenantApi):
    """One user; presence and routing status with `expand`."""

    class QuerySerializer(serializers.Serializer):
        expand = ExpandField(required=False)

    OutputSerializer = UserOutputSerializer

    @extend_schema(
        operation_id="users_retrieve",
        summary="One user, with presence and routing status when asked",
        parameters=[
            OpenApiParameter("user_id", OpenApiTypes.UUID, OpenApiParameter.PATH),
            _EXPAND,
        ],
        responses={200: OutputSerializer, **problems(*BODY_PROBLEMS, *UPSTREAM_PROBLEMS)},
    )
    def get(self, request: Request, slug: str, user_id: str) -> Response:
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        user = user_get(tenant=self.tenant, user_id=user_id, **query.validated_data)
        return Response(self.OutputSerializer(user).data)
