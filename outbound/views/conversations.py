"""Conversations: details, messages, attributes, disconnect."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from outbound.serializers import METADATA_MAX_ENTRIES, METADATA_VALUE_MAX_LENGTH, StrictSerializer
from outbound.services.conversations import (
    conversation_attributes_update,
    conversation_disconnect,
    conversation_get,
    conversation_messages_list,
)
from outbound.views.base import (
    CONVERSATION_ID_PARAMETER,
    UPSTREAM_PROBLEMS,
    TenantApi,
    problems,
)


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
        parameters=[CONVERSATION_ID_PARAMETER],
        responses={200: OutputSerializer, **problems(*UPSTREAM_PROBLEMS)},
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
        parameters=[CONVERSATION_ID_PARAMETER],
        responses={200: OutputSerializer, **problems(*UPSTREAM_PROBLEMS)},
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
        parameters=[CONVERSATION_ID_PARAMETER],
        request=InputSerializer,
        responses={200: OutputSerializer, **problems(400, *UPSTREAM_PROBLEMS)},
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
        parameters=[CONVERSATION_ID_PARAMETER],
        request=None,
        responses={202: OutputSerializer, **problems(*UPSTREAM_PROBLEMS)},
    )
    def post(self, request: Request, slug: str, conversation_id: str) -> Response:
        result = conversation_disconnect(tenant=self.tenant, conversation_id=conversation_id)
        return Response(result, status=202)
