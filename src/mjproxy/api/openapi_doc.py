"""The OpenAPI document as the API really answers (checked by schemathesis in CI).

FastAPI documents request-validation failures as its own ``HTTPValidationError`` (``detail`` = a list of
error objects). mjproxy answers them with one readable sentence instead (``{"detail": "prompt: …"}``), and the
submit routes of the midjourney-proxy dialect answer HTTP 200 with code 4 rather than 422. The generated
document is corrected once, on first use, so clients generated from it parse what they receive.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .errors import is_submit_route

ERROR_SCHEMA: dict[str, Any] = {
    "title": "HTTPValidationError",
    "type": "object",
    "properties": {"detail": {"type": "string", "title": "Detail",
                              "description": "What is wrong with the request, field by field"}},
    "required": ["detail"],
}


def honest_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is not None:
        return app.openapi_schema
    document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schemas = document.get("components", {}).get("schemas", {})
    if "HTTPValidationError" in schemas:
        schemas["HTTPValidationError"] = ERROR_SCHEMA
        schemas.pop("ValidationError", None)
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if is_submit_route(path) and "422" in responses:
                del responses["422"]  # validation problems are answered 200 with code 4
    app.openapi_schema = document
    return document
