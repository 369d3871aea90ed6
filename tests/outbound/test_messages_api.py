"""POST messages: the exact Genesys request, idempotency, integrations, bad input."""

import json
import time
from datetime import timedelta
from typing import Any

import pytest
import responses
from django.utils import timezone
from rest_framework.test import APIClient

from outbound.models import DeliveryState, InboundMessage
from tenants import services as tenant_services
from tenants.models import Conversation, Integration, Tenant
from tenants.selectors import conversation_get
from tests.conftest import WEBHOOK_SECRET, genesys_example
from tests.outbound.conftest import (
    CONVERSATION_ID,
    INBOUND_URL,
    INTEGRATION_ID,
    problem,
    run_in_threads,
)
from tests.outbound.sdk import sdk_problems

URL = "/api/v1/tenants/acme/messages"
WAMID = "wamid.HBgLMTU1NTAxMjM0NTYVAgASGBQzQUI1RjE2QzYxRTIwQjQ2QkY1OQA="
GENESYS_MESSAGE_ID = "0b6c9f4e-7d21-4a8f-b3c5-92e1d7a6f480"
ANSWER = {"id": GENESYS_MESSAGE_ID, "conversationId": CONVERSATION_ID, "type": "Text"}

TEXT_REQUEST = {
    "message_id": WAMID,
    "from": {
        "id": "+15550123456",
        "nickname": "Maria Lopez",
        "first_name": "Maria",
        "last_name": "Lopez",
    },
    "text": "Hi, I need help with my order #4821",
    "metadata": {"waPhoneNumberId": "106540352242922", "waProfileName": "Maria Lopez"},
    "timestamp": "2026-01-31T12:00:00Z",
}


def sent_body(call: Any) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(call.request.body)
    return body


@pytest.fixture
def inbound(genesys: responses.RequestsMock, token_endpoint: Any) -> Any:
    return genesys.post(INBOUND_URL, json=ANSWER)


def test_a_text_message_reaches_genesys_exactly_as_documented(
    integration: Integration, authed_client: APIClient, inbound: Any
) -> None:
    response = authed_client.post(URL, TEXT_REQUEST, format="json")
    assert response.status_code == 201
    assert response.json() == {
        "message_id": WAMID,
        "genesys_message_id": GENESYS_MESSAGE_ID,
        "conversation_id": CONVERSATION_ID,
        "integration_id": INTEGRATION_ID,
    }
    [call] = inbound.calls
    assert call.request.url == INBOUND_URL + "?prefetchConversationId=true"
    assert call.request.headers["Authorization"] == "Bearer tok-1"
    assert call.request.headers["Content-Type"] == "application/json"
    # The team's reference example is exactly what Genesys must receive.
    assert sent_body(call) == genesys_example("inbound-text.json")
    assert sdk_problems(sent_body(call), "OpenInboundNormalizedMessage") == []


def test_an_attachment_is_sent_in_the_genesys_shape(
    integration: Integration, authed_client: APIClient, inbound: Any
) -> None:
    request = {
        "message_id": "wamid.image",
        "from": {"id": "+15550123456", "id_type": "phone"},
        "attachments": [
            {
                "url": "https://bridge.example.com/media/box.jpg",
                "media_type": "image",
                "mime": "IMAGE/JPEG",
                "filename": "box.jpg",
            }
        ],
        "timestamp": "2026-01-31T12:01:30.000Z",
    }
    assert authed_client.post(URL, request, format="json").status_code == 201
    assert sent_body(inbound.calls[0]) == {
        "channel": {
            "messageId": "wamid.image",
            "time": "2026-01-31T12:01:30.000Z",
            "from": {"id": "+15550123456", "idType": "Phone"},
        },
        "content": [
            {
                "attachment": {
                    "mediaType": "Image",
                    "url": "https://bridge.example.com/media/box.jpg",
                    "mime": "image/jpeg",
                    "filename": "box.jpg",
                }
            }
        ],
    }
    assert sdk_problems(sent_body(inbound.calls[0]), "OpenInboundNormalizedMessage") == []


def test_a_repeat_answers_200_with_the_first_result_and_no_second_call(
    integration: Integration, authed_client: APIClient, inbound: Any
) -> None:
    first = authed_client.post(URL, TEXT_REQUEST, format="json")
    repeat = authed_client.post(URL, {**TEXT_REQUEST, "text": "changed"}, format="json")
    assert (first.status_code, repeat.status_code) == (201, 200)
    assert repeat.json() == first.json()
    assert inbound.call_count == 1


def test_the_conversation_is_recorded_for_the_webhook_side(
    integration: Integration, authed_client: APIClient, inbound: Any, tenant: Tenant
) -> None:
    authed_client.post(URL, TEXT_REQUEST, format="json")
    conversation = conversation_get(conversation_id=CONVERSATION_ID)
    assert conversation is not None
    assert conversation.tenant == tenant
    assert conversation.integration == integration
    assert conversation.customer_id == "+15550123456"


def test_no_conversation_id_records_nothing(
    integration: Integration, authed_client: APIClient, genesys: Any, token_endpoint: Any
) -> None:
    genesys.post(INBOUND_URL, json={"id": GENESYS_MESSAGE_ID})
    response = authed_client.post(URL, TEXT_REQUEST, format="json")
    assert response.status_code == 201
    assert response.json()["conversation_id"] is None
    assert not Conversation.objects.exists()


def test_a_failed_call_leaves_the_message_id_free_for_a_retry(
    integration: Integration, authed_client: APIClient, genesys: Any, token_endpoint: Any
) -> None:
    genesys.post(INBOUND_URL, status=400, json=genesys_example("error-400.json"))
    genesys.post(INBOUND_URL, json=ANSWER)
    failed = authed_client.post(URL, TEXT_REQUEST, format="json")
    assert failed.status_code == 422
    assert not InboundMessage.objects.exists()
    retried = authed_client.post(URL, TEXT_REQUEST, format="json")
    assert retried.status_code == 201
    assert InboundMessage.objects.get().state == DeliveryState.SENT


def test_message_ids_are_scoped_per_tenant(
    integration: Integration,
    authed_client: APIClient,
    inbound: Any,
    second_tenant: Tenant,
    genesys: Any,
) -> None:
    tenant_services.integration_add(
        tenant=second_tenant,
        integration_id="9d0c5b1e-0000-4000-8000-000000000002",
        secret=WEBHOOK_SECRET,
    )
    other_inbound = genesys.post(
        "https://api.genesys.test/api/v2/conversations/messages/9d0c5b1e-0000-4000-8000-000000000002/inbound/open/message",
        json={"id": "other-genesys-id"},
    )
    _, key = tenant_services.api_key_create(tenant=second_tenant)
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert authed_client.post(URL, TEXT_REQUEST, format="json").status_code == 201
    second = other.post("/api/v1/tenants/globex/messages", TEXT_REQUEST, format="json")
    assert second.status_code == 201
    assert second.json()["genesys_message_id"] == "other-genesys-id"
    assert (inbound.call_count, other_inbound.call_count) == (1, 1)


def test_a_tenant_with_several_integrations_must_name_one(
    integration: Integration, authed_client: APIClient, tenant: Tenant, inbound: Any
) -> None:
    tenant_services.integration_add(
        tenant=tenant, integration_id="second-integration", secret=WEBHOOK_SECRET
    )
    response = authed_client.post(URL, TEXT_REQUEST, format="json")
    assert response.status_code == 400
    assert problem(response)["errors"] == {
        "integration_id": ["Required: the tenant has several integrations."]
    }
    named = authed_client.post(
        URL, {**TEXT_REQUEST, "integration_id": INTEGRATION_ID}, format="json"
    )
    assert named.status_code == 201
    assert inbound.call_count == 1


def test_a_tenant_without_integration_gets_a_400(authed_client: APIClient) -> None:
    response = authed_client.post(URL, TEXT_REQUEST, format="json")
    assert response.status_code == 400
    assert problem(response)["type"].endswith("/invalid-integration")


def test_another_tenants_integration_is_unknown(
    integration: Integration, authed_client: APIClient, second_tenant: Tenant
) -> None:
    tenant_services.integration_add(
        tenant=second_tenant, integration_id="globex-integration", secret=WEBHOOK_SECRET
    )
    for integration_id in ("globex-integration", "no-such-integration"):
        response = authed_client.post(
            URL, {**TEXT_REQUEST, "integration_id": integration_id}, format="json"
        )
        assert response.status_code == 400
        assert problem(response)["errors"] == {"integration_id": ["Unknown integration."]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"message_id": None}, "message_id"),
        ({"from": None}, "from"),
        ({"from": {"nickname": "no id"}}, "from"),
        ({"from": "+1555"}, "from"),
        ({"from": {"id": "+1555", "id_type": "Fax"}}, "from"),
        ({"text": "x" * 4097}, "text"),
        ({"text": None}, "text"),
        ({"text": 42}, None),  # numbers are accepted as text by DRF: not an error
        ({"metadata": {"k": 1.5}}, None),
        ({"metadata": {"k": ["list"]}}, "metadata"),
        ({"metadata": "flat"}, "metadata"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"integration_id": ["x"]}, "integration_id"),
        ({"messageId": "typo"}, "messageId"),
        ({"from": {"id": "+1555", "firstName": "typo"}}, "from"),
    ],
)
def test_bad_input_is_a_400_with_field_errors(
    integration: Integration,
    authed_client: APIClient,
    inbound: Any,
    change: dict[str, Any],
    field: str | None,
) -> None:
    request = {key: value for key, value in {**TEXT_REQUEST, **change}.items() if value is not None}
    if change.get("text", "") is None:
        request.pop("text", None)
    response = authed_client.post(URL, request, format="json")
    if field is None:
        assert response.status_code == 201
        return
    assert response.status_code == 400, response.content
    body = problem(response)
    assert body["status"] == 400 and field in body["errors"], body
    assert inbound.call_count == 0


@pytest.mark.parametrize(
    ("attachment", "field"),
    [
        ({"url": "ftp://x/a.jpg"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"media_type": "Sticker"}, "media_type"),
        ({"media_type": "Link"}, "media_type"),
        ({"mime": "jpeg"}, "mime"),
        ({"mime": "image/jpeg; charset=x"}, "mime"),
        ({"mime": "video/mp4"}, "mime"),  # an Image needs image/*
        ({"filename": "x" * 300}, "filename"),
        ({"size": 10}, "size"),
    ],
)
def test_a_malformed_or_unsupported_attachment_is_a_400(
    integration: Integration,
    authed_client: APIClient,
    inbound: Any,
    attachment: dict[str, Any],
    field: str,
) -> None:
    good = {"url": "https://cdn.example/a.jpg", "media_type": "Image", "mime": "image/jpeg"}
    request = {**TEXT_REQUEST, "attachments": [{**good, **attachment}]}
    response = authed_client.post(URL, request, format="json")
    assert response.status_code == 400, response.content
    errors = problem(response)["errors"]["attachments"]
    assert field in errors["0"] if isinstance(errors, dict) else field in errors[0], errors
    assert inbound.call_count == 0


def test_a_pdf_file_and_an_audio_note_are_accepted(
    integration: Integration, authed_client: APIClient, inbound: Any
) -> None:
    attachments = [
        {"url": "http://cdn.example/invoice.pdf", "media_type": "File", "mime": "application/pdf"},
        {"url": "https://cdn.example/note.ogg", "media_type": "AUDIO", "mime": "audio/ogg"},
    ]
    response = authed_client.post(URL, {**TEXT_REQUEST, "attachments": attachments}, format="json")
    assert response.status_code == 201
    content = sent_body(inbound.calls[0])["content"]
    assert [item["attachment"]["mediaType"] for item in content] == ["File", "Audio"]


def test_neither_text_nor_attachments_is_a_400(
    integration: Integration, authed_client: APIClient
) -> None:
    request = {key: value for key, value in TEXT_REQUEST.items() if key != "text"}
    response = authed_client.post(URL, request, format="json")
    assert response.status_code == 400
    assert "text" in problem(response)["errors"]


def test_malformed_json_is_a_problem_not_a_500(
    integration: Integration, authed_client: APIClient
) -> None:
    response = authed_client.post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert problem(response)["type"].endswith("/malformed-request")
    response = authed_client.post(URL, [1, 2], format="json")
    assert response.status_code == 400


def test_another_tenants_slug_is_404_and_no_key_is_401(
    integration: Integration, authed_client: APIClient, second_tenant: Tenant
) -> None:
    response = authed_client.post("/api/v1/tenants/globex/messages", TEXT_REQUEST, format="json")
    assert response.status_code == 404
    unknown = authed_client.post("/api/v1/tenants/nobody/messages", TEXT_REQUEST, format="json")
    assert unknown.json() == response.json()
    assert APIClient().post(URL, TEXT_REQUEST, format="json").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_posts_of_one_message_make_one_genesys_call(
    integration: Integration, api_key: str, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    def slow_genesys(request: Any) -> tuple[int, dict[str, str], str]:
        time.sleep(0.3)  # every other request arrives while this one is in flight
        return 200, {}, json.dumps(ANSWER)

    inbound = genesys.add_callback(
        "POST", INBOUND_URL, callback=slow_genesys, content_type="application/json"
    )

    def post(_: int) -> tuple[int, dict[str, Any]]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
        response = client.post(URL, TEXT_REQUEST, format="json")
        return response.status_code, response.json()

    results = run_in_threads(20, post)
    assert all(isinstance(result, tuple) for result in results), results
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 19 + [201]
    assert {body["genesys_message_id"] for _, body in results} == {GENESYS_MESSAGE_ID}
    assert inbound.call_count == 1
    assert token_endpoint.call_count == 1
    assert InboundMessage.objects.get().state == DeliveryState.SENT


def test_a_claim_left_by_a_dead_worker_is_taken_over(
    integration: Integration, authed_client: APIClient, inbound: Any, tenant: Tenant
) -> None:
    InboundMessage.objects.create(
        tenant=tenant,
        message_id=WAMID,
        state=DeliveryState.PENDING,
        claimed_at=timezone.now() - timedelta(minutes=5),
    )
    response = authed_client.post(URL, TEXT_REQUEST, format="json")
    assert response.status_code == 201
    assert inbound.call_count == 1
    assert InboundMessage.objects.get().genesys_message_id == GENESYS_MESSAGE_ID


def test_a_repeat_while_the_first_is_in_flight_gives_up_with_409(
    integration: Integration,
    authed_client: APIClient,
    inbound: Any,
    tenant: Tenant,
    settings: Any,
) -> None:
    settings.GENESYS_IDEMPOTENCY_WAIT_S = 0.1
    InboundMessage.objects.create(
        tenant=tenant, message_id=WAMID, state=DeliveryState.PENDING, claimed_at=timezone.now()
    )
    response = authed_client.post(URL, TEXT_REQUEST, format="json")
    assert response.status_code == 409
    assert problem(response)["type"].endswith("/request-in-progress")
    assert response["Retry-After"] == "5"
    assert inbound.call_count == 0
