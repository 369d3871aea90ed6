"""Organisation and users: paging, expand, validation before Genesys."""

from typing import Any

import pytest
import responses
from rest_framework.test import APIClient

from tests.conftest import genesys_example
from tests.outbound.conftest import API, problem

USER_ID = "2c6f9e1a-4b7d-4a38-9e05-8d1c3b7f2a64"


def test_organization(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    genesys.get(
        f"{API}/api/v2/organizations/me",
        json={
            "id": "8a4d2c61-5f3b-4e97-b0c8-7d1e9a2f6b45",
            "name": "Acme Corp",
            "domain": "acme",
            "state": "active",
            "thirdPartyOrgName": "acme",
            "defaultLanguage": "en-us",
            "defaultCountryCode": "US",
            "productPlatform": "GenesysCloud",
            "version": 12,
            "features": {"x": True},
        },
    )
    response = authed_client.get("/api/v1/tenants/acme/organization")
    assert response.status_code == 200
    assert response.json() == {
        "id": "8a4d2c61-5f3b-4e97-b0c8-7d1e9a2f6b45",
        "name": "Acme Corp",
        "domain": "acme",
        "state": "active",
        "third_party_org_name": "acme",
        "default_language": "en-us",
        "default_country_code": "US",
        "product_platform": "GenesysCloud",
        "version": 12,
    }


def test_an_organization_without_id_is_answered_as_null(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    genesys.get(f"{API}/api/v2/organizations/me", json={"name": "Acme Corp"})
    response = authed_client.get("/api/v1/tenants/acme/organization")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] is None
    assert body["name"] == "Acme Corp"


def test_users_are_paged_with_genesys_paging_and_expand(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    users = genesys.get(f"{API}/api/v2/users", json=genesys_example("users-page.json"))
    response = authed_client.get(
        "/api/v1/tenants/acme/users?page=1&page_size=2&expand=presence,routing_status"
    )
    assert response.status_code == 200
    assert users.calls[0].request.url == (
        f"{API}/api/v2/users?pageSize=2&pageNumber=1&expand=presence&expand=routingStatus"
    )
    body = response.json()
    assert (body["page"], body["page_size"], body["total"], body["page_count"]) == (1, 2, 5, 3)
    assert [user["name"] for user in body["items"]] == ["Alex Rivera", "Sam Chen"]
    assert body["items"][0] == {
        "id": USER_ID,
        "name": "Alex Rivera",
        "email": "alex.rivera@acme.example",
        "username": "alex.rivera@acme.example",
        "state": "active",
        "title": "Support Agent",
        "department": "Customer Care",
        "division_id": "b9e3c7a5-0f21-4d6e-8c4b-3a7f1e9d5c02",
        "presence": {
            "system_presence": "On Queue",
            "presence_definition_id": "41c7e2b8-6d3a-4f95-8b1e-0a9c5d7f3e26",
            "message": "",
            "modified_date": "2026-01-31T11:58:40.000Z",
        },
        "routing_status": {"status": "INTERACTING", "start_time": "2026-01-31T12:01:02.000Z"},
    }


def test_users_default_to_the_first_page_of_25(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    users = genesys.get(f"{API}/api/v2/users", json={"entities": [], "total": 0, "pageCount": 0})
    body = authed_client.get("/api/v1/tenants/acme/users").json()
    assert users.calls[0].request.url == f"{API}/api/v2/users?pageSize=25&pageNumber=1"
    assert body == {"items": [], "page": 1, "page_size": 25, "total": 0, "page_count": 0}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=x", "page"),
        ("page=1000001", "page"),
        ("page_size=0", "page_size"),
        ("page_size=501", "page_size"),
        ("expand=skills", "expand"),
    ],
)
def test_bad_paging_is_400_and_never_sent_to_genesys(
    authed_client: APIClient, genesys: responses.RequestsMock, query: str, field: str
) -> None:
    response = authed_client.get(f"/api/v1/tenants/acme/users?{query}")
    assert response.status_code == 400
    assert field in problem(response)["errors"]
    assert len(genesys.calls) == 0


def test_page_size_500_is_allowed(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    users = genesys.get(f"{API}/api/v2/users", json={"entities": []})
    assert authed_client.get("/api/v1/tenants/acme/users?page_size=500").status_code == 200
    assert "pageSize=500" in users.calls[0].request.url


def test_one_user_with_presence_and_routing_status(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    user = genesys_example("users-page.json")["entities"][0]
    upstream = genesys.get(f"{API}/api/v2/users/{USER_ID}", json=user)
    response = authed_client.get(
        f"/api/v1/tenants/acme/users/{USER_ID}?expand=presence,routing_status"
    )
    assert response.status_code == 200
    assert upstream.calls[0].request.url == (
        f"{API}/api/v2/users/{USER_ID}?expand=presence&expand=routingStatus"
    )
    assert response.json()["presence"]["system_presence"] == "On Queue"
    assert response.json()["routing_status"]["status"] == "INTERACTING"


def test_one_user_without_expand(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    upstream = genesys.get(f"{API}/api/v2/users/{USER_ID}", json={"id": USER_ID, "name": "Alex"})
    body = authed_client.get(f"/api/v1/tenants/acme/users/{USER_ID}").json()
    assert upstream.calls[0].request.url == f"{API}/api/v2/users/{USER_ID}"
    assert body["presence"] is None and body["routing_status"] is None


def test_an_unknown_user_is_404(
    authed_client: APIClient, genesys: responses.RequestsMock, token_endpoint: Any
) -> None:
    genesys.get(f"{API}/api/v2/users/{USER_ID}", status=404, json={"code": "not.found"})
    response = authed_client.get(f"/api/v1/tenants/acme/users/{USER_ID}")
    assert response.status_code == 404
