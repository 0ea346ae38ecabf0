"""App configuration for ``teams``."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TeamsConfig(AppConfig):
    """Teams: teams, memberships, the Default Team and the get_<thing>_for_user access helpers."""

    name = "teams"
    verbose_name = _("Teams")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the ``team.member_cap`` outbox delivery in every process (web, worker, beat).
        from teams import outbox_handlers  # noqa: F401
