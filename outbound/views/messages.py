"""Customer messages, receipts and typing: Open Messaging inbound."""

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from outbound.serializers import (
    ATTACHMENTS_MAX,
    ID_MAX_LENGTH,
    METADATA_MAX_ENTRIES,
    METADATA_VALUE_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    AttachmentSerializer,
    CaseInsensitiveChoiceField,
    CustomerIdSerializer,
    CustomerSerializer,
    JsonNamedSerializer,
    SharedFieldsSerializer,
    StrictSerializer,
)
from outbound.services.accept import message_accept, receipt_accept, typing_accept
from outbound.services.attachments import attachments_resolve
from outbound.services.messages import (
    RECEIPT_STATUSES,
    REPLY_TYPES,
    message_send,
    receipt_send,
    typing_send,
)
from outbound.views.asynchronous import (
    PREFER_PARAMETER,
    MessageStateSerializer,
    accepted,
    prefers_async,
)
from outbound.views.base import (
    BODY_PROBLEMS,
    UPSTREAM_PROBLEMS,
    TenantApi,
    problems,
)


class ReplySerializer(StrictSerializer):
    type = CaseInsensitiveChoiceField(choices=list(REPLY_TYPES))
    text = serializers.CharField(
        max_length=TEXT_MAX_LENGTH,
        required=False,
        trim_whitespace=False,
        help_text="What the customer tapped, as shown to them.",
    )
    payload = serializers.CharField(
        max_length=TEXT_MAX_LENGTH,
        trim_whitespace=False,
        help_text="The payload of the agent's option (a date for a DatePicker).",
    )
    reply_to = serializers.CharField(
        max_length=ID_MAX_LENGTH,
        help_text="The Genesys id of the agent message that offered the choice.",
    )

    class Meta:
        ref_name = "Reply"


# Fields a structured response has no room for; docs/api.md says why.
_NOT_WITH_REPLY = ("text", "attachments", "metadata")


class MessageCreateApi(TenantApi):
    """Send a customer's WhatsApp message, or reply to an agent's choice, to Genesys.

    Idempotent on (tenant, message_id): a repeat answers 200 with the first result and
    makes no second Genesys call. With `Prefer: respond-async`: 202 once stored, delivered
    later (a repeat answers 202 with the current state).
    """

    class InputSerializer(StrictSerializer, JsonNamedSerializer):
        integration_id = serializers.CharField(
            max_length=64, required=False, help_text="Default: the tenant's only integration."
        )
        message_id = serializers.CharField(
            max_length=ID_MAX_LENGTH, help_text="The WhatsApp message id (wamid)."
        )
        sender = CustomerSerializer(help_text="The customer.")
        json_names = {"sender": "from"}  # `from` is a Python keyword
        text = serializers.CharField(
            max_length=TEXT_MAX_LENGTH, required=False, trim_whitespace=False
        )
        attachments = serializers.ListField(
            child=AttachmentSerializer(), required=False, max_length=ATTACHMENTS_MAX
        )
        reply = ReplySerializer(
            required=False,
            help_text="The customer tapped an agent's quick reply, button or date picker.",
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

        def validate_metadata(self, value: dict[str, str]) -> dict[str, str]:
            if len(value) > METADATA_MAX_ENTRIES:
                raise serializers.ValidationError(f"At most {METADATA_MAX_ENTRIES} entries.")
            if any(not key or len(key) > ID_MAX_LENGTH for key in value):
                raise serializers.ValidationError(f"Keys must be 1-{ID_MAX_LENGTH} characters.")
            return value

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if "reply" in attrs:
                clashes = [name for name in _NOT_WITH_REPLY if name in attrs]
                if clashes:
                    raise serializers.ValidationError(
                        {
                            name: ["Not allowed with reply (put its text in reply.text)."]
                            for name in clashes
                        }
                    )
            elif not attrs.get("text") and not attrs.get("attachments"):
                raise serializers.ValidationError(
                    {"text": ["Give text, attachments or both (or a reply)."]}
                )
            return attrs

    class OutputSerializer(SharedFieldsSerializer):
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
        parameters=[PREFER_PARAMETER],
        responses={
            201: OpenApiResponse(OutputSerializer, description="Sent now."),
            200: OpenApiResponse(OutputSerializer, description="A repeat: the first result."),
            202: OpenApiResponse(
                MessageStateSerializer,
                description="`Prefer: respond-async`: stored, delivered later (or a repeat).",
            ),
            **problems(*BODY_PROBLEMS, 409, *UPSTREAM_PROBLEMS),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if fields.get("attachments"):
            # Before anything is stored or sent: a bad media_id is a 400, nothing reaches Genesys.
            fields["attachments"] = attachments_resolve(
                tenant=self.tenant, attachments=fields["attachments"]
            )
        if prefers_async(request):
            state, _ = message_accept(tenant=self.tenant, sender=fields.pop("from"), **fields)
            return accepted(MessageStateSerializer(state).data)
        result, created = message_send(tenant=self.tenant, sender=fields.pop("from"), **fields)
        return Response(self.OutputSerializer(result).data, status=201 if created else 200)


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

    class OutputSerializer(SharedFieldsSerializer):
        message_id = serializers.CharField()
        status = serializers.CharField()
        genesys_status = serializers.CharField(
            allow_null=True, help_text="Null for `sent`, which is recorded, never sent."
        )
        duplicate = serializers.BooleanField(help_text="Already forwarded before.")
        state = serializers.CharField(
            required=False, help_text="`Prefer: respond-async` only: the delivery state."
        )

        class Meta:
            ref_name = "ReceiptCreateOutput"

    @extend_schema(
        operation_id="receipts_create",
        summary="Forward a WhatsApp delivery status of an agent message",
        request=InputSerializer,
        parameters=[PREFER_PARAMETER],
        responses={202: OutputSerializer, **problems(*BODY_PROBLEMS, 409, *UPSTREAM_PROBLEMS)},
    )
    def post(self, request: Request, slug: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if prefers_async(request):
            queued = receipt_accept(tenant=self.tenant, recipient=fields.pop("to"), **fields)
            return accepted(self.OutputSerializer(queued).data)
        result = receipt_send(tenant=self.tenant, recipient=fields.pop("to"), **fields)
        return Response(self.OutputSerializer(result).data, status=202)


class TypingCreateApi(TenantApi):
    """Tell Genesys the customer is typing."""

    class InputSerializer(StrictSerializer, JsonNamedSerializer):
        integration_id = serializers.CharField(max_length=64, required=False)
        sender = CustomerIdSerializer(help_text="The customer.")
        json_names = {"sender": "from"}  # `from` is a Python keyword

        class Meta:
            ref_name = "TypingCreateInput"

    class OutputSerializer(SharedFieldsSerializer):
        integration_id = serializers.CharField()
        state = serializers.CharField(
            required=False, help_text="`Prefer: respond-async` only: the delivery state."
        )

        class Meta:
            ref_name = "TypingCreateOutput"

    @extend_schema(
        operation_id="typing_create",
        summary="The customer is typing",
        request=InputSerializer,
        parameters=[PREFER_PARAMETER],
        responses={202: OutputSerializer, **problems(*BODY_PROBLEMS, *UPSTREAM_PROBLEMS)},
    )
    def post(self, request: Request, slug: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if prefers_async(request):
            queued = typing_accept(tenant=self.tenant, sender=fields.pop("from"), **fields)
            return accepted(self.OutputSerializer(queued).data)
        result = typing_send(tenant=self.tenant, sender=fields.pop("from"), **fields)
        return Response(self.OutputSerializer(result).data, status=202)
