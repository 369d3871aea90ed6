"""The key-rotation runbook of docs/operations.md, followed step by step on PostgreSQL.

Commands run as an operator runs them: `manage.py` processes with FIELD_ENCRYPTION_KEYS
from the environment, against the test database (rows committed, hence transaction=True).
In between, this process reads the rows back with the key list each step leaves in place.
"""

import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import responses
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.test import override_settings

from tenants import crypto, services
from tenants.models import Integration, Tenant
from tests.conftest import subprocess_env

REPO = Path(__file__).resolve().parent.parent
OLD = "8S4vNHLPm4-Ki3wnomA1U4Q_kfn0E0dO3xb4rnEGBQo="  # the key of settings/test.py
NEW = Fernet.generate_key().decode()
SECRET_KEY = secrets.token_urlsafe(50)
RUNBOOK_STEPS = [
    "Add the new key first",
    "Restart every process",
    "Re-encrypt",
    "Verify",
    "Drop the old key",
    "Restart every process",
]


def _manage(*args: str, keys: list[str]) -> subprocess.CompletedProcess[str]:
    env = subprocess_env(
        settings_module="settings.base",
        SECRET_KEY=SECRET_KEY,
        FIELD_ENCRYPTION_KEYS=",".join(keys),
    )
    env.pop("DEBUG", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _secrets_by_tenant() -> dict[str, tuple[str, str, list[str]]]:
    """Every stored secret, decrypted with the keys configured now."""
    found = {}
    for tenant in Tenant.objects.order_by("slug"):
        integrations = Integration.objects.filter(tenant=tenant).order_by("pk")
        found[tenant.slug] = (
            tenant.genesys_credentials().client_secret,
            tenant.events_secret(),
            [secret for i in integrations for secret in i.webhook_secrets()],
        )
    return found


def test_the_documented_steps_are_the_ones_verified_here() -> None:
    text = (REPO / "docs" / "operations.md").read_text()
    section = text.split("## Rotating FIELD_ENCRYPTION_KEYS", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^\d+\. \*\*(.+?)\*\*", section, re.M) == RUNBOOK_STEPS
    assert "manage.py rotate_encryption" in section


@pytest.mark.django_db(transaction=True)
@responses.activate
def test_rotation_runbook_step_by_step() -> None:
    acme = services.tenant_create(
        slug="acme", name="Acme", region="custom",
        api_base_url="https://api.genesys.test", login_base_url="https://login.genesys.test",
        client_id="acme-client", client_secret="acme-client-secret-0123",
    )  # fmt: skip
    services.tenant_set_events_secret(tenant=acme, secret="acme-events-secret-0123")
    integration_id = "6f1c2a9e-3b7d-4c1e-9a52-0d8e4b7f1a23"
    services.integration_add(tenant=acme, integration_id=integration_id, secret="wh-old-0123456789")
    services.integration_add(tenant=acme, integration_id=integration_id, secret="wh-new-0123456789")
    before = _secrets_by_tenant()
    assert before["acme"] == (
        "acme-client-secret-0123",
        "acme-events-secret-0123",
        ["wh-new-0123456789", "wh-old-0123456789"],
    )

    # 1. Add the new key first. 2. Restart: every process starts with NEW,OLD.
    assert _manage("check", keys=[NEW, OLD]).returncode == 0
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW, OLD]):
        assert _secrets_by_tenant() == before
        # A secret written now is under NEW already.
        services.tenant_create(
            slug="beta", name="Beta", region="custom",
            api_base_url="https://api.genesys.test", login_base_url="https://login.genesys.test",
            client_id="beta-client", client_secret="beta-client-secret-0123",
        )  # fmt: skip
        before = _secrets_by_tenant()
    # Skipping ahead to step 5 now would strand the rows still under OLD: the command says so.
    early = _manage("rotate_encryption", keys=[NEW])
    assert early.returncode != 0 and "keep the old key" in early.stderr
    assert "Traceback" not in early.stderr

    # 3. Re-encrypt.
    rotated = _manage("rotate_encryption", keys=[NEW, OLD])
    assert rotated.returncode == 0, rotated.stderr
    # acme: client, events, integration current + previous; beta: client.
    assert "re-encrypted 5 secrets" in rotated.stdout

    # 4. Verify: rows readable, and the decrypted secret is what reaches Genesys.
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW, OLD]):
        assert _secrets_by_tenant() == before
        token = responses.post(
            "https://login.genesys.test/oauth/token",
            json={"access_token": "tok-1", "token_type": "bearer", "expires_in": 86399},
        )
        responses.get(
            "https://api.genesys.test/api/v2/organizations/me",
            json={"id": "8a4d2c61-5f3b-4e97-b0c8-7d1e9a2f6b45", "name": "Acme Corp"},
        )
        call_command("tenant", "verify", "acme")
        basic = token.calls[0].request.headers["Authorization"]
        assert basic == "Basic YWNtZS1jbGllbnQ6YWNtZS1jbGllbnQtc2VjcmV0LTAxMjM="

    # 5. Drop the old key. 6. Restart: processes start with NEW alone...
    assert _manage("check", keys=[NEW]).returncode == 0
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW]):
        assert _secrets_by_tenant() == before
    # ...and a process with NEW alone can read every secret (it re-encrypts each one).
    again = _manage("rotate_encryption", keys=[NEW])
    assert again.returncode == 0 and "re-encrypted 5 secrets" in again.stdout
    # OLD is really retired: nothing stored is readable with it any more.
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD]), pytest.raises(crypto.SecretUnreadable):
        Tenant.objects.get(slug="acme").genesys_credentials()
