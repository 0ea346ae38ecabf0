"""App configuration for ``integrations``."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    """Integrations: the LiteLLM client, the LiteLLM double, sync runs, the outbox and the reconciler."""

    name = "integrations"
    verbose_name = _("Integrations")
    default_auto_field = "django.db.models.BigAutoField"
