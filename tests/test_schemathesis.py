"""The REST API against its own served OpenAPI schema, with generated requests.

Schemathesis reads /api/v1/schema/ from the WSGI application and sends generated requests
(valid and invalid ones) to every operation with a valid API key of a tenant wired to the
Genesys emulator over real HTTP. Every answer must be a non-5xx response that conforms to
the schema, and nothing the gateway sends to the emulator may fail its request validation.

FUZZ_EXAMPLES is the budget of randomly generated requests, spread over the operations
(30 in `make test`, 5,000 in `make fuzz`). Schemathesis adds its deterministic coverage
cases (each parameter's boundaries, missing and wrong-typed fields, other methods): about
500 requests more. The run prints the total.
"""

import math
import os
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from emulator.config import Config
from emulator.server import Emulator
from genesys_gateway.wsgi import application
from tenants import services
from tenants.models import Tenant
from tests.emulator.conftest import Genesys, send_text

REPO = Path(__file__).resolve().parent.parent
SLUG = "fuzz-acme"
CLIENT_ID = "fuzz-client"
CLIENT_SECRET = "fuzz-client-secret-0123456789abcdef"
INTEGRATION_ID = "6f1c2a9e-3b7d-4c1e-9a52-0d8e4b7f1a23"  # the emulator's default integration
TOTAL_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
# Operations in the committed schema (tests/outbound/test_schema.py keeps it current); the
# budget is spread evenly over them.
OPERATIONS = len(
    re.findall(
        r"^    (?:get|post|put|patch|delete):", (REPO / "docs" / "openapi.yaml").read_text(), re.M
    )
)
EXAMPLES_PER_OPERATION = max(1, math.ceil(TOTAL_EXAMPLES / max(1, OPERATIONS)))


class Sent(NamedTuple):
    method: str
    path: str
    status: int
    operation: str


UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    emulator = Emulator(
        Config(
            port=0,
            # Nothing listens there: the emulator's own webhooks to the gateway go nowhere
            # (they are not under test here) and are not retried.
            gateway_url="http://127.0.0.1:9",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            webhook_retries=0,
            webhook_timeout=0.5,
        )
    )
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def known_ids(emulator: Emulator) -> dict[str, str]:
    """Ids the emulator knows: a conversation with a message each way, and its agent.

    Random UUIDs only ever reach Genesys' 404; half the well-formed generated ids are
    replaced by these, so attributes, disconnect and message listings run to the end too.
    """
    genesys = Genesys(emulator.url, CLIENT_ID, CLIENT_SECRET)
    genesys.login()
    sent = send_text(genesys, "Hello, I need help")
    assert sent.status_code == 200, sent.text
    conversation_id = sent.json()["conversationId"]
    genesys.control(f"conversations/{conversation_id}/reply", {"text": "How can I help?"})
    [summary] = genesys.inspect("conversations")["entities"]
    return {"conversation_id": conversation_id, "user_id": summary["agent_user_id"]}


def _known_ids_put_in(case: Any, known_ids: dict[str, str]) -> None:
    parameters = case.path_parameters or {}
    for name, known in known_ids.items():
        value = parameters.get(name)
        # Deterministic, so a failing case replays the same way.
        if isinstance(value, str) and UUID.fullmatch(value) and zlib.crc32(value.encode()) % 2:
            parameters[name] = known


@pytest.fixture
def fuzz_tenant(db: None, emulator: Emulator, settings: Any) -> Tenant:
    # Generated traffic is far above a real client's rate; the limiter is not under test.
    settings.GENESYS_RATE_LIMIT_PER_MINUTE = 1_000_000
    settings.GENESYS_RATE_LIMIT_BURST = 1_000_000
    settings.OUTBOX_WAKE_CELERY = False
    cache.clear()
    tenant = services.tenant_create(
        slug=SLUG,
        name="Fuzz Acme",
        region="custom",
        api_base_url=emulator.url,
        login_base_url=emulator.url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    services.integration_add(
        tenant=tenant, integration_id=INTEGRATION_ID, secret=emulator.config.webhook_secret
    )
    return tenant


@pytest.fixture
def api_headers(fuzz_tenant: Tenant) -> dict[str, str]:
    _, raw_key = services.api_key_create(tenant=fuzz_tenant, name="fuzz")
    return {"Authorization": f"Bearer {raw_key}"}


@pytest.fixture(scope="module")
def sent(request: pytest.FixtureRequest, emulator: Emulator) -> Iterator[Counter[Sent]]:
    """Requests sent per operation, method and status; printed after the run (make fuzz),
    with what reached the emulator, so a run shows how much got through to Genesys."""
    counts: Counter[Sent] = Counter()
    yield counts
    checked = [entry for entry in emulator.state.requests if entry["valid"] is not None]
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(
            f"\nschemathesis: {counts.total()} requests over "
            f"{len({sent.operation for sent in counts})} operations "
            f"(FUZZ_EXAMPLES={TOTAL_EXAMPLES})"
        )
        for sent, count in sorted(counts.items()):
            print(f"  {sent.method} {sent.path} {sent.status}: {count}")
        print(
            f"emulator: {emulator.state.requests_seen} requests received; of the newest "
            f"{len(emulator.state.requests)}, {len(checked)} had a body checked against the "
            f"SDK models, {sum(1 for entry in checked if entry['valid'] is False)} invalid"
        )


@pytest.fixture
def wsgi_in_test_transaction(db: None) -> Iterator[None]:
    """Requests to the WSGI app keep the test's connection, as Django's test client does.

    Django closes connections that are not in autocommit at the end of each request; the
    test's transaction would go with it.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# Loaded once at collection, from the schema the application serves (no database needed).
schema = schemathesis.openapi.from_wsgi(
    "/api/v1/schema/",
    application,
    config=schemathesis.config.SchemathesisConfig.from_dict(
        {
            "generation": {"mode": "all"},
            # The tenant of the key, and mostly its integration, so requests get past the
            # lookups to the code that talks to Genesys.
            "dictionaries": {"integrations": {"values": [INTEGRATION_ID]}},
            "parameters": {
                "path.slug": SLUG,
                "body.integration_id": {"dictionary": "integrations", "probability": 0.8},
            },
        }
    ),
)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=False,
)
def test_api_conforms_to_its_schema_and_never_fails(
    case: Any,
    api_headers: dict[str, str],
    emulator: Emulator,
    known_ids: dict[str, str],
    sent: Counter[Sent],
    wsgi_in_test_transaction: None,
) -> None:
    _known_ids_put_in(case, known_ids)
    seen = emulator.state.requests_seen
    response = case.call_and_validate(
        headers=api_headers, checks=[not_a_server_error, response_schema_conformance]
    )
    sent[
        Sent(case.method.upper(), case.operation.path, response.status_code, case.operation.label)
    ] += 1
    invalid = [
        entry
        for entry in list(emulator.state.requests)
        if entry["seq"] > seen and entry["valid"] is False
    ]
    assert not invalid, f"the gateway sent the emulator invalid requests: {invalid}"
