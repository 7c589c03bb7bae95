"""The API document tells the truth: every status a route can answer, with the body it sends.

FastAPI documents the success answer and a 422 for request validation. FlowPilot also answers
401/403 (authentication, role, CSRF), 404 (another account's or no object), 409 (a business rule
or a lost race), 413 (body too large), 422 (validation: a list of field errors; a business rule:
a sentence naming the field), 429 (failed logins), 502 (the language model) and 503 (every
database connection busy, `Retry-After`; for `/readyz`: what is down). All of them
share one body shape, ``Error``: ``detail`` is a sentence or a list of field errors, and some
answers add fields (``field``, ``claimed_by_id``, ...).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_REF = {"$ref": "#/components/schemas/Error"}

SCHEMAS: dict[str, Any] = {
    "FieldError": {
        "type": "object",
        "required": ["loc", "field", "msg", "type"],
        "properties": {
            "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "field": {"type": "string", "description": "dotted path of the field, or `body`"},
            "msg": {"type": "string"},
            "type": {"type": "string"},
        },
    },
    "Error": {
        "type": "object",
        "required": ["detail"],
        "properties": {
            "detail": {
                "anyOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
                ],
                "description": "a sentence, or (request validation) one entry per bad field",
            },
            "field": {"type": "string", "description": "the field a business rule refused"},
        },
        "additionalProperties": True,
    },
}

WHY = {
    "401": "not signed in, or the login ended",
    "403": "the caller's role may not do this, or a cookie request lacks its CSRF token",
    "404": "no such object in the caller's account",
    "409": "a business rule refuses the change, or a race was lost; nothing was changed",
    "413": "the request body is larger than the limit",
    "422": "a field is invalid: a list of field errors, or a sentence naming the field",
    "429": "too many failed logins; `Retry-After` says when to try again",
    "502": "the configured language model failed before answering",
    "503": "the database or the bus is down, or every database connection stayed busy "
    "(`Retry-After`; nothing was changed)",
}
UNSAFE = {"post", "put", "patch", "delete"}


def statuses(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    """The error statuses one operation can answer with."""
    found = ["422"]  # validation, and a NUL character in any query parameter or the path
    if "requestBody" in operation:
        found.append("413")
    if path == "/api/v1/auth/login":
        return [*found, "401", "429"]
    if path == "/readyz":
        return ["503", *found]
    if not path.startswith("/api/"):
        return found
    found += ["401", "403", "503"]
    if "{" in path:
        found.append("404")
    if method in UNSAFE:
        found.append("409")
    if "assistant" in operation.get("tags", ()):
        found.append("502")
    return found


def document_errors(spec: dict[str, Any]) -> dict[str, Any]:
    spec.setdefault("components", {}).setdefault("schemas", {}).update(SCHEMAS)
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in statuses(path, method, operation):
                answer: dict[str, Any] = {
                    "description": WHY[status],
                    "content": {"application/json": {"schema": ERROR_REF}},
                }
                if status == "429":
                    answer["headers"] = {
                        "Retry-After": {
                            "description": "seconds until a login may be tried again",
                            "schema": {"type": "integer"},
                        }
                    }
                if status == "503" and path == "/readyz":
                    continue  # readyz documents its own body below
                if status == "503":
                    answer["headers"] = {
                        "Retry-After": {
                            "description": "seconds to wait before sending it again",
                            "schema": {"type": "integer"},
                        }
                    }
                responses[status] = answer
    ready = spec.get("paths", {}).get("/readyz", {}).get("get")
    if ready is not None:
        body = {"$ref": "#/components/schemas/Readiness"}
        spec["components"]["schemas"]["Readiness"] = {
            "type": "object",
            "required": ["status", "database", "bus", "down"],
            "properties": {
                "status": {"type": "string", "enum": ["ready", "not ready"]},
                "database": {"type": "string"},
                "bus": {"type": "string"},
                "down": {"type": "array", "items": {"type": "string"}},
            },
        }
        for status, why in (("200", "ready"), ("503", WHY["503"])):
            ready["responses"][status] = {
                "description": why,
                "content": {"application/json": {"schema": body}},
            }
    spec["components"]["schemas"].pop("HTTPValidationError", None)
    spec["components"]["schemas"].pop("ValidationError", None)
    return spec


def install(app: FastAPI) -> None:
    """Replace ``app.openapi`` with the generated document plus the error answers."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(
                get_openapi(title=app.title, version=app.version, routes=app.routes)
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
