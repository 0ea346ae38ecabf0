"""drf-spectacular post-processing: document the error responses every operation can give.

The exception handler (``litemaas.api.exception_handler``) answers every failure with the ``Error`` shape.
Some statuses can come from any operation, whatever its view declares, so they are documented here once
instead of on each view (an operation's own ``extend_schema(responses=...)`` entry always wins):

- 401: a missing, invalid, expired or revoked credential (a bad Bearer token is refused even on public
  operations); 403: the role or the token's scope does not allow it (a read-only token on a write);
- 404: an object outside the caller's scope, on operations with path parameters; a page past the end of
  a paginated list;
- 400: invalid input, on operations that take a body, query or path parameters (a malformed id);
- 429: throttled (every operation is throttled); 503: the database or LiteLLM is unavailable.

It also marks the optional query filters ``allowEmptyValue``: ``?start=&users=`` means "no such filter",
as an HTML GET form sends it and as DRF reads a query string (an empty optional value is absent).
Pagination is the exception: ``?page=`` is a 404 and ``?page_size=`` a 400.
"""
from __future__ import annotations

from typing import Any

ERROR_REF = {"$ref": "#/components/schemas/Error"}
DESCRIPTIONS = {
    "400": "Invalid input (field errors under `error.details.fields`).",
    "401": "Missing, invalid, expired or revoked credentials.",
    "403": "Not allowed for this role, or a read-only token on a write.",
    "404": "Not found, or not visible to the caller.",
    "429": "Too many requests (`Retry-After` header, `error.details.retry_after_seconds`).",
    "503": "A dependency (database or LiteLLM) is unavailable; retry later (`Retry-After` header).",
}
ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {
        "type": "object",
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "details": {"type": "object", "additionalProperties": {}},
                       "request_id": {"type": "string"}},
        "required": ["code", "message", "details", "request_id"],
    }},
    "required": ["error"],
}
METHODS = ("get", "put", "post", "patch", "delete")
PAGINATION_PARAMETERS = ("page", "page_size")


def _codes_for(operation: dict[str, Any], path_item: dict[str, Any], method: str) -> list[str]:
    params = [*path_item.get("parameters", []), *operation.get("parameters", [])]
    codes = ["401", "403", "429", "503"]
    if any(p.get("in") == "path" for p in params) or any(p.get("name") == "page" for p in params):
        codes.append("404")
    if "requestBody" in operation or any(p.get("in") in ("query", "path") for p in params) or method != "get":
        codes.append("400")
    return codes


def document_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS entry: add the shared error responses to every operation; mark the optional
    query filters as accepting an empty value."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR_SCHEMA)
    for path_item in result.get("paths", {}).values():
        for method in METHODS:
            operation = path_item.get(method)
            if operation is None:
                continue
            for parameter in operation.get("parameters", []):
                if (parameter.get("in") == "query" and not parameter.get("required")
                        and parameter.get("name") not in PAGINATION_PARAMETERS):
                    parameter["allowEmptyValue"] = True
            responses = operation.setdefault("responses", {})
            for code in _codes_for(operation, path_item, method):
                responses.setdefault(code, {"description": DESCRIPTIONS[code],
                                            "content": {"application/json": {"schema": ERROR_REF}}})
    return result
