"""Portal page URLs of ``teams``."""
from django.urls import path

from teams import views

app_name = "teams"
urlpatterns = [
    path("teams/", views.team_list, name="list"),
    path("teams/new", views.team_create, name="create"),
    path("teams/<uuid:team_id>/", views.team_detail, name="detail"),
    path("teams/<uuid:team_id>/<slug:action>", views.team_action, name="action"),
    path("admin-teams/", views.admin_team_list, name="admin-list"),
    path("admin-teams/new", views.admin_team_create, name="admin-create"),
    path("admin-users/", views.admin_user_list, name="admin-users"),
    path("admin-users/<uuid:user_id>/", views.admin_user_detail, name="admin-user-detail"),
    path("admin-users/<uuid:user_id>/keys/new", views.admin_user_key_create, name="admin-user-key-create"),
    path("admin-users/<uuid:user_id>/keys/<uuid:key_id>/edit", views.admin_user_key_edit,
         name="admin-user-key-edit"),
    path("admin-users/<uuid:user_id>/keys/<uuid:key_id>/delete", views.admin_user_key_delete,
         name="admin-user-key-delete"),
    path("admin-users/<uuid:user_id>/keys/<uuid:key_id>/<slug:action>", views.admin_user_key_action,
         name="admin-user-key-action"),
    path("settings/notifications", views.notification_settings, name="notification-settings"),
]
