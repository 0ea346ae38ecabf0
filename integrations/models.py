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
        RECONCILE = "reconcile", _("Reconcile")

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


class Outbox(models.Model):
    """One change the portal still has to push to LiteLLM (transactional outbox; ``integrations.outbox``).

    Written in the same database transaction as the business change, delivered at least once by a Celery
    task (fast path) or the 30-second sweep, one object at a time in ``sequence`` order. The payload never
    holds a secret (keys are named by their SHA-256 hash).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        IN_FLIGHT = "in_flight", _("In flight")
        DONE = "done", _("Done")
        # Last attempt failed; retried at ``next_attempt_at``.
        FAILED = "failed", _("Failed (will retry)")
        # Gave up (too many attempts or a rejection): an admin retries it by hand.
        DEAD = "dead", _("Dead")
        # Made obsolete by a later entry of the same object (e.g. an update overtaken by a revoke).
        SUPERSEDED = "superseded", _("Superseded")

    class ObjectType(models.TextChoices):
        APIKEY = "apikey", _("API key")
        USER = "user", _("User")
        TEAM = "team", _("Team")

    # Entries in these states still have to reach LiteLLM (and hold back later entries of their object).
    OPEN_STATUSES = (Status.PENDING, Status.IN_FLIGHT, Status.FAILED)

    id = models.BigAutoField(primary_key=True)
    object_type = models.CharField(max_length=16, choices=ObjectType.choices)
    object_id = models.CharField(max_length=64)
    operation = models.CharField(max_length=32)
    payload = models.JSONField(default=dict, blank=True)
    sequence = models.PositiveIntegerField(help_text=_("Order of this entry among its object's entries."))
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # While in flight: when the claim expires and the entry may be delivered again (worker died).
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["object_type", "object_id", "sequence"], name="outbox_object_sequence"),
            models.CheckConstraint(condition=models.Q(status__in=["pending", "in_flight", "done", "failed", "dead",
                                                                  "superseded"]), name="outbox_status_valid"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["object_type", "object_id", "status"]),
            models.Index(fields=["created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.object_type}:{self.object_id} #{self.sequence} ({self.status})"

    @property
    def is_open(self) -> bool:
        """Not yet delivered (and not given up)."""
        return self.status in self.OPEN_STATUSES


class DriftItem(models.Model):
    """One difference the reconciler found between the portal and LiteLLM, and what became of it.

    Each reconcile run closes the open items of earlier runs (``superseded``) and records what it sees now,
    so the open items are always the current drift report.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        REPAIRED = "repaired", _("Repaired")
        QUEUED = "queued", _("Repair queued")
        FAILED = "failed", _("Repair failed")
        IGNORED = "ignored", _("Ignored")
        SUPERSEDED = "superseded", _("Superseded")

    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="drift_items")
    object_type = models.CharField(max_length=16)
    object_id = models.CharField(max_length=64)
    drift_class = models.CharField(max_length=32)
    severity = models.CharField(max_length=16, default="normal")
    action = models.CharField(max_length=32, blank=True, help_text=_("What the strategy does about it."))
    details = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    error = models.TextField(blank=True)
    detected_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-detected_at", "-id"]
        indexes = [models.Index(fields=["status", "drift_class"]), models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.drift_class} {self.object_type}:{self.object_id} ({self.status})"
