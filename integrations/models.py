"""Models owned by ``integrations``: the record of every sync run against LiteLLM."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SyncRun(models.Model):
    """One run of a LiteLLM → portal (or portal → LiteLLM) sync: what ran, when, how it ended, what it did.

    Written only through ``integrations.sync_runs`` (``sync_run_start`` / ``sync_run_finish``).
    """

    class Kind(models.TextChoices):
        MODELS = "models", _("Models")
        KEYS = "keys", _("Keys")
        USERS = "users", _("Users")
        TEAMS = "teams", _("Teams")
        USAGE = "usage", _("Usage")

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        # Stopped on purpose before changing anything (e.g. the model sync's mass-removal guard).
        ABORTED = "aborted", _("Aborted")

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text=_("Who started the run; empty for scheduled runs."),
    )
    dry_run = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["kind", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.kind} sync #{self.pk} ({self.status})"

    @property
    def duration_seconds(self) -> float | None:
        """Wall-clock length of the run, once it has finished."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
