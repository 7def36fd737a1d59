"""Staff sell, renew and cancel paid membership on the member's admin page (issue 17 item 4)."""

import datetime
import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from backoffice.roles import MARKETING, PROGRAMME_LEAD
from memberships.models import PaidMembership
from memberships.services import membership_sell

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(client, django_user_model, club):
    user = django_user_model.objects.create_user("lead", password="pw-for-tests-only", is_staff=True)
    user.groups.add(Group.objects.get(name=PROGRAMME_LEAD))
    client.force_login(user)
    return user


def page(member):
    return reverse("admin:members_member_paid_membership", args=[member.pk])


def token(client, member) -> str:
    return re.search(r'name="token" value="([^"]+)"', client.get(page(member)).content.decode()).group(1)


def test_staff_sell_once_per_form_and_the_member_page_links_it(client, lead, club, member):
    form_token = token(client, member)
    body = {"action": "sell", "plan": club.pk, "token": form_token}
    assert client.post(page(member), body).status_code == 302
    assert client.post(page(member), body).status_code == 302  # the same form again: no second period
    sold = PaidMembership.objects.get(member=member)
    assert sold.sold_by == lead and sold.sold_store is None
    change = client.get(reverse("admin:members_member_change", args=[member.pk])).content.decode()
    assert page(member) in change and timezone.localtime(sold.ends_at).strftime("%d/%m/%Y") in change

    assert client.post(page(member), {"action": "cancel", "membership": sold.pk, "reason": "x"}).status_code == 302
    sold.refresh_from_db()
    assert sold.status == "cancelled" and sold.cancelled_by == lead and sold.refund_amount == club.fee


def test_a_cancel_after_the_window_is_shown_and_changes_nothing(client, lead, club, member):
    late = membership_sell(member=member, plan=club, now=timezone.now() - datetime.timedelta(days=20))
    response = client.post(page(member), {"action": "cancel", "membership": late.pk})
    assert response.status_code == 200
    assert "errornote" in response.content.decode()
    late.refresh_from_db()
    assert late.status == "active" and late.cancelled_at is None


def test_marketing_can_look_but_not_sell(client, django_user_model, club, member):
    user = django_user_model.objects.create_user("mk", password="pw-for-tests-only", is_staff=True)
    user.groups.add(Group.objects.get(name=MARKETING))
    client.force_login(user)
    assert client.get(page(member)).status_code == 200
    response = client.post(page(member), {"action": "sell", "plan": club.pk, "token": "0" * 32})
    assert response.status_code == 403
    assert not PaidMembership.objects.exists()
