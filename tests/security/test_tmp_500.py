import pytest, re
from django.test import Client
@pytest.mark.django_db
def test_500(world):
    c = Client()
    c.force_login(world.users["alice"])
    for path, data in [("/settings/notifications", {"thresholds": "50,90", "channel_in_app": "on"}),
                       ("/api-keys/new", {"name": "new-key", "model_ids": "gpt-sec", "expiry": "30"})]:
        try:
            r = c.post(path, data)
            print(path, r.status_code, r.context and r.context.get("form") and r.context["form"].errors)
        except Exception as e:
            import traceback; traceback.print_exc()
