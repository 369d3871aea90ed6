"""The webhook under failure: database gone, concurrent redeliveries, huge chunked bodies."""

import io
import json
import select
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.db import connection, connections
from django.test import Client, RequestFactory

from tenants.models import Conversation, Integration, Tenant
from tests.conftest import WEBHOOK_SECRET, genesys_example
from tests.webhooks.conftest import (
    CONVERSATION_ID,
    EVENTS_SECRET,
    EVENTS_URL,
    OPEN_MESSAGING_URL,
    compact,
    post_events,
    post_open_messaging,
)
from webhooks import views
from webhooks.models import OutboxMessage
from webhooks.signatures import signature_compute

OUTBOX_TABLE = OutboxMessage._meta.db_table


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def outbox_insert_trigger() -> Iterator[object]:
    """Install a BEFORE INSERT trigger on the outbox with the given PL/pgSQL body."""
    installed: list[bool] = []

    def install(statement: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE FUNCTION test_outbox_trigger() RETURNS trigger AS $$ BEGIN {statement}; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER test_outbox_trigger BEFORE INSERT ON {OUTBOX_TABLE} "
                "FOR EACH ROW EXECUTE FUNCTION test_outbox_trigger()"
            )
        installed.append(True)

    yield install
    if installed:
        connection.close()  # the test may have left it broken
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER IF EXISTS test_outbox_trigger ON {OUTBOX_TABLE}")
            cursor.execute("DROP FUNCTION IF EXISTS test_outbox_trigger()")


@pytest.mark.django_db(transaction=True)
def test_database_unreachable_is_503_then_the_retry_is_stored(
    webhook_client: Client, conversation: Conversation
) -> None:
    body = compact(genesys_example("outbound-agent-text.json"))
    settings_dict = connection.settings_dict
    port = settings_dict["PORT"]
    connection.close()
    settings_dict["PORT"] = str(closed_port())
    try:
        response = post_open_messaging(webhook_client, body)
    finally:
        connection.close()
        settings_dict["PORT"] = port
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "5"
    assert not OutboxMessage.objects.exists()
    # Genesys retries a 503; once the database is back the same webhook is stored.
    assert post_open_messaging(webhook_client, body).status_code == 200
    assert OutboxMessage.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_database_dying_mid_transaction_is_503_and_rolls_back_the_state_change(
    webhook_client: Client, events_tenant: Tenant, integration: Integration, outbox_insert_trigger
) -> None:
    # The backend kills itself at the outbox INSERT, after the conversation was learned
    # in the same transaction: neither may survive.
    outbox_insert_trigger("PERFORM pg_terminate_backend(pg_backend_pid())")
    body = compact(genesys_example("notification-conversation-disconnect.json"))
    response = post_events(webhook_client, body)
    assert response.status_code == 503
    connection.close()
    assert not OutboxMessage.objects.exists()
    assert not Conversation.objects.filter(conversation_id=CONVERSATION_ID).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("endpoint", ["open_messaging", "events"])
def test_same_webhook_five_times_concurrently_is_stored_once(
    live_server: object,
    events_tenant: Tenant,
    integration: Integration,
    outbox_insert_trigger,
    endpoint: str,
) -> None:
    # Each INSERT pauses inside its transaction, so all five deliveries are past their
    # lookups and racing for the row at the same time.
    outbox_insert_trigger("PERFORM pg_sleep(0.2)")
    if endpoint == "open_messaging":
        Conversation.objects.create(
            conversation_id=CONVERSATION_ID,
            tenant=events_tenant,
            integration=integration,
            customer_id="+15550123456",
        )
        body = compact(genesys_example("outbound-agent-text.json"))
        url = OPEN_MESSAGING_URL
        headers = {"X-Hub-Signature-256": signature_compute(secret=WEBHOOK_SECRET, body=body)}
    else:
        # An unknown conversation: five transactions also race to learn it.
        body = compact(genesys_example("notification-conversation-disconnect.json"))
        url = EVENTS_URL
        headers = {"Authorization": f"Bearer {EVENTS_SECRET}"}
    barrier = threading.Barrier(5)

    def deliver(_: int) -> requests.Response:
        barrier.wait()
        return requests.post(
            f"{live_server}{url}",
            data=body,
            headers={"Content-Type": "application/json", **headers},
            timeout=30,
        )

    with ThreadPoolExecutor(max_workers=5) as pool:
        responses = list(pool.map(deliver, range(5)))

    assert [r.status_code for r in responses] == [200] * 5, [r.text for r in responses]
    assert sorted(r.json()["result"] for r in responses) == ["accepted"] + ["duplicate"] * 4
    assert OutboxMessage.objects.count() == 1
    assert Conversation.objects.filter(conversation_id=CONVERSATION_ID).count() == 1


def chunked_request(body: bytes, *, url: str = OPEN_MESSAGING_URL, **headers: str) -> WSGIRequest:
    """A request as a WSGI server passes a de-chunked body: no Content-Length."""
    environ = RequestFactory().post(url, data=b"", content_type="application/json").environ
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["wsgi.input_terminated"] = True
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return WSGIRequest(environ)


def test_chunked_body_over_the_limit_is_413_and_reading_stops_early() -> None:
    body = b" " * (8 * 1024 * 1024)
    request = chunked_request(body)
    response = views.genesys_open_messaging_webhook(request)
    assert response.status_code == 413
    assert request.META["wsgi.input"].tell() <= views.MAX_BODY_BYTES + 1


@pytest.mark.django_db
def test_chunked_body_within_the_limit_is_read(integration: Integration) -> None:
    body = compact(genesys_example("outbound-agent-text.json"))
    signature = signature_compute(secret=WEBHOOK_SECRET, body=body)
    response = views.genesys_open_messaging_webhook(
        chunked_request(body, **{"X-Hub-Signature-256": signature})
    )
    assert response.status_code == 200
    assert OutboxMessage.objects.count() == 1


@pytest.mark.django_db
def test_webhook_log_line_names_tenant_and_conversation(
    webhook_client: Client, conversation: Conversation, log_output: io.StringIO
) -> None:
    body = compact(genesys_example("outbound-agent-text.json"))
    assert post_open_messaging(webhook_client, body).status_code == 200
    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    [line] = [line for line in lines if line.get("event") == "webhook"]
    assert line["tenant"] == "acme"
    assert line["conversation_id"] == CONVERSATION_ID
    assert line["result"] == "accepted"
    assert line["request_id"]


class _BrokenStream(io.BytesIO):
    def read(self, size: int | None = -1) -> bytes:
        raise ConnectionResetError("peer went away")


def test_body_cut_off_by_the_sender_is_400_not_500() -> None:
    request = chunked_request(b"")
    request.META["wsgi.input"] = _BrokenStream()
    response = views.genesys_open_messaging_webhook(request)
    assert response.status_code == 400


@pytest.mark.django_db(transaction=True)
def test_a_persistent_connection_the_server_closed_is_replaced_before_the_webhook_uses_it(
    conversation: Conversation,
) -> None:
    # Through the WSGI handler, as gunicorn calls it: the test client skips the
    # connection checks Django makes at the start of every request.
    body = compact(genesys_example("outbound-agent-text.json"))
    environ = (
        RequestFactory()
        .post(
            OPEN_MESSAGING_URL,
            data=body,
            content_type="application/json",
            headers={"X-Hub-Signature-256": signature_compute(secret=WEBHOOK_SECRET, body=body)},
        )
        .environ
    )
    connection.ensure_connection()
    backend_pid = connection.connection.info.backend_pid
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend_pid])
            assert cursor.fetchone() == (True,)
    finally:
        other.close()
    # Wait until the server's goodbye has reached this side of the socket.
    assert select.select([connection.connection.fileno()], [], [], 10)[0]
    statuses: list[str] = []
    WSGIHandler()(environ, lambda status, headers: statuses.append(status))
    assert statuses == ["200 OK"]
    assert connection.connection.info.backend_pid != backend_pid
    assert OutboxMessage.objects.count() == 1
