"""REST routes of the project app, mounted under ``/api/v1/``."""
from rest_framework.routers import SimpleRouter

from litemaas.api.views import AuditEventViewSet

app_name = "litemaas-api"

router = SimpleRouter(trailing_slash=False)
router.register("admin/audit-events", AuditEventViewSet, basename="audit-event")

urlpatterns = router.urls
