"""The Open Messaging integration resource: the webhook URL and secret the emulator uses."""

from tests.emulator.conftest import (
    INTEGRATION_ID,
    WEBHOOK_SECRET,
    Genesys,
    Receiver,
    send_text,
    signature_ok,
)

INTEGRATIONS = "/api/v2/conversations/messaging/integrations/open"


def test_default_integration_is_configured(genesys: Genesys, receiver: Receiver) -> None:
    body = genesys.call("GET", f"{INTEGRATIONS}/{INTEGRATION_ID}").json()

    assert body["id"] == INTEGRATION_ID
    assert (
        body["outboundNotificationWebhookUrl"] == f"{receiver.url}/webhooks/genesys/open-messaging"
    )
    assert body["outboundNotificationWebhookSignatureSecretToken"] == WEBHOOK_SECRET
    assert body["createStatus"] == "Completed"


def test_create_list_update_delete(genesys: Genesys, receiver: Receiver) -> None:
    created = genesys.call(
        "POST",
        INTEGRATIONS,
        json={
            "name": "Second number",
            "outboundNotificationWebhookUrl": f"{receiver.url}/second",
            "outboundNotificationWebhookSignatureSecretToken": "second-secret-0123456789",
            "webhookHeaders": {"X-Tenant": "acme"},
        },
    )
    assert created.status_code == 200, created.text
    new_id = created.json()["id"]

    listing = genesys.call("GET", INTEGRATIONS).json()
    assert listing["total"] == 2
    assert {i["id"] for i in listing["entities"]} == {INTEGRATION_ID, new_id}

    patched = genesys.call(
        "PATCH",
        f"{INTEGRATIONS}/{new_id}",
        json={"outboundNotificationWebhookSignatureSecretToken": "rotated-secret-0123456789"},
    )
    assert patched.status_code == 200
    assert patched.json()["name"] == "Second number"
    assert (
        patched.json()["outboundNotificationWebhookSignatureSecretToken"]
        == "rotated-secret-0123456789"
    )

    assert genesys.call("DELETE", f"{INTEGRATIONS}/{new_id}").status_code == 204
    assert genesys.call("GET", f"{INTEGRATIONS}/{new_id}").status_code == 404


def test_webhooks_use_the_integrations_current_url_secret_and_headers(
    genesys: Genesys, receiver: Receiver
) -> None:
    genesys.call(
        "PATCH",
        f"{INTEGRATIONS}/{INTEGRATION_ID}",
        json={
            "outboundNotificationWebhookUrl": f"{receiver.url}/moved",
            "outboundNotificationWebhookSignatureSecretToken": "new-secret-0123456789",
            "webhookHeaders": {"X-Extra": "yes"},
        },
    )
    conversation_id = send_text(genesys, "hello").json()["conversationId"]

    genesys.control(f"conversations/{conversation_id}/reply", {"text": "hi", "wait": True})

    [received] = receiver.wait_for("/moved", 1)
    assert signature_ok("new-secret-0123456789", received)
    assert received["headers"]["X-Extra"] == "yes"


def test_create_requires_fields_and_a_long_secret(genesys: Genesys) -> None:
    response = genesys.call(
        "POST",
        INTEGRATIONS,
        json={"name": "x", "outboundNotificationWebhookSignatureSecretToken": "short"},
    )

    assert response.status_code == 400
    fields = {d["fieldName"] for d in response.json()["details"]}
    assert fields == {
        "outboundNotificationWebhookUrl",
        "outboundNotificationWebhookSignatureSecretToken",
    }


def test_update_rejects_unknown_fields(genesys: Genesys) -> None:
    response = genesys.call("PATCH", f"{INTEGRATIONS}/{INTEGRATION_ID}", json={"webhookUrl": "x"})

    assert response.status_code == 400
    assert response.json()["details"][0]["fieldName"] == "webhookUrl"
