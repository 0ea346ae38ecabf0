"""django-allauth provider for the OpenShift OAuth server (allauth ships none)."""
