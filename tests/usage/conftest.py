"""Fixtures of the usage tests: the LiteLLM double, portal keys and hand-made facts."""
from __future__ import annotations

import hashlib
import uuid
from datetime import date
from decimal import Decimal

import pytest

from tests.fixtures.litellm import (  # noqa: F401 - re-exported fixtures
    fast_retries,
    litellm_double,
    litellm_double_server,
)


@pytest.fixture(autouse=True)
def _no_analytics_cache(settings):
    """Most tests compare fresh numbers; the cache has its own test."""
    settings.USAGE_ANALYTICS_CACHE_SECONDS = 0


def sha(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def make_key(user, *, secret: str | None = None, status: str = "active", deleted: bool = False, name: str = "k"):
    """A portal key row (no LiteLLM call) whose token hash is sha256(secret)."""
    from django.utils import timezone

    from apikeys.models import ApiKey

    secret = secret or f"sk-test-{uuid.uuid4().hex}"
    suffix = uuid.uuid4().hex[:8]
    key = ApiKey.objects.create(user=user, name=name, key_alias=f"{name}_{suffix}", alias_suffix=suffix,
                                token_hash=sha(secret), key_prefix=secret[:10], last4=secret[-4:], status=status,
                                deleted_at=timezone.now() if deleted else None)
    key.secret = secret
    return key


def make_model(model_id: str, provider: str):
    from subscriptions.models import LlmModel

    return LlmModel.objects.create(id=model_id, provider=provider, input_cost_per_token=Decimal("0.000001"),
                                   output_cost_per_token=Decimal("0.000002"))


def fact(day: date, key=None, model: str = "m1", *, requests: int = 1, prompt: int = 10, completion: int = 5,
         spend: str = "0.5", failed: int = 0, key_hash: str | None = None):
    """One DailyUsage fact attributed to ``key`` (or unattributed with ``key_hash``)."""
    from usage.models import DailyUsage

    return DailyUsage(date=day, key_hash=key.token_hash if key else key_hash, model_id=model,
                      user_id=key.user_id if key else None, key_id=key.pk if key else None,
                      unattributed=key is None, requests=requests, successful_requests=requests - failed,
                      failed_requests=failed, prompt_tokens=prompt, completion_tokens=completion,
                      total_tokens=prompt + completion, spend=Decimal(spend))


def store(*facts):
    """Upsert facts and rebuild the rollups over their days (what ingestion does)."""
    from usage.services import rollups_rebuild, to_date_rebuild, upsert_facts

    upsert_facts(list(facts))
    days = [f.date for f in facts]
    rollups_rebuild(start=min(days), end=max(days))
    to_date_rebuild(start=min(days), through=max(days))
