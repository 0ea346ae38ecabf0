"""Template tags of ``teams``: the effective limits of a key (for the key page include)."""
from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.simple_tag
def key_effective_limits(key: Any) -> dict[str, Any] | None:
    """The key's limits by level plus its runway, or None when it cannot be computed (never raises)."""
    from teams import selectors

    try:
        limits = selectors.effective_limits_for_key(key=key)
        runway = selectors.runway_for(kind="key", object_id=key.pk, spend=key.spend, max_budget=key.max_budget,
                                      reset_at=None)
    except Exception:  # noqa: BLE001 - a side panel must never break the key page
        return None
    data = selectors.effective_limits_as_dict(limits)
    data["runway_obj"] = runway
    return data
