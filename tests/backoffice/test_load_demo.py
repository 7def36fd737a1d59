"""`load_demo`: the demo programme of demo-programme.md, every app's part composed on the top
floor, with the demo staff of each role."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from stores.models import Brand, Store


@pytest.mark.django_db
def test_load_demo_builds_the_demo_stores_and_changes_nothing_the_second_time():
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert set(Brand.objects.values_list("code", flat=True)) >= {"PHO", "CAFE"}
    assert set(Store.objects.values_list("code", flat=True)) >= {"PHO-HN01", "PHO-HCM01", "CAFE-HN01", "CAFE-DN01"}
    # The online shop of pos-api.md 1.2: its store, and how to make its key (shown once, so not made here).
    assert Store.objects.get(code="CAFE-ONLINE").brand.code == "CAFE"
    assert "create_terminal CAFE-ONLINE web --online" in out.getvalue()
    staff = get_user_model().objects.filter(username__in=["lead", "marketing", "manager"])
    assert {u.groups.get().name for u in staff} == {"Programme lead", "Marketing", "Store manager"}
    assert "password" in out.getvalue().lower() or "mật khẩu" in out.getvalue().lower()
    for username in ("lead", "marketing", "manager"):  # each printed, none with a fixed password
        assert f" {username} " in out.getvalue()
        assert not get_user_model().objects.get(username=username).check_password(username)
    # Every app's part (demo-programme.md): members, tiers, rewards, promotions, and a sales history.
    from campaigns.promotions.models import Promotion
    from members.models import Member
    from pos.models import Sale
    from tiers.models import Tier
    from vouchers.models import Reward

    assert Member.objects.count() == 200
    assert set(Tier.objects.values_list("code", flat=True)) == {"MEMBER", "VIP", "DIAMOND"}
    assert set(Reward.objects.values_list("code", flat=True)) == {
        "CASH50K",
        "PCT10",
        "CAFE-B2G1",
        "BDAY20",
        "CAFE-FREE",
        "CHAOBAN-20K",
    }  # the last two: CAFE-STAMP's and CHAOBAN's (issue 16)
    assert set(Promotion.objects.values_list("code", flat=True)) >= {"GIO-VANG", "SINH-NHAT", "CAFE-SANG"}
    assert Sale.objects.count() > 300 and Sale.objects.filter(member__isnull=True).exists()
    from members.selectors import ledger_drift

    assert ledger_drift() == []

    # Issue 16 (lane A): earn rules, the points cap and minimum, the stamp card.
    from campaigns.promotions.models import EarnRule
    from campaigns.stamps.models import StampCard
    from members.models import ProgrammeSettings

    assert dict(EarnRule.objects.values_list("code", "kind")) == {"ALCOHOL": "exclude", "MERCH": "rate"}
    programme = ProgrammeSettings.objects.get()
    assert (programme.redeem_max_percent, programme.redeem_min_points) == (50, 10)
    card = StampCard.objects.get(code="CAFE-STAMP")
    assert (card.brand.code, card.reward.code, card.stamps_needed, card.period_days) == ("CAFE", "CAFE-FREE", 5, 30)

    before = {m._meta.label: m.objects.count() for m in (Brand, Store, get_user_model(), EarnRule, StampCard)}
    Store.objects.filter(code="PHO-HN01").update(name="Renamed by staff")
    call_command("load_demo", stdout=StringIO())
    assert {m._meta.label: m.objects.count() for m in (Brand, Store, get_user_model(), EarnRule, StampCard)} == before
    assert Store.objects.get(code="PHO-HN01").name == "Renamed by staff"
