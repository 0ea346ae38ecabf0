"""Portal page URLs of ``teams``."""
from django.urls import path

from teams import views

app_name = "teams"
urlpatterns = [
    path("teams/", views.team_list, name="list"),
    path("teams/<uuid:team_id>/", views.team_detail, name="detail"),
    path("teams/<uuid:team_id>/<slug:action>", views.team_action, name="action"),
    path("admin-teams/", views.admin_team_list, name="admin-list"),
    path("admin-teams/new", views.admin_team_create, name="admin-create"),
    path("admin-users/", views.admin_user_list, name="admin-users"),
    path("admin-users/<uuid:user_id>/", views.admin_user_detail, name="admin-user-detail"),
    path("settings/notifications", views.notification_settings, name="notification-settings"),
]
