"""REST routes of ``teams``, mounted under ``/api/v1/``."""
from django.urls import path
from rest_framework.routers import SimpleRouter

from teams.api import views

app_name = "teams-api"

router = SimpleRouter(trailing_slash=False)
router.register("teams", views.TeamViewSet, basename="team")
router.register(r"teams/(?P<team_id>[^/.]+)/members", views.TeamMemberViewSet, basename="team-member")
router.register("admin/teams", views.AdminTeamViewSet, basename="admin-team")
router.register("admin/users", views.AdminUserViewSet, basename="admin-user")

urlpatterns = [
    path("api-keys/<str:key_id>/effective-limits", views.EffectiveLimitsView.as_view(), name="effective-limits"),
    path("notification-preferences", views.NotificationPreferenceView.as_view(), name="notification-preferences"),
    *router.urls,
]
