"""The member sees their paid membership and its end date on their home page (issue 17 item 4)."""

import pytest
from django.test import Client
from django.utils import timezone

from memberships.services import membership_cancel, membership_sell
from tests.factories import MemberFactory
from tests.portal.helpers import sign_in

pytestmark = pytest.mark.django_db


def test_the_home_page_shows_the_membership_and_its_end_including_renewals(club, member):
    first = membership_sell(member=member, plan=club)
    renewal = membership_sell(member=member, plan=club)
    other = MemberFactory()
    membership_sell(member=other, plan=club)
    client = Client()
    sign_in(client, member)
    page = client.get("/m/").content.decode()
    ends = timezone.localtime(renewal.ends_at)
    assert 'data-membership="CLUB"' in page
    assert f'data-membership-ends="{ends:%d/%m/%Y}"' in page
    assert "Hội viên CLUB" in page

    membership_cancel(member=member, membership_id=renewal.pk)
    membership_cancel(member=member, membership_id=first.pk)
    assert "data-membership=" not in client.get("/m/").content.decode()


def test_a_member_without_membership_sees_no_membership_box(club, member):
    client = Client()
    sign_in(client, member)
    page = client.get("/m/").content.decode()
    assert page and "data-membership=" not in page
