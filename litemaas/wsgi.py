"""WSGI entry point (gunicorn)."""
import os

from django.core.wsgi import get_wsgi_application

from litemaas.observability import configure_tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "litemaas.settings")
# Before the handler loads the middleware chain: the Django instrumentation inserts its own middleware.
configure_tracing("web")
application = get_wsgi_application()
