"""The REST API the WABA platform calls: /api/v1/tenants/{slug}/... (CONTRACT section 2).

Thin views: validate, call one service, answer. Errors are raised, never caught here; the
problem-details handler answers them.
"""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from genesys_gateway.problems import PROBLEM_CONTENT_TYPE
from outbound.authentication import TenantApiKeyAuthentication
from outbound.serializers import (
    ATTACHMENTS_MAX,
    ID_MAX_LENGTH,
    METADATA_MAX_ENTRIES,
    METADATA_VALUE_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    AttachmentSerializer,
    CustomerIdSerializer,
    CustomerSerializer,
    ProblemSerializer,
    StrictSerializer,
)
from outbound.services.conversations import (
    conversation_attributes_update,
    conversation_disconnect,
    conversation_get,
    conversation_messages_list,
)
from outbound.services.directory import (
    USER_EXPANSIONS,
    USERS_PAGE_SIZE_MAX,
    organization_get,
    user_get,
    user_list,
)
from outbound.services.messages import RECEIPT_STATUSES, message_send, receipt_send, typing_send
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


def _problems(*statuses: int) -> dict[Any, Any]:
    meanings = {
        400: "Invalid request; `errors` names the fields.",
        401: "Missing or invalid API key.",
        404: "Unknown tenant (or another tenant's), or not found in Genesys.",
        409: "The same message is still being sent; retry after Retry-After.",
        422: "Genesys rejected the request; its message is in `detail`.",
        502: "Genesys refused the gateway's credentials (`/genesys-auth-failed`) or failed.",
        503: "Genesys unavailable or rate limited after the retry budget; see Retry-After.",
        504: "Genesys did not answer within the retry budget.",
    }
    return {
        (status, PROBLEM_CONTENT_TYPE): OpenApiResponse(
            ProblemSerializer, description=meanings[status]
        )
        for status in statuses
    }


_UPSTREAM = (401, 404, 422, 502, 503, 504)
_CONVERSATION_ID = OpenApiParameter(
    "conversation_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Genesys id."
)


class MessageCreateApi(TenantApi):
    """Send a customer's WhatsApp message to Genesys (Open Messaging inbound).

    Idempotent on (tenant, message_id): a repeat answers 200 with the first result and
    makes no second Genesys call.
    """

    class InputSerializer(StrictSerializer):
        integration_id = serializers.CharField(
            max_length=64, required=False, help_text="Default: the tenant's only integration."
        )
        message_id = serializers.CharField(
            max_length=ID_MAX_LENGTH, help_text="The WhatsApp message id (wamid)."
        )
        sender = CustomerSerializer(help_text="The customer.")
        text = serializers.CharField(
            max_length=TEXT_MAX_LENGTH, required=False, trim_whitespace=False
        )
        attachments = serializers.ListField(
            child=AttachmentSerializer(), required=False, max_length=ATTACHMENTS_MAX
        )
        metadata = serializers.DictField(
            child=serializers.CharField(max_length=METADATA_VALUE_MAX_LENGTH, allow_blank=True),
            required=False,
            help_text="String map, sent as Genesys' inbound `metadata`.",
        )
        timestamp = serializers.DateTimeField(
            required=False, help_text="When the customer sent it; default now."
        )

        class Meta:
            ref_name = "MessageCreateInput"

        def get_fields(self) -> dict[str, serializers.Field]:
            # `from` is a Python keyword, so the field is declared as `sender`.
            fields = super().get_fields()
            fields["from"] = fields.pop("sender")
            return fields

        def validate_metadata(self, value: dict[str, str]) -> dict[str, str]:
            if len(value) > METADATA_MAX_ENTRIES:
                raise serializers.ValidationError(f"At most {METADATA_MAX_ENTRIES} entries.")
            if any(not key or len(key) > ID_MAX_LENGTH for key in value):
                raise serializers.ValidationError(f"Keys must be 1-{ID_MAX_LENGTH} characters.")
            return value

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if not attrs.get("text") and not attrs.get("attachments"):
                raise serializers.ValidationError({"text": ["Give text, attachments or both."]})
            return attrs

    class OutputSerializer(serializers.Serializer):
        message_id = serializers.CharField()
        genesys_message_id = serializers.CharField()
        conversation_id = serializers.CharField(allow_null=True)
        integration_id = serializers.CharField(allow_null=True)

        class Meta:
            ref_name = "MessageCreateOutput"

    @extend_schema(
        operation_id="messages_create",
        summary="Send a customer message to Genesys (idempotent on message_id)",
        request=InputSerializer,
        responses={
            201: OpenApiResponse(OutputSerializer, description="Sent now."),
            200: OpenApiResponse(OutputSerializer, description="A repeat: the first result."),
            **_problems(400, 409, *_UPSTREAM),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        result, created = message_send(tenant=self.tenant, sender=fields.pop("from"), **fields)
        return Response(result, status=201 if created else 200)


class ReasonSerializer(StrictSerializer):
    code = serializers.CharField(max_length=32, required=False, help_text="e.g. 131047")
    message = serializers.CharField(
        max_length=METADATA_VALUE_MAX_LENGTH, required=False, allow_blank=True
    )

    class Meta:
        ref_name = "ReceiptReason"


class ReceiptCreateApi(TenantApi):
    """Forward a WhatsApp delivery status of an agent message; once per (message_id, status)."""

    class InputSerializer(StrictSerializer):
        integration_id = serializers.CharField(
            max_length=64, required=False, help_text="Default: the tenant's only integration."
        )
        message_id = serializers.CharField(
            max_length=ID_MAX_LENGTH, help_text="The Genesys id of the agent's message."
        )
        status = serializers.ChoiceField(choices=list(RECEIPT_STATUSES))
        to = CustomerIdSerializer()
        timestamp = serializers.DateTimeField(required=False)
        reason = ReasonSerializer(
            required=False, help_text="WhatsApp's error for a failed message."
        )

        class Meta:
            ref_name = "ReceiptCreateInput"

    class OutputSerializer(serializers.Serializer):
        message_id = serializers.CharField()
        status = serializers.CharField()
        genesys_status = serializers.CharField()
        duplicate = serializers.BooleanField(help_text="Already forwarded before.")

        class Meta:
            ref_name = "ReceiptCreateOutput"

    @extend_schema(
        operation_id="receipts_create",
        summary="Forward a WhatsApp delivery status of an agent message",
        request=InputSerializer,
        responses={202: OutputSerializer, **_problems(400, 409, *_UPSTREAM)},
    )
    def post(self, request: Request, slug: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        result = receipt_send(tenant=self.tenant, recipient=fields.pop("to"), **fields)
        return Response(result, status=202)


class TypingCreateApi(TenantApi):
    """Tell Genesys the customer is typing."""

    class InputSerializer(StrictSerializer):
        integration_id = serializers.CharField(max_length=64, required=False)
        sender = CustomerIdSerializer(help_text="The customer.")

        class Meta:
            ref_name = "TypingCreateInput"

        def get_fields(self) -> dict[str, serializers.Field]:
            fields = super().get_fields()
            fields["from"] = fields.pop("sender")
            return fields

    class OutputSerializer(serializers.Serializer):
        integration_id = serializers.CharField()

        class Meta:
            ref_name = "TypingCreateOutput"

    @extend_schema(
        operation_id="typing_create",
        summary="The customer is typing",
        request=InputSerializer,
        responses={202: OutputSerializer, **_problems(400, *_UPSTREAM)},
    )
    def post(self, request: Request, slug: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        result = typing_send(tenant=self.tenant, sender=fields.pop("from"), **fields)
        return Response(result, status=202)


class ParticipantSerializer(serializers.Serializer):
    id = serializers.CharField()
    purpose = serializers.CharField(allow_null=True)
    name = serializers.CharField(allow_null=True)
    user_id = serializers.CharField(allow_null=True)
    queue_id = serializers.CharField(allow_null=True)
    state = serializers.CharField(allow_null=True)
    attributes = serializers.DictField(child=serializers.CharField())

    class Meta:
        ref_name = "Participant"


class ConversationDetailApi(TenantApi):
    """A Genesys conversation: state, start and end, participants."""

    class OutputSerializer(serializers.Serializer):
        id = serializers.CharField()
        state = serializers.CharField(allow_null=True, help_text="Genesys' value.")
        start_time = serializers.DateTimeField(allow_null=True)
        end_time = serializers.DateTimeField(allow_null=True)
        participants = ParticipantSerializer(many=True)

        class Meta:
            ref_name = "Conversation"

    @extend_schema(
        operation_id="conversations_retrieve",
        summary="A conversation's participants, state, start and end",
        parameters=[_CONVERSATION_ID],
        responses={200: OutputSerializer, **_problems(*_UPSTREAM)},
    )
    def get(self, request: Request, slug: str, conversation_id: str) -> Response:
        conversation = conversation_get(tenant=self.tenant, conversation_id=conversation_id)
        return Response(conversation)


class ConversationMessageSerializer(serializers.Serializer):
    id = serializers.CharField()
    direction = serializers.CharField(allow_null=True, help_text="inbound or outbound")
    text = serializers.CharField(allow_null=True)
    attachments = serializers.ListField(child=serializers.DictField())
    timestamp = serializers.DateTimeField(allow_null=True)
    status = serializers.CharField(allow_null=True)

    class Meta:
        ref_name = "ConversationMessage"


class ConversationMessagesApi(TenantApi):
    """The conversation's messages, oldest first."""

    class OutputSerializer(serializers.Serializer):
        items = ConversationMessageSerializer(many=True)

        class Meta:
            ref_name = "ConversationMessageList"

    @extend_schema(
        operation_id="conversations_messages_list",
        summary="A conversation's messages, oldest first",
        parameters=[_CONVERSATION_ID],
        responses={200: OutputSerializer, **_problems(*_UPSTREAM)},
    )
    def get(self, request: Request, slug: str, conversation_id: str) -> Response:
        messages = conversation_messages_list(
            tenant=self.tenant,
            conversation_id=conversation_id,
        )
        return Response(messages)


class ConversationAttributesUpdateApi(TenantApi):
    """Merge attributes into the customer participant's attributes."""

    class InputSerializer(StrictSerializer):
        attributes = serializers.DictField(
            child=serializers.CharField(max_length=METADATA_VALUE_MAX_LENGTH, allow_blank=True),
            allow_empty=False,
        )

        class Meta:
            ref_name = "ConversationAttributesInput"

        def validate_attributes(self, value: dict[str, str]) -> dict[str, str]:
            if len(value) > METADATA_MAX_ENTRIES:
                raise serializers.ValidationError(f"At most {METADATA_MAX_ENTRIES} entries.")
            return value

    class OutputSerializer(serializers.Serializer):
        conversation_id = serializers.CharField()
        participant_id = serializers.CharField()
        attributes = serializers.DictField(child=serializers.CharField())

        class Meta:
            ref_name = "ConversationAttributesOutput"

    @extend_schema(
        operation_id="conversations_attributes_update",
        summary="Merge attributes into the customer participant's",
        parameters=[_CONVERSATION_ID],
        request=InputSerializer,
        responses={200: OutputSerializer, **_problems(400, *_UPSTREAM)},
    )
    def patch(self, request: Request, slug: str, conversation_id: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = conversation_attributes_update(
            tenant=self.tenant,
            conversation_id=conversation_id,
            **data.validated_data,
        )
        return Response(result)


class ConversationDisconnectApi(TenantApi):
    """End the messaging conversation."""

    class OutputSerializer(serializers.Serializer):
        conversation_id = serializers.CharField()
        state = serializers.CharField()

        class Meta:
            ref_name = "ConversationDisconnectOutput"

    @extend_schema(
        operation_id="conversations_disconnect",
        summary="End the conversation",
        parameters=[_CONVERSATION_ID],
        request=None,
        responses={202: OutputSerializer, **_problems(*_UPSTREAM)},
    )
    def post(self, request: Request, slug: str, conversation_id: str) -> Response:
        result = conversation_disconnect(tenant=self.tenant, conversation_id=conversation_id)
        return Response(result, status=202)


class OrganizationDetailApi(TenantApi):
    """The tenant's Genesys organisation."""

    class OutputSerializer(serializers.Serializer):
        id = serializers.CharField()
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
        responses={200: OutputSerializer, **_problems(*_UPSTREAM)},
    )
    def get(self, request: Request, slug: str) -> Response:
        return Response(organization_get(tenant=self.tenant))


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


class UserSerializer(serializers.Serializer):
    class PresenceSerializer(serializers.Serializer):
        system_presence = serializers.CharField(allow_null=True)
        presence_definition_id = serializers.CharField(allow_null=True)
        message = serializers.CharField(allow_null=True)
        modified_date = serializers.DateTimeField(allow_null=True)

        class Meta:
            ref_name = "UserPresence"

    class RoutingStatusSerializer(serializers.Serializer):
        status = serializers.CharField(allow_null=True)
        start_time = serializers.DateTimeField(allow_null=True)

        class Meta:
            ref_name = "UserRoutingStatus"

    id = serializers.CharField()
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
        page = serializers.IntegerField(min_value=1, default=1)
        page_size = serializers.IntegerField(min_value=1, max_value=USERS_PAGE_SIZE_MAX, default=25)
        expand = ExpandField(required=False)

    class OutputSerializer(serializers.Serializer):
        items = UserSerializer(many=True)
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
            OpenApiParameter("page", int, OpenApiParameter.QUERY, description="From 1."),
            OpenApiParameter(
                "page_size", int, OpenApiParameter.QUERY, description="1 to 500, default 25."
            ),
            _EXPAND,
        ],
        responses={200: OutputSerializer, **_problems(400, *_UPSTREAM)},
    )
    def get(self, request: Request, slug: str) -> Response:
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(user_list(tenant=self.tenant, **query.validated_data))


class UserDetailApi(TenantApi):
    """One user; presence and routing status with `expand`."""

    class QuerySerializer(serializers.Serializer):
        expand = ExpandField(required=False)

    @extend_schema(
        operation_id="users_retrieve",
        summary="One user, with presence and routing status when asked",
        parameters=[
            OpenApiParameter("user_id", OpenApiTypes.UUID, OpenApiParameter.PATH),
            _EXPAND,
        ],
        responses={200: UserSerializer, **_problems(400, *_UPSTREAM)},
    )
    def get(self, request: Request, slug: str, user_id: str) -> Response:
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        user = user_get(tenant=self.tenant, user_id=user_id, **query.validated_data)
        return Response(user)
