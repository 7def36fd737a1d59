"""Store credit in the staff console: the member page shows the balance and links to the
entries; "Adjust store credit" records an entry by the staff user through the service, and
every refusal writes nothing; only the Programme lead (or a superuser) may adjust."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from backoffice.roles import PROGRAMME_LEAD, STORE_MANAGER
from members.models import Member, StoreCreditEntry
from members.selectors import store_credit_drift
from members.services import store_credit_earn
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
TOKEN = "5f0c6a0e-4a53-4bb1-9d0c-2a4a8d6f7e11"


@pytest.fixture
def boss(django_user_model):
    return django_user_model.objects.create_superuser("boss", password="pw-for-tests-only")


@pytest.fixture
def admin_client(client, boss):
    client.force_login(boss)
    return client


def url(member):
    return reverse("admin:members_member_adjust_store_credit", args=[member.pk])


def state():
    return list(StoreCreditEntry.objects.values_list("pk", flat=True)), list(
        Member.objects.order_by("pk").values_list("store_credit_balance", flat=True)
    )


def test_the_member_page_shows_the_balance_and_the_ledger_is_read_only(admin_client):
    member = MemberFactory()
    entry = store_credit_earn(member=member, amount=Decimal(1250000), reference="e1")
    page = admin_client.get(f"/admin/members/member/{member.pk}/change/").content.decode()
    assert "1.250.000\u00a0đ" in page
    assert url(member) in page
    listing = admin_client.get(f"/admin/members/storecreditentry/?member__id__exact={member.pk}")
    assert listing.status_code == 200
    assert admin_client.get("/admin/members/storecreditentry/add/").status_code == 403
    assert admin_client.post(f"/admin/members/storecreditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert StoreCreditEntry.objects.count() == 1


def test_an_adjustment_with_a_reason_is_recorded_once_by_the_staff_user(admin_client, boss):
    member = MemberFactory()
    token = admin_client.get(url(member)).context["form"]["token"].value()
    data = {"amount": "50000", "reason": "Bồi thường đơn lỗi", "token": token}
    assert admin_client.post(url(member), data).status_code == 302
    assert admin_client.post(url(member), data).status_code == 302  # a double click posts once
    entry = StoreCreditEntry.objects.get()
    assert (entry.kind, entry.amount, entry.created_by, entry.reason) == (
        "adjustment",
        Decimal(50000),
        boss,
        "Bồi thường đơn lỗi",
    )
    assert Member.objects.get(pk=member.pk).store_credit_balance == Decimal(50000)
    assert store_credit_drift() == []


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"amount": "5000", "reason": ""}, "reason"),
        ({"amount": "0", "reason": "x"}, "amount"),
        ({"amount": "abc", "reason": "x"}, "amount"),
        ({"amount": "0.001", "reason": "x"}, "amount"),
        ({"amount": "-1001", "reason": "too much"}, "amount"),
    ],
)
def test_refusals_show_the_error_and_write_nothing(admin_client, data, field):
    member = MemberFactory()
    store_credit_earn(member=member, amount=Decimal(1000), reference="e1")
    before = state()
    response = admin_client.post(url(member), {**data, "token": TOKEN})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert state() == before


def test_only_the_programme_lead_may_adjust(client, django_user_model):
    member = MemberFactory()
    manager = django_user_model.objects.create_user("manager", password="pw-for-tests-only", is_staff=True)
    manager.groups.add(Group.objects.get(name=STORE_MANAGER))
    client.force_login(manager)
    before = state()
    assert client.post(url(member), {"amount": "5", "reason": "x", "token": TOKEN}).status_code == 403
    assert state() == before
    lead = django_user_model.objects.create_user("lead", password="pw-for-tests-only", is_staff=True)
    lead.groups.add(Group.objects.get(name=PROGRAMME_LEAD))
    client.force_login(lead)
    assert client.get(url(member)).status_code == 200
