import io
import json

import pytest
import structlog
from django.test import Client, override_settings


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


def test_secret_looking_log_fields_are_redacted(log_output: io.StringIO) -> None:
    structlog.get_logger("test").warning(
        "oops", client_secret="s3cr3t-value", authorization="Bearer x"
    )
    output = log_output.getvalue()
    assert "s3cr3t-value" not in output and "Bearer x" not in output
    assert '"client_secret": "[redacted]"' in output


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


def test_metrics_are_prometheus_text(client: Client) -> None:
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert b"django_http_requests_total_by_method_total" in response.content


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
