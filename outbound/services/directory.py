"""The tenant's Genesys organisation and its users (agents)."""

from typing import Any

from outbound.services.access import genesys_client
from outbound.services.times import genesys_time_parse
from tenants.models import Tenant

# Our `expand` values -> Genesys' (sent as repeated `expand` parameters).
USER_EXPANSIONS = {"presence": "presence", "routing_status": "routingStatus"}
USERS_PAGE_SIZE_MAX = 500
USERS_PAGE_MAX = 1_000_000


def organization_get(*, tenant: Tenant) -> dict[str, Any]:
    data = genesys_client(tenant=tenant).get_organization()
    return {
        "id": data.get("id"),
        "name": data.get("name"),
        "domain": data.get("domain"),
        "state": data.get("state"),
        "third_party_org_name": data.get("thirdPartyOrgName"),
        "default_language": data.get("defaultLanguage"),
        "default_country_code": data.get("defaultCountryCode"),
        "product_platform": data.get("productPlatform"),
        "version": data.get("version"),
    }


def _user(data: dict[str, Any]) -> dict[str, Any]:
    presence = data.get("presence")
    routing_status = data.get("routingStatus")
    return {
        "id": data.get("id"),
        "name": data.get("name"),
        "email": data.get("email"),
        "username": data.get("username"),
        "state": data.get("state"),
        "title": data.get("title"),
        "department": data.get("department"),
        "division_id": (data.get("division") or {}).get("id"),
        "presence": None
        if presence is None
        else {
            "system_presence": (presence.get("presenceDefinition") or {}).get("systemPresence"),
            "presence_definition_id": (presence.get("presenceDefinition") or {}).get("id"),
            "message": presence.get("message"),
            "modified_date": genesys_time_parse(presence.get("modifiedDate")),
        },
        "routing_status": None
        if routing_status is None
        else {
            "status": routing_status.get("status"),
            "start_time": genesys_time_parse(routing_status.get("startTime")),
        },
    }


def user_list(
    *, tenant: Tenant, page: int, page_size: int, expand: list[str] | None = None
) -> dict[str, Any]:
    data = genesys_client(tenant=tenant).get_users(
        page_number=page,
        page_size=page_size,
        expand=[USER_EXPANSIONS[value] for value in expand or []],
    )
    items = [_user(user) for user in data.get("entities") or []]
    return {
        "items": items,
        "page": data.get("pageNumber", page),
        "page_size": data.get("pageSize", page_size),
        "total": data.get("total", len(items)),
        "page_count": data.get("pageCount", 1 if items else 0),
    }


def user_get(*, tenant: Tenant, user_id: str, expand: list[str] | None = None) -> dict[str, Any]:
    data = genesys_client(tenant=tenant).get_user(
        user_id=user_id, expand=[USER_EXPANSIONS[value] for value in expand or []]
    )
    return _user(data)
