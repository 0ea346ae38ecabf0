"""Page URLs of in-app notifications, included into ``accounts/urls.py`` (namespace ``accounts``).

Names: ``accounts:notifications`` (the bell links here) and ``accounts:notifications-read``.
"""
from django.urls import path

from accounts import notification_views

urlpatterns = [
    path("notifications/", notification_views.notification_list, name="notifications"),
    path("notifications/read", notification_views.notification_mark_read, name="notifications-read"),
]
