"""The tiers admin: the ladder with member counts, refusals that write nothing, read-only
statuses and history, each member's tier page, and the recompute with its preview."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import translation

from backoffice.roles import MARKETING, STORE_MANAGER
from tests.tiers.conftest import enrol, spend, written_state
from tiers.admin_panels import member_tier_panel
from tiers.models import Tier, TierChange, TierSettings, TierStatus
from tiers.selectors import member_tier


def staff_in(role: str, username: str):
    user = get_user_model().objects.create_user(username, password="pw-for-tests-only", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return get_user_model().objects.get(pk=user.pk)


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser("root", "root@example.vn", "pw-for-tests-only")
    client.force_login(user)
    return client


@pytest.fixture
def marketing_client(client, db):
    client.force_login(staff_in(MARKETING, "mkt"))
    return client


@pytest.fixture
def manager_client(client, db):
    client.force_login(staff_in(STORE_MANAGER, "mgr"))
    return client


def tier_form(tier: Tier, **changes) -> dict:
    data = {
        "code": tier.code,
        "name": tier.name,
        "name_en": tier.name_en,
        "description": tier.description,
        "description_en": tier.description_en,
        "rank": tier.rank,
        "threshold": tier.threshold,
        "earn_rate_percent": tier.earn_rate_percent,
        "invoice_discount_percent": tier.invoice_discount_percent,
        "voucher_points_discount_percent": tier.voucher_points_discount_percent,
        "retention_spend": tier.retention_spend if tier.retention_spend is not None else "",
        "retention_months": tier.retention_months if tier.retention_months is not None else "",
        "on_failure": tier.on_failure,
        "grace_days": tier.grace_days,
        "reset_spend_on_downgrade": "on" if tier.reset_spend_on_downgrade else "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""} | {k: "" for k, v in data.items() if v == ""}


# --- The ladder -------------------------------------------------------------------------------


def test_the_tiers_are_listed_by_rank_with_their_member_counts(admin_client, tiers):
    vip_member = enrol()
    spend(vip_member, 6_000_000, "sale:1", days_ago=1)
    enrol(), enrol()  # no status rows: in the entry tier

    page = admin_client.get(reverse("admin:tiers_tier_changelist")).content.decode()

    assert page.index("MEMBER") < page.index("VIP") < page.index("DIAMOND")
    status_list = reverse("admin:tiers_tierstatus_changelist")
    assert f'<a href="{status_list}?tier__id__exact={tiers["MEMBER"].pk}">2</a>' in page
    assert f'<a href="{status_list}?tier__id__exact={tiers["VIP"].pk}">1</a>' in page
    assert f'<a href="{status_list}?tier__id__exact={tiers["DIAMOND"].pk}">0</a>' in page
    assert reverse("admin:tiers_tier_recompute") in page


@pytest.mark.parametrize(
    ("code", "changes", "field"),
    [
        ("VIP", {"threshold": "25000000"}, "threshold"),  # above DIAMOND's 20,000,000
        ("MEMBER", {"threshold": "100"}, "threshold"),  # the entry tier starts at 0
        ("MEMBER", {"retention_spend": "1000", "retention_months": "12"}, "retention_spend"),
        ("VIP", {"retention_months": ""}, None),  # a retention spend without its period
        ("VIP", {"earn_rate_percent": "150"}, "earn_rate_percent"),
        ("VIP", {"rank": "30"}, "rank"),  # DIAMOND's
    ],
)
def test_an_invalid_tier_is_refused_in_the_admin_and_nothing_is_written(admin_client, tiers, code, changes, field):
    tier = tiers[code]
    before = written_state()

    response = admin_client.post(reverse("admin:tiers_tier_change", args=[tier.pk]), tier_form(tier, **changes))

    assert response.status_code == 200  # the form again, with the error
    errors = response.context["adminform"].form.errors
    assert errors
    if field:
        assert field in errors or "__all__" in errors
    assert written_state() == before


def test_a_new_tier_between_two_others_is_added_through_the_service(admin_client, tiers):
    gold = Tier(
        code="GOLD",
        name="Vàng",
        name_en="Gold",
        rank=25,
        threshold=Decimal(10_000_000),
        earn_rate_percent=Decimal(11),
        retention_spend=Decimal(15_000_000),
        retention_months=12,
        on_failure=Tier.OnFailure.ONE_DOWN,
        reset_spend_on_downgrade=False,
    )
    response = admin_client.post(reverse("admin:tiers_tier_add"), tier_form(gold))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(Tier.objects.values_list("code", flat=True)) == ["MEMBER", "VIP", "GOLD", "DIAMOND"]


def test_deleting_the_entry_tier_is_refused_and_deletes_nothing(admin_client, tiers):
    before = written_state()
    response = admin_client.post(
        reverse("admin:tiers_tier_delete", args=[tiers["MEMBER"].pk]), {"post": "yes"}, follow=True
    )
    assert response.status_code == 200
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    assert written_state() == before


def test_deleting_a_tier_members_are_in_is_refused_and_deletes_nothing(admin_client, tiers):
    spend(enrol(), 6_000_000, "sale:1", days_ago=1)
    before = written_state()
    response = admin_client.post(reverse("admin:tiers_tier_delete", args=[tiers["VIP"].pk]), {"post": "yes"})
    assert response.status_code == 200 and response.context["protected"]  # Django's "cannot delete" page
    bulk = admin_client.post(
        reverse("admin:tiers_tier_changelist"),
        {"action": "delete_selected", "_selected_action": [tiers["DIAMOND"].pk, tiers["VIP"].pk], "post": "yes"},
    )
    assert bulk.status_code == 200
    assert written_state() == before


def test_the_tier_settings_are_one_row_edited_through_the_service(admin_client, tiers):
    response = admin_client.get(reverse("admin:tiers_tiersettings_changelist"))
    assert response.status_code == 302
    response = admin_client.post(response.url, {"basis": "points", "window": "rolling", "window_months": "6"})
    assert response.status_code == 302
    settings_row = TierSettings.objects.get()
    assert (settings_row.basis, settings_row.window, settings_row.window_months) == ("points", "rolling", 6)
    assert settings_row.updated_by.username == "root"


# --- Read-only records ------------------------------------------------------------------------


def test_statuses_and_history_are_read_only_even_for_a_superuser(admin_client, tiers):
    member = enrol()
    spend(member, 6_000_000, "sale:1", days_ago=1)
    status = TierStatus.objects.get(member=member)
    change = TierChange.objects.get(member=member)
    before = written_state()

    assert admin_client.get(reverse("admin:tiers_tierstatus_add")).status_code == 403
    assert admin_client.get(reverse("admin:tiers_tierchange_add")).status_code == 403
    page = admin_client.get(reverse("admin:tiers_tierstatus_change", args=[status.pk])).content.decode()
    assert "tier-panel" in page and 'name="_save"' not in page
    assert admin_client.post(reverse("admin:tiers_tierchange_change", args=[change.pk]), {}).status_code == 403
    assert (
        admin_client.post(reverse("admin:tiers_tierchange_delete", args=[change.pk]), {"post": "yes"}).status_code
        == 403
    )
    history = admin_client.get(reverse("admin:tiers_tierchange_changelist") + f"?member__id__exact={member.pk}")
    assert history.status_code == 200 and "sale:1" in history.content.decode()
    assert written_state() == before


# --- A member's tier page ---------------------------------------------------------------------


def test_the_member_tier_page_explains_the_tier_even_without_a_status_row(manager_client, tiers):
    member = enrol()
    response = manager_client.get(reverse("admin:tiers_tierstatus_member", args=[member.pk]))
    assert response.status_code == 200
    assert "tier-panel" in response.content.decode()
    assert response.context["form"] is None  # a store manager only reads


def test_marketing_sets_a_tier_by_hand_from_the_member_page(marketing_client, tiers):
    member = enrol()
    url = reverse("admin:tiers_tierstatus_member", args=[member.pk])

    refused = marketing_client.post(url, {"tier": tiers["VIP"].pk, "reason": ""})
    assert refused.status_code == 200 and "reason" in refused.context["form"].errors
    assert not TierStatus.objects.filter(member=member).exists()

    done = marketing_client.post(url, {"tier": tiers["VIP"].pk, "reason": "Khách quen", "floor_until": ""})
    assert done.status_code == 302
    assert member_tier(member=member).code == "VIP"
    assert TierChange.objects.get(member=member).staff_user.username == "mkt"


def test_a_store_manager_cannot_set_a_tier(manager_client, tiers):
    member = enrol()
    before = written_state()
    response = manager_client.post(
        reverse("admin:tiers_tierstatus_member", args=[member.pk]), {"tier": tiers["VIP"].pk, "reason": "x"}
    )
    assert response.status_code == 403
    assert written_state() == before


def test_the_why_this_tier_panel_says_what_is_needed_and_by_when(tiers):
    member = enrol()
    spend(member, 6_000_000, "sale:1", days_ago=1)
    status = TierStatus.objects.get(member=member)
    with translation.override("en"):
        html = member_tier_panel(member)
    assert "VIP" in html
    assert "14,000,000 VND more to reach Diamond" in html
    assert f"Spend 10,000,000 VND more by {status.retention_deadline:%d/%m/%Y}" in html
    assert "sale:1" in html
    assert "<script" not in member_tier_panel(enrol(name="<script>alert(1)</script>"))


# --- Recompute --------------------------------------------------------------------------------


def test_the_recompute_preview_page_shows_the_counts_and_the_confirm_applies_them(marketing_client, tiers):
    member = enrol()
    spend(member, 3_000_000, "sale:1", days_ago=1)
    Tier.objects.filter(code="VIP").update(threshold=Decimal(2_000_000))  # as the admin would
    url = reverse("admin:tiers_tier_recompute")

    preview = marketing_client.get(url)
    assert preview.status_code == 200
    assert (preview.context["preview"].up, preview.context["preview"].down) == (1, 0)
    assert member_tier(member=member).code == "MEMBER"  # the preview wrote nothing

    not_confirmed = marketing_client.post(url, {})
    assert not_confirmed.status_code == 200 and member_tier(member=member).code == "MEMBER"

    done = marketing_client.post(url, {"confirm": "on"})
    assert done.status_code == 302
    assert member_tier(member=member).code == "VIP"
    assert TierChange.objects.get(member=member, kind=TierChange.Kind.RECOMPUTE).staff_user.username == "mkt"


def test_the_recompute_action_leads_to_the_preview(marketing_client, tiers):
    response = marketing_client.post(
        reverse("admin:tiers_tier_changelist"),
        {"action": "recompute_members", "_selected_action": [tiers["VIP"].pk]},
    )
    assert response.status_code == 302 and response.url == reverse("admin:tiers_tier_recompute")


def test_a_store_manager_sees_the_tiers_but_cannot_recompute(manager_client, tiers):
    assert manager_client.get(reverse("admin:tiers_tier_changelist")).status_code == 200
    assert manager_client.get(reverse("admin:tiers_tier_recompute")).status_code == 403
    assert manager_client.post(reverse("admin:tiers_tier_recompute"), {"confirm": "on"}).status_code == 403


def test_every_tiers_admin_page_renders(admin_client, tiers):
    member = enrol()
    spend(member, 6_000_000, "sale:1", days_ago=1)
    status = TierStatus.objects.get(member=member)
    pages = [
        reverse("admin:app_list", args=["tiers"]),
        reverse("admin:tiers_tier_changelist"),
        reverse("admin:tiers_tier_add"),
        reverse("admin:tiers_tier_change", args=[tiers["VIP"].pk]),
        reverse("admin:tiers_tiersettings_change", args=[TierSettings.objects.get().pk]),
        reverse("admin:tiers_tierstatus_changelist") + "?q=0998",
        reverse("admin:tiers_tierstatus_change", args=[status.pk]),
        reverse("admin:tiers_tierstatus_member", args=[member.pk]),
        reverse("admin:tiers_tierspend_changelist"),
        reverse("admin:tiers_tierchange_changelist"),
        reverse("admin:tiers_tierchange_change", args=[TierChange.objects.get().pk]),
        reverse("admin:tiers_tier_recompute"),
    ]
    for url in pages:
        assert admin_client.get(url).status_code == 200, url
