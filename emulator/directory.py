"""The organisation and its agents, generated deterministically from a seed."""

from __future__ import annotations

import random
import uuid
from typing import Any

from emulator.clock import iso_at

FIRST_NAMES = [
    "Alex", "Sam", "Maria", "Jordan", "Priya", "Chen", "Lucas", "Amara", "Noah", "Fatima",
    "Elena", "Kenji", "Olivia", "Mateo", "Aisha", "Liam", "Sofia", "Omar", "Hannah", "Diego",
]  # fmt: skip
LAST_NAMES = [
    "Rivera", "Chen", "Lopez", "Okafor", "Patel", "Nguyen", "Schmidt", "Rossi", "Kowalski",
    "Haddad", "Silva", "Tanaka", "Dubois", "Murphy", "Andersen", "Costa", "Ibrahim", "Novak",
]  # fmt: skip
TITLES = ["Support Agent", "Senior Support Agent", "Team Lead", "Supervisor"]
DEPARTMENTS = ["Customer Care", "Sales", "Billing", "Technical Support"]
# systemPresence values seen in practice (not an enum in the SDK), with their routing status.
PRESENCES = ["Available", "Away", "Busy", "Offline", "Idle", "Meal", "Training", "Meeting", "Break"]
ROUTING_STATUSES = ["OFF_QUEUE", "IDLE", "INTERACTING", "NOT_RESPONDING", "COMMUNICATING"]
ON_QUEUE = "On Queue"
DIVISION_ID = "b9e3c7a5-0f21-4d6e-8c4b-3a7f1e9d5c02"
QUEUE_ID = "7b2e9c4a-5d13-4a6f-8e07-1c9d3b5f2a86"
QUEUE_NAME = "Support WhatsApp"
# Every 40th generated user is inactive, so the `state` filter of GET /api/v2/users matters.
INACTIVE_EVERY = 40
EPOCH_MS = 1769860800000  # 2026-01-31T12:00:00Z: the "modifiedDate" of generated presences


def presence_definition_id(system_presence: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"genesys-emulator/presence/{system_presence}"))


def organization(*, org_id: str, name: str) -> dict[str, Any]:
    """An Organization body (GET /api/v2/organizations/me)."""
    short = "".join(c for c in name.lower() if c.isalnum()) or "emulated"
    return {
        "id": org_id,
        "name": name,
        "defaultLanguage": "en-us",
        "defaultCountryCode": "US",
        "thirdPartyOrgName": short,
        "domain": short,
        "version": 1,
        "state": "active",
        "voicemailEnabled": False,
        "productPlatform": "GenesysCloud",
        "features": {"purecloud": True},
        "selfUri": f"/api/v2/organizations/{org_id}",
    }


def generate_users(*, seed: int, count: int, domain: str) -> list[dict[str, Any]]:
    """`count` agents with presence and routing status; same seed, same agents."""
    rng = random.Random(seed)
    users = []
    for index in range(count):
        user_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{last}.{index:03d}@{domain}.example".lower()
        on_queue = rng.random() < 0.5
        presence = ON_QUEUE if on_queue else rng.choice(PRESENCES)
        routing = rng.choice(["IDLE", "INTERACTING"]) if on_queue else "OFF_QUEUE"
        modified = iso_at(EPOCH_MS - rng.randrange(0, 8 * 3600) * 1000)
        users.append(
            {
                "id": user_id,
                "name": f"{first} {last}",
                "division": {
                    "id": DIVISION_ID,
                    "name": "Home",
                    "selfUri": f"/api/v2/authorization/divisions/{DIVISION_ID}",
                },
                "chat": {"jabberId": f"{user_id.replace('-', '')[:24]}@{domain}.orgspan.com"},
                "department": rng.choice(DEPARTMENTS),
                "email": email,
                "primaryContactInfo": [{"address": email, "mediaType": "EMAIL", "type": "PRIMARY"}],
                "addresses": [],
                "state": "inactive" if index % INACTIVE_EVERY == INACTIVE_EVERY - 1 else "active",
                "title": rng.choice(TITLES),
                "username": email,
                "version": rng.randrange(1, 10),
                "acdAutoAnswer": False,
                "selfUri": f"/api/v2/users/{user_id}",
                # Mutable by presence changes; rendered only on expand or the presence endpoints.
                "_presence": {"systemPresence": presence, "modifiedDate": modified},
                "_routing": {"status": routing, "startTime": modified},
            }
        )
    users.sort(key=lambda user: (user["name"], user["id"]))
    return users


def user_presence(user: dict[str, Any]) -> dict[str, Any]:
    """UserPresence body (GET /api/v2/users/{id}/presences/purecloud)."""
    system = user["_presence"]["systemPresence"]
    definition_id = presence_definition_id(system)
    return {
        "source": "PURECLOUD",
        "primary": True,
        "presenceDefinition": {
            "id": definition_id,
            "systemPresence": system,
            "selfUri": f"/api/v2/presencedefinitions/{definition_id}",
        },
        "message": "",
        "modifiedDate": user["_presence"]["modifiedDate"],
        "selfUri": f"/api/v2/users/{user['id']}/presences/PURECLOUD",
    }


def routing_status(user: dict[str, Any]) -> dict[str, Any]:
    """RoutingStatus body (GET /api/v2/users/{id}/routingstatus)."""
    return {
        "userId": user["id"],
        "status": user["_routing"]["status"],
        "startTime": user["_routing"]["startTime"],
    }


def user_view(user: dict[str, Any], expand: set[str]) -> dict[str, Any]:
    """User body with the expansions asked for (presence, routingStatus)."""
    body = {key: value for key, value in user.items() if not key.startswith("_")}
    if "presence" in expand:
        body["presence"] = user_presence(user)
    if "routingStatus" in expand:
        body["routingStatus"] = routing_status(user)
    return body
