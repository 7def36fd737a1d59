"""Promotions and customer groups through django-import-export, and the programme's
configuration (tiers, rewards, promotions) carried from one installation to an empty one."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.forms.models import model_to_dict

from campaigns.audiences.models import GroupMembership
from campaigns.audiences.resources import CustomerGroupResource
from campaigns.audiences.services import group_add_members, group_create
from campaigns.demo import demo_campaigns_load
from campaigns.promotions.models import Promotion
from campaigns.promotions.resources import PromotionResource
from campaigns.runs.models import Campaign
from campaigns.stamps.models import StampCard
from loyalty_site.core.models import ExportRecord
from stores.demo import demo_stores_load
from tests.export_helpers import (
    CSV,
    XLSX,
    as_dicts,
    export,
    headers,
    import_confirm,
    import_preview,
    rows_of,
    staff_client,
    xlsx_bytes,
)
from tests.factories import MemberFactory
from tiers.demo import demo_tiers_load
from tiers.models import Tier
from tiers.resources import TierResource
from vouchers.demo import demo_vouchers_load
from vouchers.models import Reward, SharedCode
from vouchers.resources import RewardResource

pytestmark = pytest.mark.django_db

CONFIGURATION = [("tiers.tier", Tier, TierResource), ("vouchers.reward", Reward, RewardResource),
                 ("campaigns.promotion", Promotion, PromotionResource)]  # fmt: skip
NOT_CARRIED = {"id", "created_at", "updated_at", "created_by", "issued_count"}


@pytest.fixture
def programme(db):
    cache.clear()
    demo_stores_load()
    demo_tiers_load()
    demo_vouchers_load()
    demo_campaigns_load()
    yield
    cache.clear()


def snapshot(model) -> dict[str, dict]:
    """Every carried field of every row, links by code."""
    state = {}
    for obj in model.objects.all():
        data = {k: v for k, v in model_to_dict(obj).items() if k not in NOT_CARRIED}
        for name in ("brands", "stores", "tiers"):
            if name in data:
                data[name] = sorted(o.code for o in data[name])
        state[obj.code] = data
    return state


def everything_staff(username="config"):
    actions = ("view", "add", "change", "import", "export")
    models = [model._meta for _label, model, _resource in CONFIGURATION]
    perms = [f"{opts.app_label}.{action}_{opts.model_name}" for opts in models for action in actions]
    return staff_client(*perms, username=username)


def test_promotions_export_with_their_links_by_code(programme):
    client, _user = staff_client("campaigns.view_promotion", "campaigns.export_promotion")

    rows = as_dicts(rows_of(export(client, "campaigns.promotion", PromotionResource, XLSX)))

    head = headers(PromotionResource)
    by_code = {row[head["code"]]: row for row in rows}
    assert set(by_code) == set(Promotion.objects.values_list("code", flat=True))
    for promotion in Promotion.objects.all():
        assert (by_code[promotion.code][head["tiers"]] or "") == ",".join(sorted(t.code for t in promotion.tiers.all()))
    assert ExportRecord.objects.get().model == "campaigns.promotion"


def test_an_unknown_tier_code_refuses_the_promotion_import(programme):
    client, _user = everything_staff()
    head = headers(PromotionResource)
    content = xlsx_bytes([
        [head["code"], head["name"], head["kind"], head["bonus_points"], head["tiers"]],
        ["BONUS-NEW", "Thưởng", "bonus_points", 100, "VIP,GOLD"],
    ])  # fmt: skip
    before = snapshot(Promotion)

    preview = import_preview(client, "campaigns.promotion", content)

    [invalid] = preview.context["result"].invalid_rows
    assert "GOLD" in " ".join(invalid.error.message_dict["tiers"])
    assert "confirm_form" not in preview.context
    assert snapshot(Promotion) == before


def test_a_promotion_is_imported_through_its_service(programme):
    client, user = everything_staff()
    head = headers(PromotionResource)
    content = xlsx_bytes([
        [head["code"], head["name"], head["kind"], head["multiplier"], head["tiers"], head["weekdays"]],
        ["X3-VIP", "Nhân 3 điểm", "earn_multiplier", 3, "VIP,DIAMOND", "76"],
    ])  # fmt: skip

    import_confirm(client, "campaigns.promotion", import_preview(client, "campaigns.promotion", content))

    promotion = Promotion.objects.get(code="X3-VIP")
    assert promotion.created_by == user
    assert promotion.weekdays == "67"  # normalised by the model's clean, as in the admin
    assert sorted(promotion.tiers.values_list("code", flat=True)) == ["DIAMOND", "VIP"]


def test_the_customer_group_list_exports_its_sizes(db):
    group = group_create(name="=Khách VIP", description="")
    group_add_members(group=group, members=[MemberFactory(), MemberFactory()], source=GroupMembership.Source.OTHER)
    group_create(name="Khách mới", description="")
    client, _user = staff_client("campaigns.view_customergroup", "campaigns.export_customergroup")

    rows = as_dicts(rows_of(export(client, "campaigns.customergroup", CustomerGroupResource, CSV), CSV))

    head = headers(CustomerGroupResource)
    assert {row[head["name"]]: row[head["member_count"]] for row in rows} == {"'=Khách VIP": "2", "Khách mới": "0"}


def test_the_customer_group_export_is_refused_without_its_permission(db):
    group_create(name="Khách mới")
    client, _user = staff_client("campaigns.view_customergroup")

    assert export(client, "campaigns.customergroup", CustomerGroupResource, XLSX).status_code == 403
    assert not ExportRecord.objects.exists()


@pytest.mark.parametrize("fmt", [XLSX, CSV])
def test_the_configuration_of_one_installation_imports_cleanly_into_an_empty_one(programme, fmt):
    client, _user = everything_staff()
    files = {label: export(client, label, resource, fmt).content for label, _m, resource in CONFIGURATION}
    expected = {label: snapshot(model) for label, model, _r in CONFIGURATION}
    assert all(expected.values())
    # The empty installation: the same stores, no tiers, rewards or promotions (nor the demo's
    # scheduled campaigns and stamp cards that name a reward).
    Campaign.objects.all().delete()
    StampCard.objects.all().delete()
    Promotion.objects.all().delete()
    SharedCode.objects.all().delete()  # CHAOBAN names a reward (issue 16)
    Reward.objects.all().delete()
    Tier.objects.all().delete()

    for label, _model, _resource in CONFIGURATION:  # tiers first: promotions name them
        name = f"config.{'xlsx' if fmt == XLSX else 'csv'}"
        preview = import_preview(client, label, files[label], name=name, fmt=fmt)
        assert "confirm_form" in preview.context, (
            preview.context["form"].errors,
            [(row.number, row.error.message_dict) for row in preview.context["result"].invalid_rows],
            [(n, [str(e.error) for e in errs]) for n, errs in preview.context["result"].row_errors()],
        )
        assert import_confirm(client, label, preview).status_code == 302

    assert {label: snapshot(model) for label, model, _r in CONFIGURATION} == expected
