"""Project-level API endpoints: the admin audit trail."""
from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from litemaas.api.permissions import IsAdminOrReadOnlyAdmin, TokenScopePermission
from litemaas.models import AuditEvent
from litemaas.selectors import audit_event_list


class AuditEventSerializer(serializers.ModelSerializer):
    """One audit event as the admin audit page shows it (``actor`` is the user id, or null for system)."""

    actor = serializers.UUIDField(source="actor_id", allow_null=True, read_only=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id", "created_at", "actor", "actor_label", "action", "target_type", "target_id", "success",
            "error", "metadata", "ip_address", "user_agent", "request_id",
        ]
        read_only_fields = fields


class AuditEventFilterSerializer(serializers.Serializer):
    """Query parameters of ``GET /api/v1/admin/audit-events`` (all optional, combined with AND)."""

    actor = serializers.UUIDField(required=False, help_text="Id of the user who acted.")
    action = serializers.CharField(required=False, help_text="Exact action, e.g. `token.create`.")
    target_type = serializers.CharField(required=False, help_text="E.g. `token`, `apikey`, `user`.")
    target_id = serializers.CharField(required=False)
    # A ChoiceField, not a BooleanField: DRF reads a missing boolean query parameter as False.
    success = serializers.ChoiceField(choices=["true", "false"], required=False)
    since = serializers.DateTimeField(required=False, help_text="Inclusive lower bound (ISO 8601).")
    until = serializers.DateTimeField(required=False, help_text="Exclusive upper bound (ISO 8601).")

    def validate(self, attrs: dict) -> dict:
        if attrs.get("since") and attrs.get("until") and attrs["since"] >= attrs["until"]:
            raise serializers.ValidationError({"until": ["Must be later than since."]})
        return attrs


@extend_schema_view(
    list=extend_schema(
        summary="The audit trail (admins and read-only admins)", parameters=[AuditEventFilterSerializer]
    )
)
class AuditEventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Read-only audit trail for the admin audit page."""

    serializer_class = AuditEventSerializer
    permission_classes = [IsAdminOrReadOnlyAdmin, TokenScopePermission]
    queryset = AuditEvent.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self) -> QuerySet[AuditEvent]:
        filters = AuditEventFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        params = dict(filters.validated_data)
        if "actor" in params:
            params["actor_id"] = params.pop("actor")
        if "success" in params:
            params["success"] = params["success"] == "true"
        return audit_event_list(user=self.request.user, **params)
