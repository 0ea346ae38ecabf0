"""Test URLconf for the web shell: the project's URLs with the token pages inside the ``accounts`` namespace.

``accounts/token_urls.py`` is included by ``accounts/urls.py`` once the lead wires it; until then this
adds it, and afterwards it changes nothing. Also used by ``scripts/screenshot.sh``.
"""
from __future__ import annotations

from django.urls import URLResolver, include, path

from accounts import token_urls
from accounts import urls as accounts_urls
from litemaas.urls import handler400, handler403, handler404, handler500  # noqa: F401
from litemaas.urls import urlpatterns as project_urlpatterns

_wired = any(getattr(p, "name", None) == "tokens" for p in accounts_urls.urlpatterns)
_accounts = [*accounts_urls.urlpatterns, *([] if _wired else token_urls.urlpatterns)]

urlpatterns = [
    path("", include((_accounts, "accounts"))),
    *[p for p in project_urlpatterns if not (isinstance(p, URLResolver) and p.namespace == "accounts")],
]
