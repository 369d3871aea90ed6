"""Every /api/v1 response the suite sees is checked against the served OpenAPI schema.

The schema is what `/api/v1/schema/` serves (and `docs/openapi.yaml` commits), so a body,
a status or a problem that the schema does not declare fails the test that produced it.
"""

import functools
import json
from typing import Any

from django.conf import settings
from django.test import Client
from openapi_core import Config, OpenAPI
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.testing import MockRequest, MockResponse
from openapi_schema_validator import OAS31Validator

from genesys_gateway.problems import PROBLEM_CONTENT_TYPE

API_PREFIX = "/api/v1/"
# The schema and its docs page describe the API; they are not part of it.
NOT_IN_SCHEMA = ("/api/v1/schema/", "/api/v1/docs/")
PROJECT_URLCONF = "genesys_gateway.urls"
HOST_URL = "http://testserver"


@functools.cache
def served_schema() -> dict[str, Any]:
    response = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200, response.content
    schema: dict[str, Any] = json.loads(response.content)
    return schema


@functools.cache
def served_openapi() -> OpenAPI:
    # openapi-core reads only application/json bodies unless told about others.
    config = Config(extra_media_type_deserializers={PROBLEM_CONTENT_TYPE: json.loads})
    return OpenAPI.from_dict(served_schema(), config=config)


def is_api_path(path: str) -> bool:
    """A path the API schema must describe (under the project's own URLconf)."""
    return (
        path.startswith(API_PREFIX)
        and not path.startswith(NOT_IN_SCHEMA)
        and settings.ROOT_URLCONF == PROJECT_URLCONF
    )


def _undeclared_route_check(status: int, content_type: str, body: bytes) -> None:
    """A path or method the API does not have: only a 404/405 problem may answer it."""
    assert status in (404, 405), f"{status} for a path or method the schema does not have"
    assert content_type == PROBLEM_CONTENT_TYPE, content_type
    problem = json.loads(body)
    OAS31Validator(served_schema()["components"]["schemas"]["Problem"]).validate(problem)
    assert problem["status"] == status


def response_check(
    *,
    method: str,
    path: str,
    status: int,
    content_type: str,
    body: bytes,
    headers: dict[str, Any],
) -> None:
    """Raise when the answer to `method path` is not what the served schema declares."""
    request = MockRequest(HOST_URL, method, path)
    response = MockResponse(body, status_code=status, headers=headers, content_type=content_type)
    try:
        served_openapi().validate_response(request, response)
    except (PathNotFound, OperationNotFound):
        _undeclared_route_check(status, content_type, body)
    except Exception as exc:
        details = "; ".join(str(error) for error in getattr(exc, "schema_errors", []) or [])
        raise AssertionError(
            f"{method.upper()} {path} answered {status} ({content_type}) outside the OpenAPI "
            f"schema: {exc!r} {details}\nbody: {body[:2000]!r}"
        ) from exc
