"""App configuration for ``subscriptions``."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubscriptionsConfig(AppConfig):
    """Subscriptions: the model catalogue mirrored from LiteLLM and the subscription state machine."""

    name = "subscriptions"
    verbose_name = _("Subscriptions")
    default_auto_field = "django.db.models.BigAutoField"
