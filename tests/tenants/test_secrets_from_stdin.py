"""`--client-secret -` and `--secret -` read the secret from standard input, so it never
shows in the process list."""

import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tenants.models import Integration, Tenant
from tests.conftest import subprocess_env

REPO = Path(__file__).resolve().parents[2]
INTEGRATION_ID = "6f1c2a9e-3b7d-4c1e-9a52-0d8e4b7f1a23"


def run(*args: str, stdin: str) -> str:
    out = StringIO()
    call_command(*args, stdin=StringIO(stdin), stdout=out)
    return out.getvalue()


def create_acme() -> None:
    run("tenant", "create", "acme", "--name", "Acme", "--region", "mypurecloud.ie",
        "--client-id", "cid", "--client-secret", "-", stdin="secret-from-stdin\n")  # fmt: skip


@pytest.mark.django_db
def test_every_secret_flag_reads_a_dash_from_stdin() -> None:
    create_acme()
    assert Tenant.objects.get().genesys_credentials().client_secret == "secret-from-stdin"

    run("tenant", "set-client-secret", "acme", "--secret", "-", stdin="second-client-secret\n")
    assert Tenant.objects.get().genesys_credentials().client_secret == "second-client-secret"

    run("tenant", "set-events-secret", "acme", "--secret", "-", stdin="events-secret-01234567\n")
    assert Tenant.objects.get().events_secret() == "events-secret-01234567"

    run("tenant", "add-integration", "acme", INTEGRATION_ID, "--secret", "-",
        stdin="integration-secret-0123\n")  # fmt: skip
    assert Integration.objects.get().webhook_secrets() == ["integration-secret-0123"]


@pytest.mark.django_db
def test_an_empty_stdin_is_refused_like_an_empty_secret() -> None:
    create_acme()
    with pytest.raises(CommandError, match="secret is required"):
        run("tenant", "add-integration", "acme", INTEGRATION_ID, "--secret", "-", stdin="")
    assert not Integration.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_real_process_takes_the_secret_from_its_stdin() -> None:
    env = subprocess_env()
    result = subprocess.run(
        [sys.executable, "manage.py", "tenant", "create", "piped", "--name", "P",
         "--region", "mypurecloud.de", "--client-id", "c", "--client-secret", "-"],
        cwd=REPO, input="piped-secret-value\n", capture_output=True, text=True, timeout=60,
        check=False, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    tenant = Tenant.objects.get(slug="piped")
    assert tenant.genesys_credentials().client_secret == "piped-secret-value"
