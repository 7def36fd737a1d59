"""Staff users of the demo programme: one per role. Their passwords are generated and printed
once, when they are created; nothing is hard-coded. The store manager manages the stores of
brand PHO only (their staff profile)."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from backoffice.models import StaffProfile
from backoffice.roles import MARKETING, PROGRAMME_LEAD, STORE_MANAGER
from stores.models import Brand

DEMO_STAFF = [("lead", PROGRAMME_LEAD), ("marketing", MARKETING), ("manager", STORE_MANAGER)]
# username -> the brands they manage (store managers only)
DEMO_SCOPES = {"manager": ["PHO"]}


def demo_staff_load() -> list[tuple[str, str, str]]:
    """Create the demo staff users that are missing; returns (username, role, password) of
    each one created."""
    user_model = get_user_model()
    created = []
    for username, role in DEMO_STAFF:
        if user_model.objects.filter(username=username).exists():
            continue
        password = secrets.token_urlsafe(12)
        user = user_model.objects.create_user(username=username, password=password, is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        if username in DEMO_SCOPES:
            profile = StaffProfile.objects.create(user=user)
            profile.brands.set(Brand.objects.filter(code__in=DEMO_SCOPES[username]))
        created.append((username, role, password))
    return created
