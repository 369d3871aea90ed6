import io
import json
import logging
import re
import uuid
from collections.abc import Iterator

import pytest
import structlog
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from genesys_gateway.health import READINESS
from genesys_gateway.metrics import SCRAPE_COLLECTORS
from tenants.models import Tenant
from tests.relay.conftest import services
from webhooks.models import OutboxMessage


def test_healthz_answers_ok(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_200_with_database_and_broker_up(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": True, "broker": True}


@pytest.mark.django_db
def test_readyz_is_503_when_the_broker_is_unreachable(client: Client) -> None:
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    with override_settings(EVENTS_BROKER_URL="amqp://guest:guest@127.0.0.1:9//"):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": True, "broker": False}


def test_readyz_is_503_when_the_database_is_unreachable(client: Client) -> None:
    # No django_db mark: pytest-django blocks database access, as an outage would.
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] is False


def test_request_id_is_returned_and_kept_from_the_caller(client: Client) -> None:
    generated = client.get("/healthz")["X-Request-ID"]
    assert len(generated) == 32
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    # Something that could forge log lines is replaced.
    assert client.get("/healthz", HTTP_X_REQUEST_ID="a\nb")["X-Request-ID"] != "a\nb"


def test_log_lines_are_json_with_the_request_id(client: Client, log_output: io.StringIO) -> None:
    client.get("/healthz", HTTP_X_REQUEST_ID="req-42")
    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    request_lines = [line for line in lines if line.get("event") == "request"]
    assert request_lines, lines
    assert request_lines[-1]["request_id"] == "req-42"
    assert request_lines[-1]["status"] == 200
    assert request_lines[-1]["path"] == "/healthz"


def test_the_request_line_logger_writes_what_structlog_writes(log_output: io.StringIO) -> None:
    from genesys_gateway.logging import DirectLogger

    structlog.contextvars.bind_contextvars(request_id="req-7", tenant="acme")
    try:
        structlog.get_logger("genesys_gateway.middleware").info(
            "request", method="POST", path="/x", status=202, api_key="gwk_secret"
        )
        DirectLogger("genesys_gateway.middleware").info(
            "request", method="POST", path="/x", status=202, api_key="gwk_secret"
        )
    finally:
        structlog.contextvars.clear_contextvars()
    by_structlog, direct = (json.loads(line) for line in log_output.getvalue().splitlines())
    assert direct.pop("timestamp").endswith("Z") and by_structlog.pop("timestamp")
    assert list(direct.items()) == list(by_structlog.items())  # same keys, order, values
    assert direct["api_key"] == "[redacted]" and direct["request_id"] == "req-7"


def test_the_request_line_logger_honours_the_level(log_output: io.StringIO) -> None:
    from genesys_gateway.logging import DirectLogger

    logging.getLogger("test.quiet").setLevel(logging.WARNING)
    try:
        DirectLogger("test.quiet").info("request", status=200)
        DirectLogger("test.loud").info("request", status=201)
    finally:
        logging.getLogger("test.quiet").setLevel(logging.NOTSET)
    assert [json.loads(line)["status"] for line in log_output.getvalue().splitlines()] == [201]


def test_secret_looking_log_fields_are_redacted(log_output: io.StringIO) -> None:
    structlog.get_logger("test").warning(
        "oops", client_secret="s3cr3t-value", authorization="Bearer x"
    )
    output = log_output.getvalue()
    assert "s3cr3t-value" not in output and "Bearer x" not in output
    line = json.loads(output.strip().splitlines()[-1])
    assert line["client_secret"] == "[redacted]" and line["authorization"] == "[redacted]"


def test_secret_looking_keys_are_redacted_at_any_depth(log_output: io.StringIO) -> None:
    request = {"headers": {"Authorization": "Bearer nested-x"}, "url": "https://x.test/a"}
    payloads = [{"channel": {"secret": "deep-secret-1"}}, ("token", {"api_key": "gwk_deep"})]
    structlog.get_logger("test").warning("oops", request=request, payloads=payloads)
    output = log_output.getvalue()
    for secret in ("nested-x", "deep-secret-1", "gwk_deep"):
        assert secret not in output
    line = json.loads(output.strip().splitlines()[-1])
    assert line["request"] == {
        "headers": {"Authorization": "[redacted]"},
        "url": "https://x.test/a",
    }
    assert line["payloads"][0] == {"channel": {"secret": "[redacted]"}}
    assert line["payloads"][1] == ["token", {"api_key": "[redacted]"}]
    # The caller's own dict is left as it was.
    assert request["headers"]["Authorization"] == "Bearer nested-x"


def _http_requests_counted(client: Client, **labels: str) -> float:
    """The `_count` of the request histogram for these labels, as /metrics shows it."""
    text = client.get("/metrics").content.decode()
    wanted = ",".join(f'{name}="{value}"' for name, value in sorted(labels.items()))
    prefix = f"gateway_http_request_duration_seconds_count{{{wanted}}} "
    return sum(
        float(line.removeprefix(prefix)) for line in text.splitlines() if line.startswith(prefix)
    )


def test_metrics_are_prometheus_text(client: Client) -> None:
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert b"gateway_http_request_duration_seconds_bucket" in response.content


def test_every_request_is_counted_by_pool_method_view_and_status(client: Client) -> None:
    healthz = {"method": "GET", "pool": "all", "status": "200", "view": "healthz"}
    unmatched = {"method": "GET", "pool": "all", "status": "404", "view": "unmatched"}
    before = _http_requests_counted(client, **healthz), _http_requests_counted(client, **unmatched)
    client.get("/healthz")
    client.get("/healthz")
    client.get("/no/such/path")
    after = _http_requests_counted(client, **healthz), _http_requests_counted(client, **unmatched)
    assert after == (before[0] + 2, before[1] + 1)


def test_unknown_path_is_a_problem_not_html(client: Client) -> None:
    response = client.get("/no/such/path")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 404


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", "١٢"])
def test_malformed_content_length_is_400_not_500(client: Client, length: str) -> None:
    response = client.post(
        "/webhooks/genesys/open-messaging",
        data=b"{}",
        content_type="application/json",
        CONTENT_LENGTH=length,
    )
    assert response.status_code == 400
    assert response.json()["type"].endswith("/malformed-request")


@pytest.fixture
def fresh_probe_caches() -> Iterator[None]:
    """Probe caches empty before and after, so no other test's result is served here."""
    READINESS.clear()
    SCRAPE_COLLECTORS.clear()
    yield
    READINESS.clear()
    SCRAPE_COLLECTORS.clear()


def _outbox_row(tenant: Tenant) -> OutboxMessage:
    event_id = str(uuid.uuid4())
    return OutboxMessage.objects.create(
        tenant=tenant,
        event_id=event_id,
        event_type="message.inbound",
        ordering_key=f"conv-{event_id}",
        routing_key="message.inbound.acme",
        cloud_event={"id": event_id},
    )


def _pending_gauge(body: bytes) -> float:
    match = re.search(rb"^gateway_outbox_pending (\S+)$", body, re.M)
    assert match, body
    return float(match.group(1))


def _outbox_reads(context: CaptureQueriesContext) -> int:
    return sum(
        query["sql"].startswith("SELECT") and "webhooks_outboxmessage" in query["sql"]
        for query in context.captured_queries
    )


def test_metrics_count_the_outbox_once_per_ttl(
    client: Client, tenant: Tenant, fresh_probe_caches: None
) -> None:
    _outbox_row(tenant)
    with override_settings(METRICS_DB_CACHE_S=3600), CaptureQueriesContext(connection) as hits:
        bodies = [client.get("/metrics").content for _ in range(10)]
        _outbox_row(tenant)  # within the TTL: not seen yet
        bodies.append(client.get("/metrics").content)
    # The first scrape reads the outbox (pending aggregate + dead count); ten more, none.
    assert _outbox_reads(hits) == 2
    assert {_pending_gauge(body) for body in bodies} == {1.0}

    # Once the TTL has passed (0 s: at once) the next scrape counts again and sees the row.
    with override_settings(METRICS_DB_CACHE_S=0), CaptureQueriesContext(connection) as hits:
        body = client.get("/metrics").content
    assert _outbox_reads(hits) == 2
    assert _pending_gauge(body) == 2.0


@pytest.mark.django_db
@pytest.mark.slow
def test_readyz_answers_from_its_cache_until_the_ttl_passes(
    client: Client, fresh_probe_caches: None
) -> None:
    with override_settings(READYZ_CACHE_S=3600):
        assert client.get("/readyz").status_code == 200
        services("stop-rabbitmq")
        try:
            # No broker connection is attempted within the TTL: the cached answer stands.
            cached = [client.get("/readyz") for _ in range(5)]
            assert [response.status_code for response in cached] == [200] * 5
            with override_settings(READYZ_CACHE_S=0):
                expired = client.get("/readyz")
            assert expired.status_code == 503
            assert expired.json()["checks"] == {"database": True, "broker": False}
            # The failure is cached too: an outage does not cost a connect timeout per hit.
            assert client.get("/readyz").status_code == 503
        finally:
            services("start-rabbitmq")
    with override_settings(READYZ_CACHE_S=0):
        assert client.get("/readyz").status_code == 200


@override_settings(SECURE_SSL_REDIRECT=True)
def test_https_redirect_spares_probes_and_metrics() -> None:
    client = Client()  # built under the override: SecurityMiddleware reads it at start
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200
    redirected = client.get("/api/v1/schema/")
    assert redirected.status_code == 301
    assert redirected["Location"].startswith("https://")
