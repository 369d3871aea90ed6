"""The OpenAPI schema validates, is committed, and the docs page works offline."""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


def test_the_schema_validates_and_matches_the_committed_file(tmp_path: Path) -> None:
    generated = tmp_path / "openapi.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(generated))
    assert generated.read_text() == COMMITTED.read_text(), (
        "docs/openapi.yaml is stale: run `DJANGO_SETTINGS_MODULE=settings.test "
        "python manage.py spectacular --file docs/openapi.yaml`"
    )


def test_the_schema_lists_every_documented_endpoint() -> None:
    text = COMMITTED.read_text()
    for path in [
        "/messages:",
        "/receipts:",
        "/typing:",
        "/conversations/{conversation_id}:",
        "/conversations/{conversation_id}/messages:",
        "/conversations/{conversation_id}/attributes:",
        "/conversations/{conversation_id}/disconnect:",
        "/organization:",
        "/users:",
        "/users/{user_id}:",
    ]:
        assert f"  /api/v1/tenants/{{slug}}{path}\n" in text, path


@pytest.mark.django_db
def test_the_docs_page_loads_swagger_ui_from_this_server(client: Client) -> None:
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    # Assets from the sidecar package under STATIC_URL, not from a CDN.
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html
    assert client.get("/api/v1/schema/").status_code == 200


def test_the_served_schema_is_the_committed_one(client: Client) -> None:
    assert client.get("/api/v1/schema/").content.decode() == COMMITTED.read_text()
