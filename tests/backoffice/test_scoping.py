"""A store manager sees, adjusts and exports the members of their own stores and brands only
(risk.md "Staff"; the rule in backoffice/scoping.py): lists, change pages by URL, actions on a
crafted POST, exports, the autocomplete endpoint and foreign-key choices."""

import io

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from backoffice.models import StaffProfile
from backoffice.roles import STORE_MANAGER
from backoffice.scoping import SCOPE_PATHS, UNSCOPED, members_visible
from loyalty_site.core.models import ExportRecord
from members.models import Card, LedgerEntry, Member, PointsAdjustment
from members.services import card_issue, points_adjustment_request
from pos.models import Sale
from stores.models import Brand, Store
from stores.services import terminal_create
from tests.factories import BrandFactory, MemberFactory, StoreFactory

pytestmark = pytest.mark.django_db

MEMBERS = reverse("admin:members_member_changelist")


@pytest.fixture
def world(django_user_model):
    pho, cafe = BrandFactory(code="PHO"), BrandFactory(code="CAFE")
    pho_store, cafe_store = StoreFactory(code="PHO-1", brand=pho), StoreFactory(code="CAFE-1", brand=cafe)
    ours = MemberFactory(name="Khách Phở", home_store=pho_store, points=100)
    theirs = MemberFactory(name="Khách Cà Phê", home_store=cafe_store, points=100)
    card_issue(member=ours, number="PHO0001")
    card_issue(member=theirs, number="CAFE0001")
    manager = django_user_model.objects.create_user("manager", password="pw-for-tests-only", is_staff=True)
    manager.groups.add(Group.objects.get(name=STORE_MANAGER))
    StaffProfile.objects.create(user=manager).brands.set([pho])
    return {"ours": ours, "theirs": theirs, "pho": pho_store, "cafe": cafe_store, "manager": manager}


@pytest.fixture
def manager_client(client, world):
    client.force_login(world["manager"])
    return client


def listed(response):
    return {obj.pk for obj in response.context["cl"].result_list}


def member_state():
    return list(Member.objects.order_by("pk").values_list("pk", "status", "points_balance", "phone"))


def test_the_member_list_and_the_ledger_show_their_brand_only(manager_client, world):
    assert listed(manager_client.get(MEMBERS)) == {world["ours"].pk}
    entries = listed(manager_client.get(reverse("admin:members_ledgerentry_changelist")))
    assert entries == set(LedgerEntry.objects.filter(member=world["ours"]).values_list("pk", flat=True)) != set()
    cards = listed(manager_client.get(reverse("admin:members_card_changelist")))
    assert cards == set(Card.objects.filter(member=world["ours"]).values_list("pk", flat=True))


def test_a_member_who_bought_in_their_store_is_theirs_too(world):
    terminal, _key = terminal_create(store=world["pho"], name="Quầy 1")
    Sale.objects.create(
        store=world["pho"], terminal=terminal, member=world["theirs"], receipt_number="R1",
        occurred_at=timezone.now(), tier_code="", tier_after_code="",
    )  # fmt: skip
    assert set(members_visible(world["manager"])) == {world["ours"], world["theirs"]}


def test_another_brands_member_by_url_id_is_not_found(manager_client, world):
    theirs = world["theirs"]
    response = manager_client.get(reverse("admin:members_member_change", args=[theirs.pk]))
    assert response.status_code == 302 and response.url == reverse("admin:index")
    assert theirs.name not in manager_client.get(response.url).content.decode()
    card = Card.objects.get(member=theirs)
    assert manager_client.get(reverse("admin:members_card_change", args=[card.pk])).status_code == 302
    assert manager_client.get(reverse("admin:members_member_change", args=[world["ours"].pk])).status_code == 200


def test_another_brands_member_cannot_be_adjusted(manager_client, world):
    theirs = world["theirs"]
    url = reverse("admin:members_member_adjust_points", args=[theirs.pk])
    before = member_state()
    assert manager_client.get(url).status_code == 404
    response = manager_client.post(
        url, {"points": "100", "reason": "x", "token": "6f1c3c1e-7d0b-4a55-8d7c-2f0f7d7c9a11"}
    )
    assert response.status_code == 404
    assert member_state() == before
    assert not PointsAdjustment.objects.exists()


def test_an_action_on_a_crafted_post_leaves_another_brands_member_alone(manager_client, world):
    before = member_state()
    manager_client.post(MEMBERS, {"action": "block_members", "_selected_action": [world["theirs"].pk]})
    assert member_state() == before
    manager_client.post(MEMBERS, {"action": "block_members", "_selected_action": [world["ours"].pk]})
    assert Member.objects.get(pk=world["ours"].pk).status == "blocked"


def test_the_export_action_exports_their_members_only_and_is_recorded(manager_client, world):
    response = manager_client.post(
        MEMBERS, {"action": "export_members_action", "_selected_action": [world["ours"].pk, world["theirs"].pk]}
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    names = {row[2] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert names == {"Khách Phở"}
    record = ExportRecord.objects.get()
    assert (record.user, record.model, record.rows, record.file_format) == (
        world["manager"],
        "members.member",
        1,
        "xlsx",
    )
    assert "selected=2" in record.filters


def test_the_export_page_exports_their_members_only_and_is_recorded(manager_client, world):
    response = manager_client.post(reverse("admin:campaigns_memberimport_export"), {"format": "csv", "group": ""})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "Khách Phở" in body and "Khách Cà Phê" not in body
    record = ExportRecord.objects.get()
    assert (record.user, record.rows, record.file_format) == (world["manager"], 1, "csv")


def test_the_autocomplete_endpoint_offers_their_members_only(manager_client, world):
    response = manager_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "members", "model_name": "card", "field_name": "member", "term": "Khách"},
    )
    assert response.status_code == 200
    assert {int(r["id"]) for r in response.json()["results"]} == {world["ours"].pk}


def test_a_card_cannot_be_issued_to_another_brands_member_by_a_crafted_post(manager_client, world):
    response = manager_client.post(
        reverse("admin:members_card_add"), {"member": world["theirs"].pk, "number": "EVIL0001"}
    )
    assert response.status_code == 200 and response.context["adminform"].form.errors["member"]
    assert not Card.objects.filter(number="EVIL0001").exists()


def test_sales_and_terminals_follow_their_store(manager_client, world):
    ours, _ = terminal_create(store=world["pho"], name="Quầy 1")
    theirs, _ = terminal_create(store=world["cafe"], name="Quầy 1")
    assert listed(manager_client.get(reverse("admin:stores_terminal_changelist"))) == {ours.pk}
    for terminal, member in ((ours, world["ours"]), (theirs, world["theirs"])):
        Sale.objects.create(
            store=terminal.store, terminal=terminal, member=member, receipt_number="R1",
            occurred_at=timezone.now(), tier_code="", tier_after_code="",
        )  # fmt: skip
    assert listed(manager_client.get(reverse("admin:pos_sale_changelist"))) == set(
        Sale.objects.filter(store=world["pho"]).values_list("pk", flat=True)
    )


def test_a_manager_without_a_profile_sees_no_member(client, world, django_user_model):
    newcomer = django_user_model.objects.create_user("new", password="pw-for-tests-only", is_staff=True)
    newcomer.groups.add(Group.objects.get(name=STORE_MANAGER))
    client.force_login(newcomer)
    assert listed(client.get(MEMBERS)) == set()


def test_the_adjustments_list_shows_their_members_only(manager_client, world, django_user_model):
    boss = django_user_model.objects.create_superuser("boss", password="pw-for-tests-only")
    points_adjustment_request(member=world["theirs"], points=900, reason="x", requested_by=boss)
    mine = points_adjustment_request(member=world["ours"], points=900, reason="y", requested_by=world["manager"])
    assert listed(manager_client.get(reverse("admin:members_pointsadjustment_changelist"))) == {mine.pk}


def test_every_model_linked_to_a_member_or_a_store_has_a_scope():
    targets = {Member, Store, Brand}
    ours = {"core", "stores", "members", "notifications", "tiers", "vouchers", "memberships", "campaigns", "pos",
            "backoffice"}  # fmt: skip
    missing = []
    for model in apps.get_models():
        label = model._meta.label_lower
        if model._meta.app_label not in ours or label in SCOPE_PATHS:
            continue
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model in targets and f"{label}.{field.name}" not in UNSCOPED:
                missing.append(f"{label}.{field.name}")
    assert missing == []
