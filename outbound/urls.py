from django.urls import URLPattern, path, register_converter

from outbound.views import asynchronous, conversations, directory, media, messages


class GenesysIdConverter:
    """Genesys ids are UUIDs; anything else never reaches a view (404) or Genesys."""

    regex = "[0-9A-Za-z-]{1,64}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(GenesysIdConverter, "genesys_id")

TENANT = "tenants/<slug:slug>/"

urlpatterns: list[URLPattern] = [
    path(TENANT + "messages", messages.MessageCreateApi.as_view(), name="messages"),
    path(
        TENANT + "messages/<str:message_id>",
        asynchronous.MessageStateApi.as_view(),
        name="message",
    ),
    path(TENANT + "receipts", messages.ReceiptCreateApi.as_view(), name="receipts"),
    path(TENANT + "typing", messages.TypingCreateApi.as_view(), name="typing"),
    path(TENANT + "media", media.MediaCreateApi.as_view(), name="media"),
    path(
        TENANT + "conversations/<genesys_id:conversation_id>",
        conversations.ConversationDetailApi.as_view(),
        name="conversation",
    ),
    path(
        TENANT + "conversations/<genesys_id:conversation_id>/messages",
        conversations.ConversationMessagesApi.as_view(),
        name="conversation-messages",
    ),
    path(
        TENANT + "conversations/<genesys_id:conversation_id>/attributes",
        conversations.ConversationAttributesUpdateApi.as_view(),
        name="conversation-attributes",
    ),
    path(
        TENANT + "conversations/<genesys_id:conversation_id>/disconnect",
        conversations.ConversationDisconnectApi.as_view(),
        name="conversation-disconnect",
    ),
    path(TENANT + "organization", directory.OrganizationDetailApi.as_view(), name="organization"),
    path(TENANT + "users", directory.UserListApi.as_view(), name="users"),
    path(TENANT + "users/<genesys_id:user_id>", directory.UserDetailApi.as_view(), name="user"),
]
