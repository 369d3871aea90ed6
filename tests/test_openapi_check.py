"""The schema check that every test's /api/v1 answers pass through catches drift."""

import json

import pytest

from tests.openapi import response_check

ORGANIZATION = "/api/v1/tenants/acme/organization"
GOOD_ORGANIZATION = {
    "id": None,
    "name": "Acme",
    "domain": None,
    "state": None,
    "third_party_org_name": None,
    "default_language": None,
    "default_country_code": None,
    "product_platform": None,
    "version": None,
}


def _check(path: str, status: int, body: object, content_type: str = "application/json") -> None:
    response_check(
        method="get",
        path=path,
        status=status,
        content_type=content_type,
        body=json.dumps(body).encode(),
        headers={"Content-Type": content_type},
    )


def test_a_body_as_declared_passes() -> None:
    _check(ORGANIZATION, 200, GOOD_ORGANIZATION)


def test_a_body_with_a_field_of_the_wrong_type_fails() -> None:
    with pytest.raises(AssertionError, match="outside the OpenAPI schema"):
        _check(ORGANIZATION, 200, {**GOOD_ORGANIZATION, "version": "twelve"})


def test_a_body_missing_a_declared_field_fails() -> None:
    body = {key: value for key, value in GOOD_ORGANIZATION.items() if key != "name"}
    with pytest.raises(AssertionError, match="outside the OpenAPI schema"):
        _check(ORGANIZATION, 200, body)


def test_an_undeclared_status_fails() -> None:
    problem = {"type": "https://x.test/p", "title": "T", "status": 409, "detail": "d"}
    with pytest.raises(AssertionError, match="outside the OpenAPI schema"):
        _check(ORGANIZATION, 409, problem, "application/problem+json")


def test_a_problem_without_its_required_members_fails() -> None:
    with pytest.raises(AssertionError, match="outside the OpenAPI schema"):
        _check(ORGANIZATION, 404, {"title": "Not found"}, "application/problem+json")


def test_an_unknown_path_may_only_answer_a_404_problem() -> None:
    problem = {"type": "https://x.test/not-found", "title": "T", "status": 404, "detail": "d"}
    _check("/api/v1/tenants/acme/no/such/thing", 404, problem, "application/problem+json")
    with pytest.raises(AssertionError):
        _check("/api/v1/tenants/acme/no/such/thing", 200, {"anything": True})
