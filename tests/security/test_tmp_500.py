import pytest
from django.test import Client
@pytest.mark.django_db
def test_500(world):
    c = Client()
    c.force_login(world.users["admin"])
    for path, data in [(f"/teams/{world.teams['A'].pk}/rename", {"name": "Renamed", "description": "x"}),
                       (f"/admin-users/{world.users['alice'].pk}/", {"action": "limits", "rpm_limit": "10"})]:
        try:
            r = c.post(path, data)
            print(path, r.status_code)
        except Exception as e:
            import traceback; traceback.print_exc()
