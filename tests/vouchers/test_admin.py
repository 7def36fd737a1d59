"""The catalogue and the vouchers in the admin: counts without N+1, search by code and member,
the void action with a reason, and the "issue a voucher" page, all through the services."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from backoffice.roles import MARKETING, STORE_MANAGER
from members.phones import phone_national
from tests.factories import MemberFactory
from tests.vouchers.factories import RewardFactory
from tests.vouchers.helpers import written_state
from vouchers.models import Reward, Voucher
from vouchers.services import reward_redeem, voucher_issue, voucher_use

CHANGELIST = "admin:vouchers_voucher_changelist"
REWARDS = "admin:vouchers_reward_changelist"
ISSUE = "admin:vouchers_voucher_issue"


def staff(username, role=None, superuser=False):
    user_model = get_user_model()
    if superuser:
        return user_model.objects.create_superuser(username, password="pw-for-tests-only")
    user = user_model.objects.create_user(username, password="pw-for-tests-only", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user_model.objects.get(pk=user.pk)


@pytest.fixture
def admin_client(client, db):
    client.force_login(staff("root", superuser=True))
    return client


@pytest.fixture
def marketing_client(client, db):
    client.force_login(staff("marketing", MARKETING))
    return client


@pytest.fixture
def manager_client(client, db):
    client.force_login(staff("manager", STORE_MANAGER))
    return client


# The reward page carries the inline of the customer groups and segments a reward is kept for
# (composed in backoffice): a posted form holds its management form, here with no rows.
NO_AUDIENCE = {
    "audiences-TOTAL_FORMS": "0",
    "audiences-INITIAL_FORMS": "0",
    "audiences-MIN_NUM_FORMS": "0",
    "audiences-MAX_NUM_FORMS": "1000",
}


def campaign_voucher(reward, member):
    return voucher_issue(reward=reward, member=member, channel=Voucher.Channel.CAMPAIGN)


# --- The catalogue ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_catalogue_shows_issued_used_and_redemption_rate(admin_client, member, pho_store):
    reward = RewardFactory(code="CASH50K", points_cost=1)
    vouchers = [campaign_voucher(reward, member) for _ in range(4)]
    voucher_use(voucher=vouchers[0], store=pho_store, sale_reference="sale:1", at=timezone.now())
    RewardFactory(code="UNUSED")
    response = admin_client.get(reverse(REWARDS))
    assert response.status_code == 200
    rows = {r.code: r for r in response.context["cl"].result_list}
    assert (rows["CASH50K"].issued_total, rows["CASH50K"].used_total, rows["CASH50K"].rate) == (4, 1, 25.0)
    assert (rows["UNUSED"].issued_total, rows["UNUSED"].used_total, rows["UNUSED"].rate) == (0, 0, None)
    assert "25.0 %" in response.content.decode()


@pytest.mark.django_db
def test_catalogue_costs_the_same_queries_for_many_rewards(admin_client, member):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(reverse(REWARDS) + "?o=-10.8").status_code == 200
        return len(captured)

    for _ in range(2):
        campaign_voucher(RewardFactory(), member)
    few = queries()
    for _ in range(8):
        campaign_voucher(RewardFactory(), member)
    assert queries() == few


@pytest.mark.django_db
def test_a_reward_is_added_through_the_form(admin_client, cafe_brand):
    response = admin_client.post(
        reverse("admin:vouchers_reward_add"),
        {
            "code": "CAFE-B2G1",
            "name": "Cà phê mua 2 tặng 1",
            "kind": "buy_x_get_y",
            "category": "coffee",
            "buy_quantity": "2",
            "free_quantity": "1",
            "points_cost": "100",
            "is_visible": "on",
            "validity": "days",
            "validity_days": "14",
            "brands": [cafe_brand.pk],
            "min_invoice": "0",
            "limit_period": "ever",
            **NO_AUDIENCE,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    reward = Reward.objects.get(code="CAFE-B2G1")
    assert list(reward.brands.all()) == [cafe_brand]


@pytest.mark.django_db
def test_the_form_refuses_a_percent_without_a_cap(admin_client):
    response = admin_client.post(
        reverse("admin:vouchers_reward_add"),
        {"code": "PCT10", "name": "Giảm 10 %", "kind": "percent", "percent": "10", "points_cost": "80",
         "validity": "days", "validity_days": "30", "min_invoice": "0", "limit_period": "ever", **NO_AUDIENCE},
    )  # fmt: skip
    assert response.status_code == 200
    assert "cap" in response.context["adminform"].form.errors
    assert not Reward.objects.exists()


@pytest.mark.django_db
def test_editing_a_reward_keeps_the_issued_count(admin_client, member, pho_store):
    reward = RewardFactory(code="CASH50K", points_cost=1, stock=10)
    url = reverse("admin:vouchers_reward_change", args=[reward.pk])
    form = admin_client.get(url).context["adminform"].form
    reward_redeem(member=member, reward=reward, store=pho_store, reference="between-load-and-save")
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update({"name": "Voucher 50K mới", "brands": [], "stores": [], **NO_AUDIENCE})
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    reward.refresh_from_db()
    assert (reward.name, reward.issued_count) == ("Voucher 50K mới", 1)


# --- Vouchers: search and filters ---------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["exact", "lower", "no-dash", "lower-no-dash", "partial-no-dash"])
def test_vouchers_are_found_by_code_typed_any_way(admin_client, member, how):
    reward = RewardFactory()
    wanted = campaign_voucher(reward, member)
    for _ in range(3):
        campaign_voucher(reward, member)
    code = wanted.code
    term = {
        "exact": code,
        "lower": code.lower(),
        "no-dash": code.replace("-", ""),
        "lower-no-dash": code.replace("-", "").lower(),
        "partial-no-dash": code.replace("-", "")[:6].lower(),
    }[how]
    found = list(admin_client.get(reverse(CHANGELIST), {"q": term}).context["cl"].result_list)
    assert wanted in found
    if how != "partial-no-dash":
        assert found == [wanted]


@pytest.mark.django_db
def test_vouchers_are_found_by_member_name_phone_and_code(admin_client):
    reward = RewardFactory()
    anh = MemberFactory(name="Trần Thị Lan Anh", phone="+84912345678")
    other = MemberFactory(name="Lê Văn Bình")
    mine = campaign_voucher(reward, anh)
    campaign_voucher(reward, other)
    for term in ["Lan Anh", "0912345678", phone_national(anh.phone), "912 345 678", anh.code.lower()]:
        found = list(admin_client.get(reverse(CHANGELIST), {"q": term}).context["cl"].result_list)
        assert found == [mine], term


@pytest.mark.django_db
def test_vouchers_are_filtered_by_status_reward_and_channel(admin_client, member, pho_store):
    cash, pct = RewardFactory(code="CASH"), RewardFactory(code="OTHER", points_cost=1)
    used = campaign_voucher(cash, member)
    voucher_use(voucher=used, store=pho_store, sale_reference="sale:1", at=timezone.now())
    issued = campaign_voucher(cash, member)
    exchanged = reward_redeem(member=member, reward=pct, store=pho_store, reference="x")

    def listed(**params):
        return set(admin_client.get(reverse(CHANGELIST), params).context["cl"].result_list)

    assert listed(status__exact="used") == {used}
    assert listed(status__exact="issued") == {issued, exchanged}
    assert listed(reward__id__exact=pct.pk) == {exchanged}
    assert listed(channel__exact="points") == {exchanged}
    assert listed(channel__exact="campaign", status__exact="issued") == {issued}


@pytest.mark.django_db
def test_the_voucher_list_costs_the_same_queries_for_many_vouchers(admin_client, member):
    reward = RewardFactory()

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(reverse(CHANGELIST)).status_code == 200
        return len(captured)

    campaign_voucher(reward, member)
    few = queries()
    for _ in range(10):
        campaign_voucher(reward, MemberFactory())
    assert queries() == few


@pytest.mark.django_db
def test_a_voucher_page_is_read_only(admin_client, member):
    voucher = campaign_voucher(RewardFactory(), member)
    response = admin_client.get(reverse("admin:vouchers_voucher_change", args=[voucher.pk]))
    assert response.status_code == 200
    assert voucher.code in response.content.decode()
    assert not response.context["adminform"].form.fields
    assert admin_client.get(reverse("admin:vouchers_voucher_add")).status_code == 403


# --- Void, with a reason ------------------------------------------------------------------------


def void_action(client, vouchers, **extra):
    data = {"action": "void_vouchers", "_selected_action": [v.pk for v in vouchers], **extra}
    return client.post(reverse(CHANGELIST), data, follow=bool(extra.get("confirm")))


@pytest.mark.django_db
def test_void_asks_for_a_reason_then_voids(marketing_client, member, pho_store):
    reward = RewardFactory()
    first, second = campaign_voucher(reward, member), campaign_voucher(reward, member)
    page = void_action(marketing_client, [first, second])
    assert page.status_code == 200
    assert first.code in page.content.decode()
    assert Voucher.objects.filter(status="void").count() == 0

    before = written_state()
    again = void_action(marketing_client, [first, second], confirm="1", reason="   ")
    assert again.status_code == 200
    assert "reason" in again.context["form"].errors
    assert written_state() == before

    done = void_action(marketing_client, [first, second], confirm="1", reason="Phát nhầm cho khách")
    assert done.status_code == 200
    assert set(Voucher.objects.values_list("status", "void_reason")) == {("void", "Phát nhầm cho khách")}
    assert Voucher.objects.get(pk=first.pk).voided_by.username == "marketing"


@pytest.mark.django_db
def test_void_reports_the_vouchers_it_cannot_void(marketing_client, member, pho_store):
    reward = RewardFactory()
    used, issued = campaign_voucher(reward, member), campaign_voucher(reward, member)
    voucher_use(voucher=used, store=pho_store, sale_reference="sale:1", at=timezone.now())
    response = void_action(marketing_client, [used, issued], confirm="1", reason="Thu hồi")
    text = response.content.decode()
    assert used.code in text
    assert Voucher.objects.get(pk=used.pk).status == "used"
    assert Voucher.objects.get(pk=issued.pk).status == "void"


@pytest.mark.django_db
def test_a_store_manager_sees_vouchers_but_cannot_void(manager_client, member):
    voucher = campaign_voucher(RewardFactory(), member)
    response = manager_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert "void_vouchers" not in response.content.decode()
    assert reverse(ISSUE) not in response.content.decode()
    void_action(manager_client, [voucher], confirm="1", reason="Thử")
    assert Voucher.objects.get(pk=voucher.pk).status == "issued"


# --- Issue a voucher ----------------------------------------------------------------------------


def issue_form(client, **params):
    response = client.get(reverse(ISSUE), params)
    assert response.status_code == 200
    return response, str(response.context["form"]["token"].value())


@pytest.mark.django_db
def test_marketing_issues_a_voucher_with_a_reason(marketing_client, member):
    reward = RewardFactory(code="BDAY20", is_visible=False, points_cost=0)
    page, token = issue_form(marketing_client, member=member.pk)
    assert page.context["form"].initial["member"] == member.pk
    assert reverse(ISSUE) in marketing_client.get(reverse(CHANGELIST)).content.decode()
    data = {"member": member.pk, "reward": reward.pk, "reason": "Khách phàn nàn về món ăn", "token": token}
    response = marketing_client.post(reverse(ISSUE), data)
    voucher = Voucher.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:vouchers_voucher_change", args=[voucher.pk])
    assert (voucher.channel, voucher.reason, voucher.issued_by.username) == (
        "staff",
        "Khách phàn nàn về món ăn",
        "marketing",
    )
    # The same form submitted twice issues one voucher.
    marketing_client.post(reverse(ISSUE), data)
    assert Voucher.objects.count() == 1


@pytest.mark.django_db
def test_issue_needs_a_reason_and_writes_nothing_without(marketing_client, member):
    reward = RewardFactory()
    _page, token = issue_form(marketing_client)
    before = written_state()
    response = marketing_client.post(
        reverse(ISSUE), {"member": member.pk, "reward": reward.pk, "reason": " ", "token": token}
    )
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    assert written_state() == before


@pytest.mark.django_db
def test_issue_shows_why_a_reward_cannot_be_given(marketing_client, member, other_member):
    reward = RewardFactory(stock=1)
    campaign_voucher(reward, other_member)
    _page, token = issue_form(marketing_client)
    before = written_state()
    response = marketing_client.post(
        reverse(ISSUE), {"member": member.pk, "reward": reward.pk, "reason": "Quà tặng", "token": token}
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert written_state() == before


@pytest.mark.django_db
def test_a_store_manager_cannot_issue(manager_client, member):
    assert manager_client.get(reverse(ISSUE)).status_code == 403
    response = manager_client.post(
        reverse(ISSUE), {"member": member.pk, "reward": RewardFactory().pk, "reason": "x", "token": "x"}
    )
    assert response.status_code == 403
    assert not Voucher.objects.exists()


@pytest.mark.django_db
def test_the_member_autocomplete_answers_for_the_issue_form(marketing_client):
    MemberFactory(name="Phạm Minh Châu")
    response = marketing_client.get(
        reverse("admin:autocomplete"),
        {"term": "Châu", "app_label": "vouchers", "model_name": "voucher", "field_name": "member"},
    )
    assert response.status_code == 200
    assert response.json()["results"][0]["text"].startswith("Phạm Minh Châu")


@pytest.mark.django_db
def test_amounts_in_the_catalogue_are_decimals(admin_client):
    RewardFactory(code="CASH50K", value=Decimal(50_000))
    assert admin_client.get(reverse("admin:vouchers_reward_change", args=[Reward.objects.get().pk])).status_code == 200
