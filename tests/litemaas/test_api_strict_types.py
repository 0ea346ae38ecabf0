"""JSON request bodies must carry the JSON types the OpenAPI schema declares (``litemaas.api.serializers``).

DRF coerces (``"5"`` for an integer, ``5`` for a string, ``"true"``/``1`` for a boolean); every request-body
serializer derives from ``InputSerializer``, which refuses that with the standard 400 naming the field.
Decimals take a decimal string or a JSON number, and the schema says so. Query strings and form bodies are text and keep DRF's parsing.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.http import QueryDict

from apikeys.api.serializers import ApiKeyCreateInputSerializer
from litemaas.api.serializers import JsonTypedSerializerMixin, expected_json_types
from subscriptions.api.serializers import AdminModelCreateSerializer
from tests.litemaas.assertions import assert_error

TOKENS = "/api/v1/tokens"
PORTAL_SETTINGS = "/api/v1/admin/settings"
KEY_LIMITS = "/api/v1/admin/settings/api-key-limits"
BRANDING = "/api/v1/branding"


def field_errors(response: Any) -> dict[str, Any]:
    return assert_error(response, 400, "validation_error")["details"]["fields"]


# ----------------------------------------------------------------------------------------- over HTTP
@pytest.mark.django_db
@pytest.mark.parametrize(("body", "field"), [
    ({"name": "ci", "expires_in_days": "5"}, "expires_in_days"),  # a string for an integer
    ({"name": 5}, "name"),  # a number for a string
    ({"name": "ci", "expires_in_days": True}, "expires_in_days"),  # a boolean for an integer
    ({"name": "ci", "expires_in_days": 5.0}, "expires_in_days"),  # a float for an integer
    ({"name": None}, "name"),  # null where the field is not nullable
    ({"name": ["ci"]}, "name"),  # an array for a string
    ({"name": "ci", "scope": 1}, "scope"),  # a number for a (string) choice
])
def test_a_json_value_of_the_wrong_type_is_a_400_naming_the_field(user_client, body, field):
    response = user_client.post(TOKENS, body, format="json")

    errors = field_errors(response)
    assert set(errors) == {field}
    assert isinstance(errors[field], list) and errors[field]


@pytest.mark.django_db
def test_the_message_says_which_json_type_was_expected(user_client):
    errors = field_errors(user_client.post(TOKENS, {"name": "ci", "expires_in_days": "5"}, format="json"))

    assert errors == {"expires_in_days": ["Must be a JSON integer, not a string."]}


@pytest.mark.django_db
def test_values_of_the_declared_types_are_accepted(user_client):
    response = user_client.post(TOKENS, {"name": "ci", "scope": "read", "expires_in_days": 5}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["name"] == "ci"


@pytest.mark.django_db
def test_null_is_accepted_where_the_field_is_nullable(user_client):
    response = user_client.post(TOKENS, {"name": "ci", "expires_in_days": None}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["expires_at"] is None


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["true", 1, 0, "1", None])
def test_a_boolean_field_takes_only_true_or_false(admin_client, value):
    errors = field_errors(admin_client.patch(BRANDING, {"login_logo_enabled": value}, format="json"))

    assert set(errors) == {"login_logo_enabled"}


@pytest.mark.django_db
def test_a_boolean_field_accepts_a_json_boolean(admin_client):
    response = admin_client.patch(BRANDING, {"login_logo_enabled": False}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["login_logo_enabled"] is False


@pytest.mark.django_db
@pytest.mark.parametrize("value", [True, [], {}, "+10", "1e3", " 10", "10 ", "0010000000000", "10.12345", "ten",
                                   10.12345, 1e20])
def test_a_decimal_takes_a_decimal_string_or_a_json_number_within_its_digits(admin_client, value):
    errors = field_errors(admin_client.patch(PORTAL_SETTINGS, {"new_user_max_budget": value}, format="json"))

    assert set(errors) == {"new_user_max_budget"}


@pytest.mark.django_db
@pytest.mark.parametrize(("value", "stored"), [("12.5", "12.50"), ("-0", "0.00"), (".5", "0.50"), (None, None),
                                               (10, "10.00"), (12.5, "12.50"), (0.1, "0.10")])
def test_a_decimal_string_is_accepted(admin_client, value, stored):
    response = admin_client.patch(PORTAL_SETTINGS, {"new_user_max_budget": value}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["new_user_max_budget"] == stored


@pytest.mark.django_db
def test_every_wrong_field_of_a_model_serializer_is_reported(admin_client):
    body = {"default_max_budget": True, "max_expiry_days": "90", "default_budget_duration": 30}

    errors = field_errors(admin_client.put(KEY_LIMITS, body, format="json"))

    assert set(errors) == {"default_max_budget", "max_expiry_days", "default_budget_duration"}


@pytest.mark.django_db
def test_a_body_of_the_declared_types_still_passes_through_a_model_serializer(admin_client):
    body = {"default_max_budget": "10", "max_max_budget": 50, "max_expiry_days": 90, "default_expiry_days": 30}

    response = admin_client.put(KEY_LIMITS, body, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["max_expiry_days"] == 90


@pytest.mark.django_db
def test_a_manually_parsed_body_is_strict_too(admin_client):
    errors = field_errors(admin_client.put("/api/v1/branding/images/logo", {"data": 12}, format="json"))

    assert errors == {"data": ["Must be a JSON string, not an integer."]}


# ------------------------------------------------------------------- nested values (no HTTP needed)
VALID_KEY = {"name": "k", "model_ids": ["m"]}


def key_errors(**changes: Any) -> dict[str, Any]:
    serializer = ApiKeyCreateInputSerializer(data={**VALID_KEY, **changes})
    assert not serializer.is_valid()
    return serializer.errors


def test_the_items_of_a_list_are_checked_and_named_by_index():
    assert key_errors(model_ids=["m", 7]) == {"model_ids": {1: ["Must be a JSON string, not an integer."]}}


def test_the_values_of_a_nested_object_are_checked():
    errors = key_errors(model_limits={"m": {"tpm_limit": "5", "max_budget": "1.5"}})

    assert errors == {"model_limits": {"m": {"tpm_limit": ["Must be a JSON integer, not a string."]}}}


def test_a_string_for_a_list_is_refused():
    assert key_errors(model_ids="m") == {"model_ids": ["Must be a JSON array, not a string."]}


def test_a_float_is_accepted_for_a_float_field_and_so_is_an_integer():
    from apikeys.api.serializers import RotateInputSerializer

    assert RotateInputSerializer(data={"grace_hours": 1}).is_valid()
    assert RotateInputSerializer(data={"grace_hours": 1.5}).is_valid()
    assert not RotateInputSerializer(data={"grace_hours": "1.5"}).is_valid()


# ------------------------------------------------------------------------- form bodies stay text
def test_a_form_body_keeps_drfs_parsing_of_strings():
    form = QueryDict(mutable=True)
    form.update({"id": "m1", "backend_model_name": "openai/m1", "api_base": "http://127.0.0.1:9/v1",
                 "tpm": "100", "restricted": "true", "input_cost_per_million": "1.5"})

    serializer = AdminModelCreateSerializer(data=form)

    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["tpm"] == 100
    assert serializer.validated_data["restricted"] is True
    assert serializer.validated_data["input_cost_per_million"] == Decimal("1.5")


@pytest.mark.django_db
def test_query_parameters_keep_drfs_parsing_of_strings(admin_client):
    response = admin_client.get("/api/v1/admin/audit-events", {"success": "true", "page_size": "5"})

    assert response.status_code == 200, response.content


# ------------------------------------------------------------- every request body, schema agreement
def request_body_serializers(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any, Any]]:
    """(operation, serializer, its AutoSchema) for every request body the OpenAPI schema documents."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.openapi import AutoSchema

    seen: list[tuple[str, Any, Any]] = []
    original = AutoSchema._get_request_for_media_type

    def spy(self: AutoSchema, serializer: Any, direction: str = "request") -> Any:
        from drf_spectacular.plumbing import force_instance

        seen.append((f"{self.method} {self.path}", force_instance(serializer), self))
        return original(self, serializer, direction)

    monkeypatch.setattr(AutoSchema, "_get_request_for_media_type", spy)
    SchemaGenerator().get_schema(request=None, public=True)
    return [(label, serializer, schema) for label, serializer, schema in seen if serializer is not None]


def schema_types(content: dict[str, Any]) -> set[str]:
    if "$ref" in content or "allOf" in content:
        return {"object"}  # a nested serializer (or an enum component)
    if "oneOf" in content:
        return set().union(*(schema_types(option) for option in content["oneOf"])) - {"null"}
    kind = content.get("type")
    return {"integer", "number"} if kind == "number" else {kind}


def test_every_request_body_serializer_is_strict_and_agrees_with_the_schema(monkeypatch):
    """A new endpoint whose body serializer forgets ``InputSerializer``, or a field whose JSON type the
    schema documents differently from what the check enforces, fails here."""
    bodies = request_body_serializers(monkeypatch)
    assert len(bodies) > 20

    problems = []
    for label, serializer, autoschema in bodies:
        if not isinstance(serializer, JsonTypedSerializerMixin):
            problems.append(f"{label}: {type(serializer).__name__} does not derive from InputSerializer")
            continue
        for field in serializer._writable_fields:
            try:
                expected = expected_json_types(field)
            except TypeError as exc:
                problems.append(f"{label}: {field.field_name}: {exc}")
                continue
            if expected is None:
                continue
            documented = schema_types(autoschema._map_serializer_field(field, "request"))
            if set(expected) != documented:
                problems.append(f"{label}: {field.field_name}: checks {sorted(expected)}, "
                                f"schema says {sorted(documented)}")
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------------------- query filters
@pytest.mark.django_db
def test_an_unknown_capability_filter_is_a_400_and_an_empty_one_means_any(user_client):
    errors = field_errors(user_client.get("/api/v1/models", {"capability": "telepathy"}))
    assert set(errors) == {"capability"}

    assert user_client.get("/api/v1/models", {"capability": ""}).status_code == 200


def test_the_schema_documents_that_an_optional_filter_may_be_empty_but_not_a_page():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/usage/analytics"]["get"]["parameters"]}
    paged = {p["name"]: p for p in schema["paths"]["/api/v1/admin/audit-events"]["get"]["parameters"]}

    assert parameters["start"]["allowEmptyValue"] is True
    assert paged["until"]["allowEmptyValue"] is True
    assert "allowEmptyValue" not in paged["page"] and "allowEmptyValue" not in paged["page_size"]
