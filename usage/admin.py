"""Django admin registrations for ``usage``: read-only views of the facts and the ingestion state."""
from django.contrib import admin

from litemaas.admin import PortalModelAdmin
from usage.models import DailyUsage, IngestedDay


@admin.register(DailyUsage)
class DailyUsageAdmin(PortalModelAdmin):
    """The usage facts as LiteLLM reported them (written only by ingestion)."""

    read_only = True
    date_hierarchy = "date"
    list_display = ("date", "model_id", "key_hash", "user_id", "unattributed", "requests", "total_tokens", "spend")
    list_filter = ("unattributed", ("date", admin.DateFieldListFilter))
    search_fields = ("key_hash", "model_id", "=user_id", "=key_id")
    show_full_result_count = False  # counting millions of rows is the slow part of a changelist


@admin.register(IngestedDay)
class IngestedDayAdmin(PortalModelAdmin):
    """Which UTC days were pulled, how often, and whether they are frozen."""

    read_only = True
    list_display = ("date", "status", "rows", "pulls", "last_pulled_at", "frozen_at")
    list_filter = ("status",)
