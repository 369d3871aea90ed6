"""The baseline views: the least Django work for each kind of request."""

import http.client
import json
import os
import threading
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

TABLE = "bench_bare_insert"
FORWARD_TABLE = "bench_bare_forward"


def table_create() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} "
            "(id bigserial PRIMARY KEY, event_id text UNIQUE, body jsonb NOT NULL)"
        )
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {FORWARD_TABLE} "
            "(message_id text PRIMARY KEY, genesys_id text)"
        )


def healthz(request: HttpRequest) -> JsonResponse:
    """What the gateway's /healthz answers, without any middleware."""
    return JsonResponse({"status": "ok"})


@csrf_exempt
def insert(request: HttpRequest) -> HttpResponse:
    """Parse the JSON body and INSERT it in one transaction (the webhook path's floor)."""
    payload = json.loads(request.body)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (event_id, body) VALUES (%s, %s) "
            "ON CONFLICT (event_id) DO NOTHING",
            [payload.get("id"), request.body.decode()],
        )
    return JsonResponse({"status": "accepted"}, status=202)


@csrf_exempt
def parse(request: HttpRequest) -> HttpResponse:
    """Parse the JSON body and answer, without touching the database."""
    json.loads(request.body)
    return JsonResponse({"status": "accepted"}, status=202)


# --- forward: the floor of a synchronous POST messages ------------------------------------
#
# What any Django implementation of the synchronous path must do at the least: read the
# JSON body, claim the message id (one INSERT), send the Open Messaging message to Genesys
# over a kept-alive connection, store Genesys' id (one UPDATE), answer 201. No middleware,
# no authentication, no validation, no rate limit, and the leanest HTTP client Python has
# (http.client, one connection per thread): nothing the gateway could do costs less.
# Configured by BARE_GENESYS_URL (the emulator), BARE_GENESYS_INTEGRATION and
# BARE_GENESYS_TOKEN (a bearer token the emulator accepts).

_connections = threading.local()


def _genesys() -> http.client.HTTPConnection:
    existing = getattr(_connections, "genesys", None)
    if existing is None:
        parts = urlsplit(os.environ["BARE_GENESYS_URL"])
        existing = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        _connections.genesys = existing
    return existing


def _send_inbound(message: dict[str, Any]) -> dict[str, Any]:
    path = (
        f"/api/v2/conversations/messages/{os.environ['BARE_GENESYS_INTEGRATION']}"
        "/inbound/open/message?prefetchConversationId=true"
    )
    headers = {
        "Authorization": f"Bearer {os.environ['BARE_GENESYS_TOKEN']}",
        "Content-Type": "application/json",
    }
    genesys = _genesys()
    genesys.request("POST", path, body=json.dumps(message), headers=headers)
    answer = genesys.getresponse()
    body = answer.read()
    if answer.status != 200:
        raise RuntimeError(f"forward: Genesys answered {answer.status}: {body[:200]!r}")
    return dict(json.loads(body))


@csrf_exempt
def forward(request: HttpRequest) -> HttpResponse:
    """The synchronous POST messages with nothing but its unavoidable work."""
    payload = json.loads(request.body)
    message_id = payload["message_id"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {FORWARD_TABLE} (message_id) VALUES (%s) ON CONFLICT DO NOTHING",
            [message_id],
        )
    answer = _send_inbound(
        {
            "channel": {
                "messageId": message_id,
                "time": datetime.now(UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
                "from": {
                    "id": payload["from"]["id"],
                    "idType": "Phone",
                    "nickname": payload["from"].get("nickname"),
                },
            },
            "text": payload["text"],
        }
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {FORWARD_TABLE} SET genesys_id = %s WHERE message_id = %s",
            [answer.get("id"), message_id],
        )
    return JsonResponse({"message_id": message_id, "genesys_id": answer.get("id")}, status=201)
