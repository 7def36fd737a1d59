"""Fixtures of the member pages' tests: the sign-in code's SMS texts and reading a code back
from the outbox, as a person reads it from their phone; two brands with a store each, members of
the Phở brand with points (through the ledger service), and a catalogue across both brands."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from campaigns.audiences.services import group_add_members, group_create
from campaigns.runs.models import Campaign
from campaigns.runs.services import campaign_activate, campaign_run, campaign_save
from notifications.models import Event, Message, MessageTemplate
from notifications.services import template_save
from tests.factories import BrandFactory, MemberFactory, StoreFactory
from tests.vouchers.factories import RewardFactory


@pytest.fixture
def sign_in_templates(db):
    for language, body in (("vi", "Mã đăng nhập: {one_time_code}"), ("en", "Sign-in code: {one_time_code}")):
        template_save(template=MessageTemplate(event="sign-in-code", channel="sms", language=language, body=body))


@pytest.fixture
def member(pho_store):
    return MemberFactory(phone="+84912345678", name="Trần Thị Mai", points=500, home_store=pho_store)


def last_code(phone: str) -> str:
    """The code in the last sign-in message to `phone` (E.164)."""
    message = Message.objects.filter(event="sign-in-code", recipient=phone).order_by("-pk").first()
    assert message is not None, f"no sign-in message to {phone}"
    return re.search(r"\b(\d{6})\b", message.body).group(1)


@pytest.fixture(autouse=True)
def _fresh_programme_settings_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def pho_store(db):
    return StoreFactory(code="PHO-HN01", name="Phở Hà Thành Hoàn Kiếm", brand=BrandFactory(code="PHO", name="Phở"))


@pytest.fixture
def cafe_store(db):
    return StoreFactory(code="CAFE-HN01", name="Cà Phê Sớm Ba Đình", brand=BrandFactory(code="CAFE", name="Cà Phê"))


@pytest.fixture
def other_member(pho_store):
    return MemberFactory(points=500, home_store=pho_store)


@pytest.fixture
def catalogue(pho_store, cafe_store):
    """PHO100 (Phở, 100 points, stock 5), ANY300 (everywhere, 300), BIG900 (Phở, 900: too dear),
    CAFE50 (Cà Phê only), SECRET (hidden)."""
    return {
        "PHO100": RewardFactory(
            code="PHO100", name="Giảm 50.000 đ", points_cost=100, stock=5, brands=[pho_store.brand]
        ),
        "ANY300": RewardFactory(code="ANY300", name="Giảm 150.000 đ", points_cost=300),
        "BIG900": RewardFactory(code="BIG900", name="Giảm 500.000 đ", points_cost=900, brands=[pho_store.brand]),
        "CAFE50": RewardFactory(code="CAFE50", name="Cà phê miễn phí", points_cost=50, brands=[cafe_store.brand]),
        "SECRET": RewardFactory(code="SECRET", name="Quà bí mật", points_cost=10, is_visible=False),
    }


@pytest.fixture
def staff_user(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(username="cskh1", password="x", is_staff=True)


@pytest.fixture
def campaign(member, other_member):
    """QUA-LINK, run: its voucher (GIFT, hidden) reaches `member` and `other_member` by claim link."""
    group = group_create(name="Khách nhận quà")
    group_add_members(group=group, members=[member, other_member], source="admin")
    campaign = campaign_save(
        campaign=Campaign(
            code="QUA-LINK",
            name="Quà qua liên kết",
            group=group,
            reward=RewardFactory(code="GIFT", name="Quà tặng 30.000 đ", is_visible=False),
            voucher_delivery=Campaign.VoucherDelivery.CLAIM_LINK,
            notification_event=Event.CAMPAIGN,
            once_per=Campaign.OncePer.EVER,
        )
    )
    campaign_activate(campaign=campaign)
    campaign_run(campaign=campaign)
    return campaign
