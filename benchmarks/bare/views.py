"""The baseline views: the least Django work for each kind of request."""

import json

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

TABLE = "bench_bare_insert"


def table_create() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} "
            "(id bigserial PRIMARY KEY, event_id text UNIQUE, body jsonb NOT NULL)"
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
