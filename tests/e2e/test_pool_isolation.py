"""Webhooks stay fast while Genesys is slow: the production pool split, for real.

Two gunicorns as docs/operations.md runs them (GATEWAY_POOL=api and GATEWAY_POOL=webhooks,
gunicorn.conf.py) on the test database, the emulator answering Genesys API calls after
15 s. Twelve API calls hold the API process's Genesys slots; the thirteenth is refused
within 1 s with 503, and every webhook meanwhile is answered within 1 s by the other pool.
"""

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from emulator.config import Config
from emulator.server import Emulator
from tenants import services
from tests.conftest import subprocess_env
from tests.e2e.conftest import poll
from webhooks.models import OutboxMessage
from webhooks.signatures import signature_compute

pytestmark = pytest.mark.django_db(transaction=True)

REPO = Path(__file__).resolve().parents[2]
SLOW_S = 15
CAP = 12
# What the gateway promises a webhook whatever Genesys does (Genesys itself waits 10 s).
PROMPT_S = 1.0
CLIENT_SECRET = "pool-client-secret-0123456789abcdef"
WEBHOOK_SECRET = "pool-webhook-secret-0123456789abcdef"
INTEGRATION_ID = "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"


def _port(n: int) -> int:
    """Below the ephemeral range, shifted by this checkout's GW_PORT_OFFSET."""
    return 28400 + int(os.environ.get("GW_PORT_OFFSET", "0")) + n


def _gunicorn(pool: str, port: int, log: Path, **extra: str) -> subprocess.Popen[bytes]:
    env = subprocess_env(
        settings_module="settings.base",
        **{
            "FIELD_ENCRYPTION_KEYS": ",".join(settings_keys()),
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "OUTBOX_WAKE_CELERY": "false",
            "GATEWAY_POOL": pool,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": "1",
            **extra,
        },
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log.open("wb") as output:
        return subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "genesys_gateway.wsgi"],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def settings_keys() -> list[str]:
    from django.conf import settings

    return list(settings.FIELD_ENCRYPTION_KEYS)


def _up(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture
def slow_genesys() -> Iterator[Emulator]:
    config = Config(
        port=0,
        client_secret=CLIENT_SECRET,
        webhook_secret=WEBHOOK_SECRET,
        integration_id=INTEGRATION_ID,
    )
    emulator = Emulator(config)
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def pools(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(api url, webhooks url), both gunicorns stopped by PID afterwards."""
    api_port, webhooks_port = _port(0), _port(1)
    processes = [
        # No retry inside the 15 s: each call holds its slot until Genesys answers.
        _gunicorn("api", api_port, tmp_path / "api.log", GENESYS_TIMEOUT_S="30"),
        _gunicorn("webhooks", webhooks_port, tmp_path / "webhooks.log"),
    ]
    urls = (f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{webhooks_port}")
    try:
        for url in urls:
            poll(lambda url=url: _up(url), timeout=60, what=f"gunicorn at {url}")
        yield urls
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _agent_message(n: int) -> bytes:
    payload = {
        "id": f"pool-agent-{n}-{uuid.uuid4()}",
        "channel": {
            "id": INTEGRATION_ID,
            "platform": "Open",
            "type": "Private",
            "to": {"id": "+15550001111", "idType": "Phone"},
            "from": {"id": INTEGRATION_ID, "idType": "Opaque", "nickname": "Gateway"},
            "time": datetime.now(tz=UTC).isoformat(timespec="milliseconds"),
            "messageId": f"pool-agent-{n}",
        },
        "type": "Text",
        "text": f"Agent reply {n}",
        "originatingEntity": "Human",
        "direction": "Outbound",
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def test_a_slow_genesys_holds_api_calls_but_no_webhook(
    slow_genesys: Emulator, pools: tuple[str, str]
) -> None:
    api_url, webhooks_url = pools
    tenant = services.tenant_create(
        slug="pool-acme",
        name="Pool Acme",
        region="custom",
        api_base_url=slow_genesys.url,
        login_base_url=slow_genesys.url,
        client_id=slow_genesys.config.client_id,
        client_secret=CLIENT_SECRET,
    )
    services.integration_add(tenant=tenant, integration_id=INTEGRATION_ID, secret=WEBHOOK_SECRET)
    _, api_key = services.api_key_create(tenant=tenant, name="pool")
    control = requests.post(
        f"{slow_genesys.url}/emulator/faults",
        json={
            "kind": "slow",
            "count": CAP,
            "delay_ms": SLOW_S * 1000,
            "path_prefix": "/api/v2/conversations/messages",
        },
        timeout=10,
    )
    assert control.status_code < 300, control.text

    def webhook(n: int) -> float:
        """Seconds until the webhooks pool answered this agent message (200 asserted)."""
        body = _agent_message(n)
        started = time.perf_counter()
        answer = requests.post(
            f"{webhooks_url}/webhooks/genesys/open-messaging",
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": signature_compute(secret=WEBHOOK_SECRET, body=body),
            },
            timeout=SLOW_S,
        )
        assert answer.status_code == 200, answer.text
        return time.perf_counter() - started

    # One webhook before Genesys slows down: the worker's database connection and the
    # integration cache are warm, as in a service that has been running.
    webhook(-1)

    def send(n: int, timeout: float) -> requests.Response:
        return requests.post(
            f"{api_url}/api/v1/tenants/pool-acme/messages",
            headers={"Authorization": f"Bearer {api_key}"},
            json={
                "message_id": f"wamid.pool-{n}",
                "from": {"id": f"+1555000{n:04d}"},
                "text": "hi",
            },
            timeout=timeout,
        )

    with ThreadPoolExecutor(max_workers=CAP) as executor:
        slow_calls = [executor.submit(send, n, SLOW_S + 30) for n in range(CAP)]
        # Every slow rule taken: twelve calls are waiting inside Genesys now.
        poll(
            lambda: (
                requests.get(f"{slow_genesys.url}/emulator/faults", timeout=5).json()["entities"]
                == []
            ),
            timeout=SLOW_S - 5,
            what="twelve API calls in flight at Genesys",
        )
        started = time.perf_counter()
        refused = send(CAP, PROMPT_S)
        assert time.perf_counter() - started < PROMPT_S
        assert refused.status_code == 503, refused.text
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert int(refused.headers["Retry-After"]) >= 1

        waits = [webhook(n) for n in range(20)]
        assert max(waits) < PROMPT_S, [round(wait, 3) for wait in waits]
        assert all(not call.done() for call in slow_calls)
        # The held calls complete normally once Genesys answers.
        assert [call.result().status_code for call in slow_calls] == [201] * CAP
    assert OutboxMessage.objects.filter(tenant=tenant).count() == 21


def test_each_pool_refuses_the_other_pools_paths(pools: tuple[str, str]) -> None:
    api_url, webhooks_url = pools
    to_api = requests.post(f"{api_url}/webhooks/genesys/open-messaging", data=b"{}", timeout=10)
    to_webhooks = requests.get(f"{webhooks_url}/api/v1/schema/", timeout=10)
    assert (to_api.status_code, to_webhooks.status_code) == (421, 421)
    assert to_api.json()["type"].endswith("/wrong-service")
    assert requests.get(f"{webhooks_url}/healthz", timeout=10).status_code == 200
