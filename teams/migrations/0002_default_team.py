"""The Default Team (fixed UUID, every model, the original portal's limits) and every existing user in it."""
from decimal import Decimal

from django.db import migrations

DEFAULT_TEAM_ID = "a0000000-0000-4000-8000-000000000001"


def create_default_team(apps, schema_editor):
    Team = apps.get_model("teams", "Team")
    Membership = apps.get_model("teams", "Membership")
    User = apps.get_model("accounts", "User")
    team, _created = Team.objects.get_or_create(
        id=DEFAULT_TEAM_ID,
        defaults={"name": "Default Team", "description": "Every user of the portal.", "max_budget": Decimal("10000"),
                  "tpm_limit": 50000, "rpm_limit": 1000, "allowed_models": []},
    )
    existing = set(Membership.objects.filter(team=team).values_list("user_id", flat=True))
    Membership.objects.bulk_create(
        [Membership(team=team, user_id=uid, role="member", source="default")
         for uid in User.objects.values_list("id", flat=True) if uid not in existing],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("teams", "0001_initial"),
        ("accounts", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_default_team, migrations.RunPython.noop)]
