"""`Prefer: respond-async` (RFC 7240) and the delivery state of a customer message."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from outbound.models import QueuedState
from outbound.serializers import SharedFieldsSerializer
from outbound.services.delivery_state import message_state
from outbound.views.base import TenantApi, problems

PREFER_PARAMETER = OpenApiParameter(
    "Prefer",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    enum=["respond-async"],
    description=(
        "`respond-async`: answer 202 once the request is validated and stored; the gateway "
        "delivers it to Genesys later and publishes `delivery.succeeded` / `delivery.failed` "
        "(docs/api.md). Without it the call waits for Genesys."
    ),
)


def prefers_async(request: Request) -> bool:
    """Whether the Prefer header asks for respond-async (any of its comma-separated tokens)."""
    header = request.headers.get("Prefer", "")
    tokens = (part.split(";")[0].strip().lower() for part in header.split(","))
    return "respond-async" in tokens


def accepted(body: dict[str, object]) -> Response:
    return Response(body, status=202, headers={"Preference-Applied": "respond-async"})


class DeliveryErrorSerializer(SharedFieldsSerializer):
    status = serializers.IntegerField(
        allow_null=True, help_text="Genesys' HTTP status (or ours: 503 when it gave up)."
    )
    detail = serializers.CharField()

    class Meta:
        ref_name = "DeliveryError"


class MessageStateSerializer(SharedFieldsSerializer):
    message_id = serializers.CharField()
    state = serializers.ChoiceField(choices=QueuedState.choices)
    genesys_message_id = serializers.CharField(allow_null=True, required=False)
    conversation_id = serializers.CharField(allow_null=True, required=False)
    attempts = serializers.IntegerField()
    error = DeliveryErrorSerializer(
        allow_null=True, required=False, help_text="The last failure, while retrying or failed."
    )

    class Meta:
        ref_name = "MessageState"


class MessageStateApi(TenantApi):
    """The delivery state of one customer message, sent either way, by its wamid."""

    @extend_schema(
        operation_id="messages_retrieve",
        summary="Delivery state of a customer message",
        responses={200: MessageStateSerializer, **problems(401, 404)},
    )
    def get(self, request: Request, slug: str, message_id: str) -> Response:
        state = message_state(tenant=self.tenant, message_id=message_id)
        if state is None:
            raise exceptions.NotFound("No such message.")
        return Response(MessageStateSerializer(state).data)
