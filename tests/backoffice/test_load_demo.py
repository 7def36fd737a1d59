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
    staff = get_user_model().objects.filter(username__in=["marketing", "manager"])
    assert {u.groups.get().name for u in staff} == {"Marketing", "Store manager"}
    assert "password" in out.getvalue().lower() or "mật khẩu" in out.getvalue().lower()
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
        "CHAOBAN-20K",
    }  # the last: CHAOBAN's (issue 16)
    assert set(Promotion.objects.values_list("code", flat=True)) >= {"GIO-VANG", "SINH-NHAT", "CAFE-SANG"}
    assert Sale.objects.count() > 300 and Sale.objects.filter(member__isnull=True).exists()
    from members.selectors import ledger_drift

    assert ledger_drift() == []

    before = {m._meta.label: m.objects.count() for m in (Brand, Store, get_user_model())}
    Store.objects.filter(code="PHO-HN01").update(name="Renamed by staff")
    call_command("load_demo", stdout=StringIO())
    assert {m._meta.label: m.objects.count() for m in (Brand, Store, get_user_model())} == before
    assert Store.objects.get(code="PHO-HN01").name == "Renamed by staff"
