"""The reconciler: detect and repair drift between the portal and LiteLLM (see ``runner.py``).

``classify`` names the differences, ``strategies`` picks an action per drift class and object kind,
``actions`` applies it through the owning app's service or the outbox, ``runner`` runs it all once.
"""
from integrations.reconcile.runner import (
    drift_current,
    drift_repair,
    reconcile_enqueue,
    reconcile_is_running,
    reconcile_run,
)

__all__ = ["drift_current", "drift_repair", "reconcile_enqueue", "reconcile_is_running", "reconcile_run"]
