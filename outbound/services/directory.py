"""The tenant's Genesys organisation and its users (agents)."""

from typing import Any

from outbound.genesys.answers import answer_object, answer_objects
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


def _presence(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    presence = answer_object(value, field="presence")
    definition = answer_object(presence.get("presenceDefinition"), field="presenceDefinition")
    return {
        "system_presence": definition.get("systemPresence"),
        "presence_definition_id": definition.get("id"),
        "message": presence.get("message"),
        "modified_date": genesys_time_parse(presence.get("modifiedDate")),
    }


def _routing_status(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    routing_status = answer_object(value, field="routingStatus")
    return {
        "status": routing_status.get("status"),
        "start_time": genesys_time_parse(routing_status.get("startTime")),
    }


def _user(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": data.get("id"),
        "name": data.get("name"),
        "email": data.get("email"),
        "username": data.get("username"),
        "state": data.get("state"),
        "title": data.get("title"),
        "department": data.get("department"),
        "division_id": answer_object(data.get("division"), field="division").get("id"),
        "presence": _presence(data.get("presence")),
        "routing_status": _routing_status(data.get("routingStatus")),
    }


def user_list(
    *, tenant: Tenant, page: int, page_size: int, expand: list[str] | None = None
) -> dict[str, Any]:
    data = genesys_client(tenant=tenant).get_users(
        page_number=page,
        page_size=page_size,
        expand=[USER_EXPANSIONS[value] for value in expand or []],
    )
    items = [_user(user) for user in answer_objects(data.get("entities"), field="entities")]
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
