"""Serializers shared by every API: the documented error body and the strict input base class."""
from __future__ import annotations

from typing import Any

from rest_framework import serializers

UNKNOWN_FIELD_MESSAGE = "This field cannot be set through this endpoint."


class StrictInputSerializer(serializers.Serializer):
    """An input serializer that refuses fields it does not declare (400 with one message per field).

    Silently ignoring ``{"role": "admin"}`` would let a client believe a change succeeded; refusing it
    also makes mass-assignment attempts visible.
    """

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [UNKNOWN_FIELD_MESSAGE] for name in unknown})
        return super().to_internal_value(data)


class ErrorDetailSerializer(serializers.Serializer):
    """The body of every error: a stable code, a human message, details and the request id."""

    code = serializers.CharField(help_text="Stable, machine-readable error code, e.g. `not_found`.")
    message = serializers.CharField()
    details = serializers.DictField(
        help_text="Extra data; field errors under `fields`, `retry_after_seconds` when throttled."
    )
    request_id = serializers.CharField(help_text="Also sent as the `X-Request-ID` response header.")


class ErrorSerializer(serializers.Serializer):
    """``{"error": {...}}``, the one error shape of the API (documentation only)."""

    error = ErrorDetailSerializer()
