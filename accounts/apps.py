"""App configuration for ``accounts``."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    """Accounts: users, roles, login providers, personal access tokens and notifications."""

    name = "accounts"
    verbose_name = _("Accounts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connects the login audit hooks (auth.login, auth.logout, auth.login_failed).
        from accounts import signals  # noqa: F401
