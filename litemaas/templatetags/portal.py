"""Template tags of the web shell: the navigation sidebar and small display helpers."""
from __future__ import annotations

from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse

from litemaas.navigation import ADMIN, USER, nav_items_for

register = template.Library()


@register.inclusion_tag("includes/nav.html", takes_context=True)
def portal_nav(context: template.Context) -> dict[str, Any]:
    """Render the sidebar: the user section, then the admin section for (read-only) admins.

    Items whose URL name does not resolve are skipped (see ``litemaas.navigation``).
    """
    request = context.get("request")
    user = getattr(request, "user", None)
    items = nav_items_for(user, path=getattr(request, "path", ""))
    return {
        "user_items": [i for i in items if i.section == USER],
        "admin_items": [i for i in items if i.section == ADMIN],
    }


@register.simple_tag(takes_context=True)
def portal_nav_items(context: template.Context, section: str = USER) -> list:
    """The visible, resolvable items of one section, for pages that lay them out themselves."""
    request = context.get("request")
    return nav_items_for(getattr(request, "user", None), section=section,
                         path=getattr(request, "path", ""))


@register.simple_tag
def portal_url(url_name: str, *args: Any) -> str:
    """``{% url %}`` that yields "" instead of failing when ``url_name`` is not registered (yet)."""
    try:
        return reverse(url_name, args=args or None)
    except NoReverseMatch:
        return ""


@register.filter
def money(amount: Any, decimals: Any = None) -> str:
    """``{{ amount|money }}``: the amount with the portal's display currency, formatted for the active language.

    ``{{ price|money:4 }}`` fixes the number of decimals. No conversion happens: LiteLLM amounts are USD and
    the currency an admin picks is only a label (see the admin guide).
    """
    from litemaas.currency import format_money
    from litemaas.portal_selectors import current_currency

    places = int(decimals) if decimals not in (None, "") else None
    return format_money(amount, current_currency(), places)


@register.simple_tag
def portal_markdown(text: str) -> str:
    """Render Markdown safely (``litemaas.markdown``): sanitised HTML, never script or raw HTML."""
    from litemaas.markdown import render_markdown

    return render_markdown(text)
