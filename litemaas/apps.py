"""App configuration for the project package (audit events, health, shared templates)."""
from django.apps import AppConfig


class LitemaasConfig(AppConfig):
    """The project package is also an app so it can own ``AuditEvent`` and management commands."""

    name = "litemaas"
    verbose_name = "litemaas"
    default_auto_field = "django.db.models.BigAutoField"
