"""Page URLs for personal access tokens, included into ``accounts/urls.py`` (namespace ``accounts``).

Names: ``accounts:tokens`` (list and create) and ``accounts:token-revoke`` (confirm and revoke).
"""
from django.urls import path

from accounts import token_views

urlpatterns = [
    path("tokens/", token_views.token_list, name="tokens"),
    path("tokens/<uuid:token_id>/revoke/", token_views.token_revoke_confirm, name="token-revoke"),
]
