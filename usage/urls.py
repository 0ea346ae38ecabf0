"""Portal page URLs of ``usage``."""
from django.urls import path

from usage import views

app_name = "usage"
urlpatterns = [
    path("usage/", views.dashboard, name="dashboard"),
    path("usage/admin/", views.admin_dashboard, name="admin-dashboard"),
    path("usage/admin/refresh", views.admin_refresh, name="admin-refresh"),
]
