"""Shared assertions for API tests: the one error shape."""
from __future__ import annotations

from typing import Any


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert ``response`` is ``status`` with ``{"error": {code, message, details, request_id}}``; return it."""
    assert response.status_code == status, (response.status_code, getattr(response, "content", b"")[:500])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details", "request_id"}
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    assert error["request_id"] and error["request_id"] == response["X-Request-ID"]
    assert "Traceback" not in response.content.decode()
    if code is not None:
        assert error["code"] == code, error
    return error
