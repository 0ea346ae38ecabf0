"""App configuration for ``usage``."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UsageConfig(AppConfig):
    """Usage: daily usage facts ingested from LiteLLM, analytics, exports and budgets."""

    name = "usage"
    verbose_name = _("Usage")
    default_auto_field = "django.db.models.BigAutoField"
