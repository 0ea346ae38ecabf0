"""Teams: teams, memberships, the Default Team and the get_<thing>_for_user access helpers."""
