"""What happens on the Genesys side: routing, agent replies, typing, disconnect, transfer, presence.

Each action changes State and queues the webhooks Genesys would send: Open Messaging outbound
notifications to the integration's outboundNotificationWebhookUrl (signed with its secret) and
notification topics to the events URL (signed with the events secret).
"""

from __future__ import annotations

import uuid
from typing import Any

from emulator import content, notifications
from emulator import conversations as conv
from emulator.clock import now_iso
from emulator.errors import ApiError, bad_request
from emulator.state import State
from emulator.validation import validate
from emulator.webhooks import WebhookSender


class Agent:
    """Genesys-side actions over one State, delivering through one WebhookSender."""

    def __init__(self, state: State, sender: WebhookSender) -> None:
        self.state = state
        self.sender = sender

    # ----- delivery helpers ------------------------------------------------------------

    def _notify(self, notification: dict[str, Any], envelope: str = "bare") -> dict[str, Any]:
        payload = notification
        if envelope == "eventbridge":
            payload = notifications.eventbridge(
                notification,
                org_id=self.state.org["id"],
                suffix=self.state.config.eventbridge_suffix,
            )
        auth = self.state.config.events_auth
        headers = {}
        if auth in ("bearer", "both"):
            headers["Authorization"] = f"Bearer {self.state.events_secret}"
        return self.sender.send(
            kind="events",
            url=self.state.events_url,
            secret=self.state.events_secret,
            payload=payload,
            headers=headers,
            signed=auth in ("signature", "both"),
        )

    def _outbound(self, conversation: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
        integration = self.state.integration_get(conversation["integration_id"])
        return self.sender.send(
            kind="open-messaging",
            url=integration["outboundNotificationWebhookUrl"],
            secret=integration["outboundNotificationWebhookSignatureSecretToken"],
            payload=payload,
            headers=integration.get("webhookHeaders") or {},
        )

    def _channel(self, conversation: dict[str, Any], message_id: str) -> dict[str, Any]:
        integration = self.state.integration_get(conversation["integration_id"])
        customer = conversation["customer"]
        return {
            "id": integration["id"],
            "platform": "Open",
            "type": "Private",
            "to": {"id": customer["id"], "idType": customer.get("idType", "Opaque")},
            "from": {
                "nickname": integration["name"],
                "id": integration["id"],
                "idType": "Opaque",
            },
            "time": now_iso(),
            "messageId": message_id,
        }

    def _connected(self, conversation_id: str) -> dict[str, Any]:
        conversation = self.state.conversation_get(conversation_id)
        if conversation["state"] == "disconnected":
            raise ApiError(
                409, "The conversation is disconnected.", code="conversation.disconnected"
            )
        return conversation

    # ----- routing -----------------------------------------------------------------------

    def route(self, conversation: dict[str, Any]) -> None:
        """A new conversation enters the queue and is answered by the next available agent."""
        with self.state.lock:
            acd = conv.queue_join(conversation)
            agent = conv.agent_join(conversation, self.state.user_pick_available(), acd)
            if self.state.config.notify_routing:
                self._notify(notifications.acd_start(conversation, acd))
                self._notify(notifications.user_start(conversation, agent))

    # ----- agent actions ---------------------------------------------------------------

    def reply(
        self,
        conversation_id: str,
        *,
        text: str = "",
        image_url: str | None = None,
        quick_replies: list[str] | None = None,
        bot: bool = False,
    ) -> dict[str, Any]:
        """The agent (or a bot) sends text, optionally with an image or quick replies."""
        if not text and not image_url:
            raise ApiError(400, "A reply needs text or an image_url.")
        items = [content.attachment(image_url)] if image_url else []
        items += content.quick_replies(quick_replies or [])
        return self.send(
            conversation_id,
            text=text,
            items=items,
            structured=bool(quick_replies),
            bot=bot,
        )

    def send(
        self,
        conversation_id: str,
        *,
        items: list[dict[str, Any]],
        text: str = "",
        structured: bool = True,
        bot: bool = False,
    ) -> dict[str, Any]:
        """An agent message with content items (emulator.content) through the signed webhook.

        The payload is checked against the SDK's ConversationNormalizedMessage before it
        leaves, so what the gateway receives always fits the model.
        """
        with self.state.lock:
            conversation = self._connected(conversation_id)
            message_id = str(uuid.uuid4())
            payload: dict[str, Any] = {
                "id": message_id,
                "channel": self._channel(conversation, message_id),
                "type": "Structured" if structured else "Text",
            }
            if text:
                payload["text"] = text
            if items:
                payload["content"] = items
            payload["originatingEntity"] = "Bot" if bot else "Human"
            payload["direction"] = "Outbound"
            issues = validate(payload, "ConversationNormalizedMessage")
            if issues:
                raise bad_request(issues)
            agent = conv.agent_of(conversation)
            message = conv.message_add(
                conversation,
                direction="outbound",
                normalized=payload,
                participant_id=agent["id"] if agent and not bot else "",
                status="sent",
            )
            delivery = self._outbound(conversation, payload)
            return {"message_id": message["id"], "payload": payload, "deliveries": [delivery]}

    def typing(self, conversation_id: str, *, duration_ms: int = 5000) -> dict[str, Any]:
        """The agent is typing: a type Event webhook with one Typing event."""
        with self.state.lock:
            conversation = self._connected(conversation_id)
            event_id = str(uuid.uuid4())
            payload = {
                "id": event_id,
                "channel": self._channel(conversation, event_id),
                "type": "Event",
                "events": [
                    {"eventType": "Typing", "typing": {"type": "On", "duration": duration_ms}}
                ],
                "direction": "Outbound",
            }
            conversation["events"].append(payload)
            delivery = self._outbound(conversation, payload)
            return {"event_id": event_id, "payload": payload, "deliveries": [delivery]}

    def disconnect(self, conversation_id: str) -> dict[str, Any]:
        """The agent ends the conversation: user.end, then customer.end."""
        with self.state.lock:
            conversation = self._connected(conversation_id)
            return {"deliveries": self.end(conversation, by_agent=True)}

    def end(self, conversation: dict[str, Any], *, by_agent: bool) -> list[dict[str, Any]]:
        """Disconnect everyone and send the notifications; shared with PATCH state=disconnected."""
        with self.state.lock:
            agent = conv.agent_of(conversation)
            if agent is not None:
                conv.agent_leave(agent, "client" if by_agent else "peer")
            conv.conversation_end(
                conversation, customer_disconnect_type="peer" if by_agent else "client"
            )
            sent = []
            if agent is not None:
                sent.append(self._notify(notifications.user_end(conversation, agent)))
            sent.append(
                self._notify(
                    notifications.customer_end(conversation, conv.customer_of(conversation))
                )
            )
            return sent

    def agent_leave(self, conversation: dict[str, Any], agent: dict[str, Any]) -> dict[str, Any]:
        """One agent leaves (PATCH participant state=disconnected); the customer stays."""
        with self.state.lock:
            conv.agent_leave(agent, "client")
            return self._notify(notifications.user_end(conversation, agent))

    def transfer(self, conversation_id: str, *, to_user_id: str | None = None) -> dict[str, Any]:
        """Blind transfer via the queue: user.end TRANSFER, acd.start, user.start."""
        with self.state.lock:
            conversation = self._connected(conversation_id)
            current = conv.agent_of(conversation)
            if to_user_id:
                target = self.state.user_get(to_user_id)
            else:
                exclude = {current["user_id"]} if current else set()
                target = self.state.user_pick_available(exclude)
            sent = []
            if current is not None:
                conv.agent_leave(current, "transfer")
                sent.append(self._notify(notifications.user_end(conversation, current)))
            acd = conv.queue_join(conversation)
            sent.append(self._notify(notifications.acd_start(conversation, acd)))
            agent = conv.agent_join(conversation, target, acd)
            conv.transfer_record(
                conversation, from_user=current["user_id"] if current else None, to_user=target
            )
            sent.append(self._notify(notifications.user_start(conversation, agent)))
            return {
                "agent": {"participant_id": agent["id"], "user_id": target["id"]},
                "deliveries": sent,
            }

    def presence(
        self,
        user_id: str,
        *,
        presence: str | None = None,
        routing_status: str | None = None,
        envelope: str = "bare",
    ) -> dict[str, Any]:
        """Change an agent's presence and/or routing status and notify both topics that changed."""
        if presence is None and routing_status is None:
            raise ApiError(400, "Give a presence and/or a routing_status.")
        if routing_status is not None and routing_status not in (
            "OFF_QUEUE",
            "IDLE",
            "INTERACTING",
            "NOT_RESPONDING",
            "COMMUNICATING",
        ):
            raise ApiError(400, f"Unknown routing status {routing_status!r}.")
        with self.state.lock:
            user = self.state.user_get(user_id)
            now = now_iso()
            sent = []
            if presence is not None:
                user["_presence"] = {"systemPresence": presence, "modifiedDate": now}
                sent.append(self._notify(notifications.presence(user), envelope))
            if routing_status is not None:
                user["_routing"] = {"status": routing_status, "startTime": now}
                sent.append(self._notify(notifications.routing_status(user), envelope))
            return {"user_id": user_id, "deliveries": sent}
