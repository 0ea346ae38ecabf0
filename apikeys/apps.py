"""App configuration for ``apikeys``."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApikeysConfig(AppConfig):
    """API keys: LiteLLM virtual keys owned by users, their limits and lifecycle."""

    name = "apikeys"
    verbose_name = _("API keys")
    default_auto_field = "django.db.models.BigAutoField"
