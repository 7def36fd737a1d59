"""The operator console: search, filters, the member page, Adjust points, actions, read-only
ledger. Every write goes through the services; refusals write nothing."""

import datetime
import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from backoffice.models import StaffProfile
from backoffice.roles import MARKETING, STORE_MANAGER
from members.models import Card, LedgerEntry, Member, MemberMerge, PointLot
from members.selectors import programme_settings_get
from members.services import member_block, points_earn, points_spend
from tests.factories import MemberFactory, StoreFactory
from tests.members.helpers import assert_ledger_consistent, days_ago, written_state

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/members/member/"
TOKEN = "5f0c6a0e-4a53-4bb1-9d0c-2a4a8d6f7e11"
INLINE_MANAGEMENT = {"cards-TOTAL_FORMS": "0", "cards-INITIAL_FORMS": "0", "cards-MAX_NUM_FORMS": "0"}


@pytest.fixture
def boss(django_user_model):
    return django_user_model.objects.create_superuser("boss", password="pw-for-tests-only")


@pytest.fixture
def admin_client(client, boss):
    client.force_login(boss)
    return client


def staff_in(django_user_model, role, username="staffer"):
    user = django_user_model.objects.create_user(username, password="pw-for-tests-only", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return django_user_model.objects.get(pk=user.pk)


def listed(response) -> list[int]:
    return [obj.pk for obj in response.context["cl"].result_list]


def action(client, name, members, **extra):
    return client.post(CHANGELIST, {"action": name, "_selected_action": [m.pk for m in members], **extra}, follow=True)


# --- Changelist -------------------------------------------------------------------------------


@pytest.mark.parametrize("term", ["0912345678", "912345678", "+84 912 345 678", "84912345678", "091.234.5678"])
def test_changelist_finds_a_phone_typed_in_any_form(admin_client, term):
    member = MemberFactory(phone="0912345678")
    MemberFactory(phone="0987654321")
    response = admin_client.get(CHANGELIST, {"q": term})
    assert response.status_code == 200
    assert listed(response) == [member.pk]


def test_changelist_finds_partial_phones_names_cards_and_codes(admin_client):
    member = MemberFactory(name="Đỗ Thị Hằng", phone="0912345678", card_number="84001234")
    other = MemberFactory(name="Lê Văn Nam", phone="0987654321")
    assert listed(admin_client.get(CHANGELIST, {"q": "0912 345"})) == [member.pk]
    assert listed(admin_client.get(CHANGELIST, {"q": "Hằng"})) == [member.pk]
    assert listed(admin_client.get(CHANGELIST, {"q": "84001234"})) == [member.pk]
    assert listed(admin_client.get(CHANGELIST, {"q": other.code})) == [other.pk]
    assert listed(admin_client.get(CHANGELIST, {"q": "không có ai"})) == []


def test_changelist_filters_by_status_store_birthday_month_and_enrolment_date(admin_client):
    store = StoreFactory()
    this_month = timezone.localdate().month
    other_month = this_month % 12 + 1
    birthday_now = MemberFactory(birthday=datetime.date(1990, this_month, 1), home_store=store)
    birthday_later = MemberFactory(birthday=datetime.date(1991, other_month, 1), enrolled_at=days_ago(400))
    blocked = MemberFactory()
    member_block(member=blocked)
    assert listed(admin_client.get(CHANGELIST, {"birthday_month": "current"})) == [birthday_now.pk]
    assert listed(admin_client.get(CHANGELIST, {"birthday_month": str(other_month)})) == [birthday_later.pk]
    assert listed(admin_client.get(CHANGELIST, {"status__exact": "blocked"})) == [blocked.pk]
    assert listed(admin_client.get(CHANGELIST, {"home_store__id__exact": store.pk})) == [birthday_now.pk]
    week_ago = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0) - datetime.timedelta(days=7)
    recent = admin_client.get(CHANGELIST, {"enrolled_at__gte": str(week_ago)})
    assert birthday_later.pk not in listed(recent) and birthday_now.pk in listed(recent)
    page = admin_client.get(CHANGELIST).content.decode()
    assert "birthday_month" in page


# --- Member page ------------------------------------------------------------------------------


def test_member_page_shows_balance_expiring_points_latest_entries_and_the_ledger_link(admin_client):
    member = MemberFactory()
    points_earn(member=member, points=40, reference="soon", occurred_at=days_ago(350))
    points_earn(member=member, points=60, reference="later", occurred_at=days_ago(10))
    for index in range(12):
        points_spend(member=member, points=1, reference=f"s{index}")
    response = admin_client.get(f"{CHANGELIST}{member.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"?member__id__exact={member.pk}" in page
    assert reverse("admin:members_member_adjust_points", args=[member.pk]) in page
    fields = {
        f.field["name"]: f.contents()
        for fieldset in response.context["adminform"]
        for line in fieldset
        for f in line
        if hasattr(f, "contents")
    }
    assert fields["points_balance"] == "88"
    assert fields["points_expiring"] == "28"
    assert str(fields["latest_entries"]).count("<tr>") == 11  # header + the 10 latest
    ledger = admin_client.get("/admin/members/ledgerentry/", {"member__id__exact": member.pk})
    assert ledger.status_code == 200 and len(ledger.context["cl"].result_list) == 14


def test_adding_a_member_in_the_admin_enrols_through_the_service(admin_client):
    response = admin_client.post(
        f"{CHANGELIST}add/",
        {
            "name": "Bùi Thanh Tâm",
            "phone": "0912 345 678",
            "email": "",
            "birthday": "",
            "gender": "female",
            "card_number": "8400 7777",
            "referral_code": "",
            "consent_sms": "on",
        },
        follow=True,
    )
    assert response.status_code == 200
    member = Member.objects.get()
    assert member.phone == "+84912345678" and member.enrolment_channel == "admin"
    assert member.code and member.referral_code and member.consent_sms_at
    assert list(member.cards.values_list("number", flat=True)) == ["84007777"]


def test_the_admin_refuses_a_duplicate_phone_in_another_form_and_writes_nothing(admin_client):
    MemberFactory(phone="0912345678")
    before = written_state()
    response = admin_client.post(f"{CHANGELIST}add/", {"name": "Dup", "phone": "+84 912 345 678", "gender": ""})
    assert response.status_code == 200 and response.context["adminform"].form.errors["phone"]
    response = admin_client.post(f"{CHANGELIST}add/", {"name": "Bad", "phone": "0123", "gender": ""})
    assert response.context["adminform"].form.errors["phone"]
    assert written_state() == before


def test_editing_a_member_goes_through_the_update_and_consent_services(admin_client):
    member = MemberFactory(phone="0912345678", consents={"email": True})
    response = admin_client.post(
        f"{CHANGELIST}{member.pk}/change/",
        {"name": "Tên mới", "phone": "987654321", "email": "a@b.vn", "birthday": "1990-01-02", "gender": "",
         "consent_zalo": "on", "change_reason": "Khách đổi số", **INLINE_MANAGEMENT},
        follow=True,
    )  # fmt: skip
    assert response.status_code == 200
    member.refresh_from_db()
    assert (member.name, member.phone, member.email) == ("Tên mới", "+84987654321", "a@b.vn")
    assert member.consent_zalo_at is not None and member.consent_email_at is None
    assert member.points_balance == 0


def test_members_cannot_be_deleted_in_the_admin(admin_client):
    member = MemberFactory()
    assert admin_client.post(f"{CHANGELIST}{member.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Member.objects.filter(pk=member.pk).exists()


# --- Adjust points ----------------------------------------------------------------------------


def adjust_url(member):
    return reverse("admin:members_member_adjust_points", args=[member.pk])


def test_adjust_points_with_a_reason_records_an_entry_by_the_staff_user(admin_client, boss):
    member = MemberFactory(points=10)
    page = admin_client.get(adjust_url(member))
    assert page.status_code == 200
    token = page.context["form"]["token"].value()
    response = admin_client.post(adjust_url(member), {"points": "-4", "reason": "Khách trả lại quà", "token": token})
    assert response.status_code == 302
    entry = LedgerEntry.objects.get(kind="adjust")
    assert (entry.points, entry.reason, entry.created_by, entry.balance_after) == (-4, "Khách trả lại quà", boss, 6)
    # Submitting the same form again (a double click) posts once.
    admin_client.post(adjust_url(member), {"points": "-4", "reason": "Khách trả lại quà", "token": token})
    assert LedgerEntry.objects.filter(kind="adjust").count() == 1
    assert Member.objects.get(pk=member.pk).points_balance == 6
    assert_ledger_consistent()


@pytest.mark.parametrize(
    "data, field",
    [
        ({"points": "5", "reason": ""}, "reason"),
        ({"points": "5", "reason": "   "}, "reason"),
        ({"points": "0", "reason": "x"}, "points"),
        ({"points": "abc", "reason": "x"}, "points"),
        ({"points": "-11", "reason": "too much"}, "points"),
    ],
)
def test_adjust_points_refusals_show_the_error_and_write_nothing(admin_client, data, field):
    member = MemberFactory(points=10)
    before = written_state()
    response = admin_client.post(adjust_url(member), {**data, "token": TOKEN})
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert written_state() == before


def test_adjust_points_needs_the_adjust_points_permission(client, django_user_model):
    member = MemberFactory(points=10)
    marketing = staff_in(django_user_model, MARKETING, "marketing")
    client.force_login(marketing)
    before = written_state()
    assert client.get(adjust_url(member)).status_code == 403
    response = client.post(adjust_url(member), {"points": "5", "reason": "x", "token": TOKEN})
    assert response.status_code == 403
    assert written_state() == before
    page = client.get(f"{CHANGELIST}{member.pk}/change/").content.decode()
    assert adjust_url(member) not in page


def test_a_store_manager_may_adjust_points(client, django_user_model):
    store = StoreFactory()
    member = MemberFactory(points=10, home_store=store)
    manager = staff_in(django_user_model, STORE_MANAGER, "manager")
    StaffProfile.objects.create(user=manager).stores.set([store])
    client.force_login(manager)
    token = client.get(adjust_url(member)).context["form"]["token"].value()
    response = client.post(adjust_url(member), {"points": "15", "reason": "Sự cố máy POS", "token": token})
    assert response.status_code == 302
    assert Member.objects.get(pk=member.pk).points_balance == 25


# --- Actions ----------------------------------------------------------------------------------


def test_block_and_unblock_actions_call_the_services(admin_client):
    a, b = MemberFactory(), MemberFactory()
    action(admin_client, "block_members", [a, b])
    assert set(Member.objects.values_list("status", flat=True)) == {"blocked"}
    assert Member.objects.get(pk=a.pk).status_reason
    action(admin_client, "unblock_members", [a])
    assert Member.objects.get(pk=a.pk).status == "active" and Member.objects.get(pk=b.pk).status == "blocked"


def test_block_action_is_not_offered_without_the_change_permission(client, django_user_model):
    member = MemberFactory()
    client.force_login(staff_in(django_user_model, MARKETING, "marketing"))
    response = client.get(CHANGELIST)
    assert "block_members" not in response.content.decode()
    action(client, "block_members", [member])
    assert Member.objects.get(pk=member.pk).status == "active"


def test_merge_action_asks_which_member_to_keep_then_merges(admin_client, boss):
    keep, fold = MemberFactory(points=10), MemberFactory(points=5, card_number="99990001")
    page = action(admin_client, "merge_members", [keep, fold])
    assert page.status_code == 200 and "survivor" in page.content.decode()
    assert MemberMerge.objects.count() == 0
    response = action(admin_client, "merge_members", [keep, fold], confirm="yes", survivor=keep.pk, reason="Trùng")
    assert response.status_code == 200
    record = MemberMerge.objects.get()
    assert (record.survivor, record.merged, record.merged_by, record.reason) == (keep, fold, boss, "Trùng")
    assert Member.objects.get(pk=keep.pk).points_balance == 15
    assert Card.objects.get(number="99990001").member == keep
    assert_ledger_consistent()


def test_merge_action_needs_exactly_two_members_and_the_merge_permission(admin_client, client, django_user_model):
    a, b, c = MemberFactory(), MemberFactory(), MemberFactory()
    before = written_state()
    response = action(admin_client, "merge_members", [a, b, c], confirm="yes", survivor=a.pk)
    assert "two" in response.content.decode() or "hai" in response.content.decode()
    assert written_state() == before
    manager = staff_in(django_user_model, STORE_MANAGER, "manager")
    client.force_login(manager)
    assert "merge_members" not in client.get(CHANGELIST).content.decode()
    action(client, "merge_members", [a, b], confirm="yes", survivor=a.pk)
    assert written_state() == before


def test_clear_review_action(admin_client):
    member = MemberFactory()
    Member.objects.filter(pk=member.pk).update(needs_review=True, review_note="refund")
    action(admin_client, "clear_review", [member])
    assert not Member.objects.get(pk=member.pk).needs_review


# --- Read-only ledger, lots, merges; settings; cards -------------------------------------------


def test_the_ledger_is_read_only_and_filtered_by_date_without_a_date_hierarchy(admin_client):
    # The date hierarchy reads every entry's year on each page (issue 18): a date filter instead.
    member = MemberFactory(points=10)
    entry = LedgerEntry.objects.get(member=member)
    changelist = admin_client.get("/admin/members/ledgerentry/", {"created_at__gte": "2000-01-01 00:00:00+00:00"})
    assert changelist.status_code == 200 and changelist.context["cl"].date_hierarchy is None
    assert [e.pk for e in changelist.context["cl"].result_list] == [entry.pk]
    assert admin_client.get("/admin/members/ledgerentry/add/").status_code == 403
    detail = admin_client.get(f"/admin/members/ledgerentry/{entry.pk}/change/")
    assert detail.status_code == 200 and not detail.context["has_change_permission"]
    before = written_state()
    admin_client.post(f"/admin/members/ledgerentry/{entry.pk}/change/", {"points": "999"})
    assert admin_client.post(f"/admin/members/ledgerentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert written_state() == before
    by_phone = admin_client.get("/admin/members/ledgerentry/", {"q": "0" + member.phone[3:]})
    assert [e.pk for e in by_phone.context["cl"].result_list] == [entry.pk]


def test_lots_and_merges_are_read_only(admin_client):
    member = MemberFactory(points=10)
    lot = PointLot.objects.get(member=member)
    assert admin_client.get("/admin/members/pointlot/").status_code == 200
    assert admin_client.get(f"/admin/members/pointlot/{lot.pk}/change/").status_code == 200
    assert admin_client.get("/admin/members/pointlot/add/").status_code == 403
    assert admin_client.get("/admin/members/membermerge/").status_code == 200
    assert admin_client.get("/admin/members/membermerge/add/").status_code == 403


def test_programme_settings_page_is_the_single_row_and_saves_through_the_service(admin_client, boss):
    response = admin_client.get("/admin/members/programmesettings/")
    assert response.status_code == 302 and response["Location"].endswith("/1/change/")
    page = admin_client.get(response["Location"])
    assert page.status_code == 200
    form = page.context["adminform"].form
    # An empty optional field (no redemption cap) is posted as the browser does: an empty string.
    data = {name: "" if form[name].value() is None else form[name].value() for name in form.fields}
    data.update({"pending_days": "3", "point_value": "1500"})
    saved = admin_client.post(response["Location"], data)
    assert saved.status_code == 302, page.context["adminform"].form.errors
    programme = programme_settings_get()
    assert (programme.pending_days, programme.point_value, programme.updated_by) == (3, 1500, boss)
    assert admin_client.get("/admin/members/programmesettings/add/").status_code == 403


def test_cards_are_issued_and_replaced_through_the_services(admin_client):
    member = MemberFactory()
    response = admin_client.post("/admin/members/card/add/", {"member": member.pk, "number": "1234 5678"})
    assert response.status_code == 302
    card = Card.objects.get()
    assert card.number == "12345678" and card.member == member
    page = admin_client.get(f"/admin/members/card/{card.pk}/change/").content.decode()
    replace_url = reverse("admin:members_card_replace", args=[card.pk])
    assert replace_url in page
    before = written_state()
    refused = admin_client.post(replace_url, {"new_number": "12345678", "reason": "lost"})
    assert refused.status_code == 200 and refused.context["form"].errors
    assert written_state() == before
    done = admin_client.post(replace_url, {"new_number": "87654321", "reason": "stolen"})
    assert done.status_code == 302
    card.refresh_from_db()
    assert not card.is_active and card.replaced_by.number == "87654321"


def test_every_members_admin_page_renders(admin_client):
    member = MemberFactory(points=10, card_number="11112222")
    for url in [
        CHANGELIST,
        f"{CHANGELIST}add/",
        f"{CHANGELIST}{member.pk}/change/",
        "/admin/members/card/",
        "/admin/members/card/add/",
        "/admin/members/ledgerentry/",
        "/admin/members/pointlot/",
        "/admin/members/membermerge/",
        "/admin/members/",
    ]:
        assert admin_client.get(url).status_code == 200, url
    assert re.search(r"members", admin_client.get("/admin/").content.decode())
