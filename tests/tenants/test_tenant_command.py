import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
import responses
from django.core.management import CommandError, call_command

from tenants.models import ApiKey, Integration, Tenant
from tenants.services import api_key_authenticate

REPO = Path(__file__).resolve().parents[2]
INTEGRATION_ID = "6f1c2a9e-3b7d-4c1e-9a52-0d8e4b7f1a23"


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def create_acme(*extra: str) -> str:
    return run(
        "tenant", "create", "acme", "--name", "Acme", "--region", "mypurecloud.ie",
        "--client-id", "cid", "--client-secret", "csecret", *extra,
    )  # fmt: skip


@pytest.mark.django_db
def test_create_stores_the_tenant_with_region_hosts() -> None:
    assert "created tenant acme" in create_acme()
    credentials = Tenant.objects.get(slug="acme").genesys_credentials()
    assert credentials.login_base_url == "https://login.mypurecloud.ie"
    assert credentials.api_base_url == "https://api.mypurecloud.ie"
    assert credentials.client_secret == "csecret"


@pytest.mark.django_db
def test_create_custom_region_uses_given_urls() -> None:
    run(
        "tenant", "create", "local", "--name", "Local", "--region", "custom",
        "--api-base-url", "http://127.0.0.1:8100", "--login-base-url", "http://127.0.0.1:8100/",
        "--client-id", "cid", "--client-secret", "s",
    )  # fmt: skip
    credentials = Tenant.objects.get(slug="local").genesys_credentials()
    assert credentials.api_base_url == "http://127.0.0.1:8100"
    assert credentials.login_base_url == "http://127.0.0.1:8100"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--region", "mars.example"], "unknown region 'mars.example'"),
        (["--region", "custom"], "needs --api-base-url"),
        (["--region", "custom", "--api-base-url", "ftp://x", "--login-base-url", "http://x"],
         "not an http(s) URL"),
        (["--region", "mypurecloud.com", "--client-secret", ""], "client_secret is required"),
    ],
)  # fmt: skip
def test_create_rejects_bad_input(args: list[str], message: str) -> None:
    base = {
        "--name": "N",
        "--region": "mypurecloud.com",
        "--client-id": "c",
        "--client-secret": "s",
    }
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    flat = [item for pair in base.items() for item in pair]
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run("tenant", "create", "acme", *flat)
    assert not Tenant.objects.exists()


@pytest.mark.django_db
def test_create_rejects_duplicate_and_bad_slugs() -> None:
    create_acme()
    with pytest.raises(CommandError, match="already exists"):
        create_acme()
    with pytest.raises(CommandError, match="letters, digits"):
        run("tenant", "create", "a b", "--name", "N", "--region", "mypurecloud.com",
            "--client-id", "c", "--client-secret", "s")  # fmt: skip
    assert Tenant.objects.count() == 1


@pytest.mark.django_db
def test_add_integration_and_rotate_its_secret() -> None:
    create_acme()
    run("tenant", "add-integration", "acme", INTEGRATION_ID, "--secret", "first-secret-0123456789")
    output = run(
        "tenant", "add-integration", "acme", INTEGRATION_ID, "--secret", "second-secret-012345678"
    )
    assert "previous secret still accepted" in output
    integration = Integration.objects.get(integration_id=INTEGRATION_ID)
    assert integration.webhook_secrets() == ["second-secret-012345678", "first-secret-0123456789"]

    run("tenant", "drop-previous-secret", "acme", INTEGRATION_ID)
    integration.refresh_from_db()
    assert integration.webhook_secrets() == ["second-secret-012345678"]


@pytest.mark.django_db
def test_add_integration_failures() -> None:
    create_acme()
    with pytest.raises(CommandError, match="no tenant with slug 'nope'"):
        run("tenant", "add-integration", "nope", INTEGRATION_ID, "--secret", "x" * 20)
    with pytest.raises(CommandError, match="at least 16 characters"):
        run("tenant", "add-integration", "acme", INTEGRATION_ID, "--secret", "short")
    with pytest.raises(CommandError, match="secret is required"):
        run("tenant", "add-integration", "acme", INTEGRATION_ID, "--secret", "  ")
    run("tenant", "create", "globex", "--name", "G", "--region", "mypurecloud.com",
        "--client-id", "c", "--client-secret", "s")  # fmt: skip
    run("tenant", "add-integration", "globex", INTEGRATION_ID, "--secret", "g" * 20)
    with pytest.raises(CommandError, match="belongs to another tenant"):
        run("tenant", "add-integration", "acme", INTEGRATION_ID, "--secret", "a" * 20)
    assert Integration.objects.get().tenant.slug == "globex"


@pytest.mark.django_db
def test_set_events_secret() -> None:
    create_acme()
    run("tenant", "set-events-secret", "acme", "--secret", "events-secret-0123456789")
    assert Tenant.objects.get(slug="acme").events_secret() == "events-secret-0123456789"
    with pytest.raises(CommandError, match="at least 16"):
        run("tenant", "set-events-secret", "acme", "--secret", "short")
    with pytest.raises(CommandError, match="no tenant"):
        run("tenant", "set-events-secret", "nope", "--secret", "events-secret-0123456789")


@pytest.mark.django_db
def test_create_key_prints_only_a_working_key() -> None:
    create_acme()
    output = run("tenant", "create-key", "acme")
    raw_key = output.strip()
    assert output == raw_key + "\n"
    api_key = api_key_authenticate(raw_key=raw_key)
    assert api_key is not None and api_key.tenant.slug == "acme"
    with pytest.raises(CommandError, match="no tenant"):
        run("tenant", "create-key", "nope")


@pytest.mark.django_db
def test_revoke_key_by_prefix() -> None:
    create_acme()
    raw_key = run("tenant", "create-key", "acme").strip()
    prefix = ApiKey.objects.get().prefix
    run("tenant", "revoke-key", "acme", prefix)
    assert api_key_authenticate(raw_key=raw_key) is None
    with pytest.raises(CommandError, match="need exactly 1"):
        run("tenant", "revoke-key", "acme", "zzz")


@pytest.mark.django_db
@responses.activate
def test_verify_records_the_organization_id() -> None:
    create_acme()
    token_call = responses.post(
        "https://login.mypurecloud.ie/oauth/token",
        json={"access_token": "tok-1", "token_type": "bearer", "expires_in": 86399},
    )
    org_call = responses.get(
        "https://api.mypurecloud.ie/api/v2/organizations/me",
        json={"id": "8a4d2c61-5f3b-4e97-b0c8-7d1e9a2f6b45", "name": "Acme Corp"},
    )
    output = run("tenant", "verify", "acme")
    assert "verified acme" in output and "Acme Corp" in output
    assert Tenant.objects.get(slug="acme").organization_id == "8a4d2c61-5f3b-4e97-b0c8-7d1e9a2f6b45"
    token_request = token_call.calls[0].request
    assert token_request.body == "grant_type=client_credentials"
    assert token_request.headers["Authorization"] == "Basic Y2lkOmNzZWNyZXQ="  # cid:csecret
    assert org_call.calls[0].request.headers["Authorization"] == "Bearer tok-1"


@pytest.mark.django_db
@responses.activate
def test_verify_fails_with_one_line_on_bad_credentials() -> None:
    create_acme()
    responses.post(
        "https://login.mypurecloud.ie/oauth/token",
        status=401,
        json={"error": "invalid_client", "description": "client not found"},
    )
    with pytest.raises(CommandError, match=r"token request .* failed: HTTP 401; client not found"):
        run("tenant", "verify", "acme")
    assert Tenant.objects.get(slug="acme").organization_id == ""


@pytest.mark.django_db
@responses.activate
def test_verify_fails_when_the_organization_call_fails() -> None:
    create_acme()
    responses.post(
        "https://login.mypurecloud.ie/oauth/token", json={"access_token": "t", "expires_in": 60}
    )
    responses.get(
        "https://api.mypurecloud.ie/api/v2/organizations/me",
        status=403,
        json={"message": "missing permission", "code": "missing.permissions", "contextId": "ctx-9"},
    )
    with pytest.raises(CommandError, match="HTTP 403; missing permission; contextId ctx-9"):
        run("tenant", "verify", "acme")


@pytest.mark.django_db
def test_verify_unreachable_genesys_is_a_clear_error() -> None:
    run("tenant", "create", "local", "--name", "L", "--region", "custom",
        "--api-base-url", "http://127.0.0.1:9", "--login-base-url", "http://127.0.0.1:9",
        "--client-id", "c", "--client-secret", "s")  # fmt: skip
    with pytest.raises(CommandError, match="no response; token request failed: ConnectionError"):
        run("tenant", "verify", "local")


@pytest.mark.django_db(transaction=True)
def test_bad_input_from_the_shell_exits_non_zero_without_traceback() -> None:
    # A real process: the exit status and stderr are what scripts see.
    result = subprocess.run(
        [sys.executable, "manage.py", "tenant", "create", "x", "--name", "X",
         "--region", "nowhere", "--client-id", "c", "--client-secret", "s"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "unknown region 'nowhere'" in result.stderr
    assert "Traceback" not in result.stderr
