"""Portal page URLs of ``apikeys``."""
from django.urls import path

from apikeys import views

app_name = "apikeys"
urlpatterns = [
    path("api-keys/", views.key_list, name="list"),
    path("api-keys/new", views.key_create, name="create"),
    path("api-keys/settings", views.key_settings, name="settings"),
    path("api-keys/<uuid:key_id>/", views.key_detail, name="detail"),
    path("api-keys/<uuid:key_id>/edit", views.key_edit, name="edit"),
    path("api-keys/<uuid:key_id>/<slug:action>", views.key_action, name="action"),
    path("playground/", views.playground, name="playground"),
    path("playground/session", views.playground_session, name="playground-session"),
]
