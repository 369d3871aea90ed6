"""Conversations: details, messages, attributes, disconnect."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from outbound.serializers import (
    METADATA_MAX_ENTRIES,
    METADATA_VALUE_MAX_LENGTH,
    GenesysDateTimeOutputField,
    StrictSerializer,
)
from outbound.services.conversations import (
    conversation_attributes_update,
    conversation_disconnect,
    conversation_get,
    conversation_messages_list,
)
from outbound.views.base import (
    BODY_PROBLEMS,
    CONVERSATION_ID_PARAMETER,
    UPSTREAM_PROBLEMS,
    TenantApi,
    problems,
)


class ParticipantOutputSerializer(serializers.Serializer):
    id = serializers.CharField(allow_null=True)
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
        start_time = GenesysDateTimeOutputField(allow_null=True)
        end_time = GenesysDateTimeOutputField(allow_null=True)
        participants = ParticipantOutputSerializer(many=True)

        class Meta:
            ref_name = "Conversation"

    @extend_schema(
        operation_id="conversations_retrieve",
        summary="A conversation's participants, state, start and end",
        parameters=[CONVERSATION_ID_PARAMETER],
        responses={200: OutputSerializer, **problems(*BODY_PROBLEMS, *UPSTREAM_PROBLEMS)},
    )
    def get(self, request: Request, slug: str, conversation_id: str) -> Response:
        conversation = conversation_get(tenant=self.tenant, conversation_id=conversation_id)
        return Response(self.OutputSerializer(conversation).data)


class ConversationAttachmentOutputSerializer(serializers.Serializer):
    url = serializers.CharField(allow_null=True)
    media_type = serializers.CharField(allow_null=True, help_text="Genesys' value, e.g. Image.")
    mime = serializers.CharField(allow_null=True)
    filename = serializers.CharField(allow_null=True)

    class Meta:
        ref_name = "ConversationAttachment"


class ConversationMessageOutputSerializer(serializers.Serializer):
    id = serializers.CharField(allow_null=True)
    direction = serializers.CharField(allow_null=True, help_text="inbound or outbound")
    text = serializers.CharField(allow_null=True)
    attachments = ConversationAttachmentOutputSerializer(many=True)
    timestamp = GenesysDateTimeOutputField(
        allow_null=True, help_text="Null when Genesys gave none (or one that is not a time)."
    )
    status = serializers.CharField(allow_null=True)

    class Meta:
        ref_name = "ConversationMessage"


class ConversationMessagesApi(TenantApi):
    """The conversation's messages, oldest first."""

    class OutputSerializer(serializers.Serializer):
        items = ConversationMessageOutputSerializer(many=True)

        class Meta:
            ref_name = "ConversationMessageList"

    @extend_schema(
        operation_id="conversations_messages_list",
        summary="A conversation's messages, oldest first",
        parameters=[CONVERSATION_ID_PARAMETER],
        responses={200: OutputSerializer, **problems(*BODY_PROBLEMS, *UPSTREAM_PROBLEMS)},
    )
    def get(self, request: Request, slug: str, conversation_id: str) -> Response:
        messages = conversation_messages_list(
            tenant=self.tenant,
            conversation_id=conversation_id,
        )
        return Response(self.OutputSerializer(messages).data)


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
        parameters=[CONVERSATION_ID_PARAMETER],
        request=InputSerializer,
        responses={200: OutputSerializer, **problems(*BODY_PROBLEMS, *UPSTREAM_PROBLEMS)},
    )
    def patch(self, request: Request, slug: str, conversation_id: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = conversation_attributes_update(
            tenant=self.tenant,
            conversation_id=conversation_id,
            **data.validated_data,
        )
        return Response(self.OutputSerializer(result).data)


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
        parameters=[CONVERSATION_ID_PARAMETER],
        request=None,
        responses={202: OutputSerializer, **problems(*BODY_PROBLEMS, *UPSTREAM_PROBLEMS)},
    )
    def post(self, request: Request, slug: str, conversation_id: str) -> Response:
        result = conversation_disconnect(tenant=self.tenant, conversation_id=conversation_id)
        return Response(self.OutputSerializer(result).data, status=202)
