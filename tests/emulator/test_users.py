"""Organisation, users paging and expansions, presence and routing status."""

import math

from tests.emulator.conftest import Genesys


def test_organization(genesys: Genesys) -> None:
    body = genesys.call("GET", "/api/v2/organizations/me").json()

    assert body["id"] == "8a4d2c61-5f3b-4e97-b0c8-7d1e9a2f6b45"
    assert body["state"] == "active"
    assert body["selfUri"] == f"/api/v2/organizations/{body['id']}"


def test_users_page_through_every_active_agent(genesys: Genesys) -> None:
    first = genesys.call("GET", "/api/v2/users", params={"pageSize": 50}).json()
    total = first["total"]
    assert 250 < total < 300  # a few of the 300 generated agents are inactive
    assert first["pageCount"] == math.ceil(total / 50)
    assert first["pageNumber"] == 1
    assert "previousUri" not in first

    seen = []
    uri = first["selfUri"]
    pages = 0
    while uri:
        page = genesys.call("GET", uri).json()
        seen += [user["id"] for user in page["entities"]]
        assert page["total"] == total
        uri = page.get("nextUri")
        pages += 1

    assert pages == first["pageCount"]
    assert len(seen) == len(set(seen)) == total
    assert len(page["entities"]) == total - 50 * (pages - 1)
    assert page["lastUri"] == page["selfUri"]


def test_page_after_the_last_is_empty(genesys: Genesys) -> None:
    body = genesys.call("GET", "/api/v2/users", params={"pageSize": 100, "pageNumber": 9}).json()

    assert body["entities"] == []
    assert body["pageCount"] == 3


def test_users_are_the_same_for_the_same_seed(genesys: Genesys) -> None:
    first = genesys.call("GET", "/api/v2/users", params={"pageSize": 5}).json()["entities"]
    genesys.control("reset")
    genesys.login()
    again = genesys.call("GET", "/api/v2/users", params={"pageSize": 5}).json()["entities"]

    assert [u["id"] for u in first] == [u["id"] for u in again]


def test_state_filter_and_ids(genesys: Genesys) -> None:
    inactive = genesys.call("GET", "/api/v2/users", params={"state": "inactive"}).json()
    everyone = genesys.call("GET", "/api/v2/users", params={"state": "any", "pageSize": 1}).json()
    some = [
        u["id"]
        for u in genesys.call("GET", "/api/v2/users", params={"pageSize": 3}).json()["entities"]
    ]
    by_id = genesys.call("GET", "/api/v2/users", params={"id": some[:2]}).json()

    assert inactive["total"] == 7
    assert {u["state"] for u in inactive["entities"]} == {"inactive"}
    assert everyone["total"] == 300
    assert {u["id"] for u in by_id["entities"]} == set(some[:2])


def test_expand_presence_and_routing_status(genesys: Genesys) -> None:
    plain = genesys.call("GET", "/api/v2/users", params={"pageSize": 2}).json()["entities"][0]
    expanded = genesys.call(
        "GET", "/api/v2/users", params={"pageSize": 2, "expand": ["presence", "routingStatus"]}
    ).json()["entities"][0]

    assert "presence" not in plain
    assert "routingStatus" not in plain
    assert expanded["presence"]["presenceDefinition"]["systemPresence"]
    assert expanded["routingStatus"]["userId"] == expanded["id"]
    assert expanded["routingStatus"]["status"] in ("OFF_QUEUE", "IDLE", "INTERACTING")


def test_page_size_limits(genesys: Genesys) -> None:
    too_big = genesys.call("GET", "/api/v2/users", params={"pageSize": 501})
    zero_page = genesys.call("GET", "/api/v2/users", params={"pageNumber": 0})

    assert too_big.status_code == 400
    assert too_big.json()["details"][0]["fieldName"] == "pageSize"
    assert zero_page.status_code == 400


def test_one_user_presence_and_routing_status_follow_changes(genesys: Genesys) -> None:
    user = genesys.call("GET", "/api/v2/users", params={"pageSize": 1}).json()["entities"][0]
    genesys.control(
        f"users/{user['id']}/presence",
        {"presence": "Away", "routing_status": "OFF_QUEUE", "wait": True},
    )

    one = genesys.call(
        "GET", f"/api/v2/users/{user['id']}", params={"expand": "presence,routingStatus"}
    ).json()
    presence = genesys.call("GET", f"/api/v2/users/{user['id']}/presences/purecloud").json()
    routing = genesys.call("GET", f"/api/v2/users/{user['id']}/routingstatus").json()

    assert one["presence"]["presenceDefinition"]["systemPresence"] == "Away"
    assert presence["presenceDefinition"]["systemPresence"] == "Away"
    assert routing == {
        "userId": user["id"],
        "status": "OFF_QUEUE",
        "startTime": routing["startTime"],
    }
    assert genesys.call("GET", "/api/v2/users/not-a-user").status_code == 404
