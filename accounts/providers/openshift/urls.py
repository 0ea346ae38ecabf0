"""allauth URL patterns for the OpenShift provider (login and callback)."""
from allauth.socialaccount.providers.oauth2.urls import default_urlpatterns

from accounts.providers.openshift.provider import OpenShiftProvider

urlpatterns = default_urlpatterns(OpenShiftProvider)
