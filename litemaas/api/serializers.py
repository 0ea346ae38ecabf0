"""Serializers shared by every API: the documented error body and the strict input base classes.

Every serializer that reads a request body derives from :class:`InputSerializer` (or
:class:`InputModelSerializer`), which holds a JSON body to the types the OpenAPI schema declares. DRF
alone coerces: it takes ``{"name": 5}`` for a string, ``"5"`` for an integer and ``"true"``/``1`` for a
boolean, so a client bug (or a client generated from the schema of another language) went unnoticed and
the fuzzing of the API could not check that invalid input is refused. Query strings and form-encoded
bodies (a ``QueryDict``) are text by nature and keep DRF's parsing; the web forms rely on it.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers
from rest_framework.fields import empty

UNKNOWN_FIELD_MESSAGE = "This field cannot be set through this endpoint."

# JSON type names as the OpenAPI schema spells them, by the Python type ``json.loads`` gives.
JSON_TYPE_NAMES: dict[type, str] = {
    bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object",
}
WITH_ARTICLE = {"boolean": "a boolean", "integer": "an integer", "number": "a number", "string": "a string",
                "array": "an array", "object": "an object"}
STRING_FIELDS = (serializers.CharField, serializers.UUIDField, serializers.DateTimeField, serializers.DateField,
                 serializers.TimeField, serializers.DurationField)


def _json_type(value: Any) -> str:
    return "object" if isinstance(value, Mapping) else JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def decimal_string_pattern(field: serializers.DecimalField) -> str:
    """The pattern drf-spectacular documents for a decimal string (the same rule applies to input)."""
    if field.max_whole_digits is None:
        return r"^-?\d*(?:\.\d*)?$"
    whole = r"^-?0?" if field.max_whole_digits == 0 else rf"^-?\d{{0,{field.max_whole_digits}}}"
    places = r"\d*" if field.decimal_places is None else rf"\d{{0,{field.decimal_places}}}"
    return rf"{whole}(?:\.{places})?$"


def expected_json_types(field: serializers.Field) -> tuple[str, ...] | None:
    """The JSON types ``field`` accepts in a JSON body (as its OpenAPI schema says), or None for any value.

    Decimals accept a decimal string or a JSON number (DRF then checks digits and places). A field type this function does not know raises ``TypeError``, so a new kind of
    field is a test failure (``tests/litemaas/test_api_strict_types.py``) instead of a silent hole.
    """
    if isinstance(field, serializers.JSONField | serializers.HiddenField):
        return None
    if isinstance(field, serializers.BooleanField):
        return ("boolean",)
    if isinstance(field, serializers.IntegerField):
        return ("integer",)
    if isinstance(field, serializers.FloatField):
        return ("integer", "number")
    if isinstance(field, serializers.DecimalField):
        # Input takes a decimal string (exact, as responses give it) or a JSON number (what API clients
        # naturally send: ``"max_budget": 10``); ``DecimalRequestSchema`` documents both.
        return ("integer", "number", "string")
    if isinstance(field, serializers.ListField | serializers.ListSerializer | serializers.MultipleChoiceField):
        return ("array",)
    if isinstance(field, serializers.DictField | serializers.BaseSerializer):
        return ("object",)
    if isinstance(field, serializers.ChoiceField):
        return tuple(sorted({_json_type(value) for value in field.choices}))
    if isinstance(field, STRING_FIELDS):
        return ("string",)
    raise TypeError(f"No JSON type is known for {type(field).__name__}; add it to expected_json_types().")


def json_type_error(field: serializers.Field, value: Any) -> Any:
    """Why ``value`` (from a JSON body) does not fit ``field``'s declared type, or None when it does.

    A missing value or ``null`` is left to DRF (``required``, ``allow_null``). Returns a message, or a
    dict of messages by key/index for the items of a list, dict or nested serializer.
    """
    if value is empty or value is None or field.read_only:
        return None
    try:
        expected = expected_json_types(field)
    except TypeError:  # an unknown kind of field keeps DRF's own parsing (the unit tests list them all)
        return None
    if expected is None:
        return None
    actual = _json_type(value)
    if actual not in expected:
        wanted = "number" if "number" in expected else "/".join(expected)  # an integer is a JSON number too
        return _("Must be a JSON %(expected)s, not %(actual)s.") % {
            "expected": wanted, "actual": WITH_ARTICLE.get(actual, actual)}
    if isinstance(field, serializers.DecimalField) and actual == "string":
        if not re.search(decimal_string_pattern(field), value):
            return _("Must be a decimal string such as \"12.50\" (at most %(whole)s digits before the point "
                     "and %(places)s after it).") % {"whole": field.max_whole_digits, "places": field.decimal_places}
        return None
    if isinstance(field, serializers.MultipleChoiceField):
        child: serializers.Field | None = serializers.ChoiceField(choices=field.choices)
    else:
        child = getattr(field, "child", None)
    if isinstance(field, serializers.ListField | serializers.ListSerializer | serializers.MultipleChoiceField):
        return _item_errors(child, dict(enumerate(value))) if child is not None else None
    if isinstance(field, serializers.DictField):
        return _item_errors(child, value) if child is not None else None
    if isinstance(field, serializers.BaseSerializer) and not isinstance(field, JsonTypedSerializerMixin):
        return _fields_errors(field, value) or None  # a plain nested serializer: check it from here
    return None


def _item_errors(child: serializers.Field, items: Mapping[Any, Any]) -> dict[Any, Any] | None:
    errors = {key: error if isinstance(error, dict) else [error]
              for key, item in items.items() if (error := json_type_error(child, item)) is not None}
    return errors or None


def _fields_errors(serializer: serializers.BaseSerializer, data: Mapping[str, Any]) -> dict[str, Any]:
    errors = {}
    for field in serializer._writable_fields:  # noqa: SLF001 - DRF's own list of the fields input may set
        error = json_type_error(field, field.get_value(data))
        if error is not None:
            errors[field.field_name] = error if isinstance(error, dict) else [error]
    return errors


class JsonTypedSerializerMixin:
    """Refuse a JSON body whose values do not have the JSON type each field declares (400, field named).

    The data is strict unless it came as a ``QueryDict`` (query string, form or multipart body), so the
    same serializer still serves the web forms. The type errors are reported alone: the values are not
    coerced or validated further until their types are right.
    """

    def to_internal_value(self, data: Any) -> Any:
        root_data = getattr(self.root, "initial_data", data)  # type: ignore[attr-defined]
        if isinstance(data, Mapping) and not isinstance(root_data, MultiValueDict):
            errors = _fields_errors(self, data)  # type: ignore[arg-type]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)  # type: ignore[misc]


class InputSerializer(JsonTypedSerializerMixin, serializers.Serializer):
    """The base of every serializer that reads a request body: JSON values must have the declared types."""


class InputModelSerializer(JsonTypedSerializerMixin, serializers.ModelSerializer):
    """:class:`InputSerializer` for a ``ModelSerializer`` that also reads a request body."""


class StrictInputSerializer(InputSerializer):
    """An input serializer that also refuses fields it does not declare (400 with one message per field).

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


class DecimalRequestSchema(OpenApiSerializerFieldExtension):
    """Document a decimal request field as "a decimal string or a JSON number", as the check accepts it.

    Responses keep drf-spectacular's decimal string (``COERCE_DECIMAL_TO_STRING``)."""

    target_class = "rest_framework.fields.DecimalField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        """The default decimal-string schema, plus ``{"type": "number"}`` on requests."""
        default = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)  # noqa: SLF001
        if direction != "request":
            return default
        return {"oneOf": [default, {"type": "number"}]}
