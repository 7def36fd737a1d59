"""Fixtures of the tiers tests: the demo ladder, members enrolled through the members service,
and local times (the programme's zone, Asia/Ho_Chi_Minh)."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils import timezone

from members.models import Member
from members.services import member_enrol
from notifications.models import Message, MessageTemplate
from notifications.services import template_save
from tiers.demo import demo_tiers_load
from tiers.models import Tier, TierChange, TierSettings, TierSpend, TierStatus
from tiers.selectors import local_today, start_of_day
from tiers.services import tier_spend_record

_phones = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def tiers(db) -> dict[str, Tier]:
    """The demo ladder: MEMBER 5 %, VIP from 5,000,000 VND at 10 %, DIAMOND from 20,000,000 VND
    at 12 %."""
    demo_tiers_load()
    return {tier.code: tier for tier in Tier.objects.all()}


def enrol(*, days_ago: int = 800, name: str = "Nguyễn Thị Lan", email: str = "") -> Member:
    """A member enrolled `days_ago` days ago (so that back-dated sales count)."""
    n = next(_phones)
    return member_enrol(
        name=name,
        phone=f"+8498{n:07d}",
        email=email,
        channel=Member.Channel.ADMIN,
        enrolled_at=start_of_day(local_today() - datetime.timedelta(days=days_ago)),
        consents={"email": True, "sms": True},
        consent_source="staff",
    )


@pytest.fixture
def member(tiers) -> Member:
    return enrol()


@pytest.fixture
def tier_changed_template(db) -> MessageTemplate:
    """An email text for `tier-changed`, so that tier changes write outbox messages."""
    return template_save(
        template=MessageTemplate(
            event="tier-changed",
            channel="email",
            language="vi",
            subject="Hạng thành viên mới",
            body="Chào {member_name}, hạng thành viên của bạn bây giờ là {tier_name}.",
        )
    )


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user(username="marketing-1", password="x", is_staff=True)


def tier_messages(member: Member | None = None) -> list[Message]:
    messages = Message.objects.filter(event="tier-changed").order_by("pk")
    return list(messages.filter(member=member) if member is not None else messages)


def written_state() -> dict:
    """Everything the tiers app writes, to compare before and after a refusal."""
    return {
        "tiers": list(Tier.objects.order_by("pk").values()),
        "settings": list(TierSettings.objects.values()),
        "statuses": list(TierStatus.objects.order_by("pk").values()),
        "spends": list(TierSpend.objects.order_by("pk").values()),
        "changes": list(TierChange.objects.order_by("pk").values()),
        "messages": Message.objects.count(),
    }


def spend(member: Member, amount: int, reference: str, days_ago: int = 0, hour: int = 12, **kwargs):
    return tier_spend_record(
        member=member, amount=Decimal(amount), reference=reference, occurred_at=local_at(days_ago, hour), **kwargs
    )


def local_at(days_ago: int, hour: int = 12) -> datetime.datetime:
    """Noon (by default) in the programme's zone, `days_ago` days before today; for today, a
    minute ago at the latest (services refuse times in the future), and never before today's
    midnight: in the first minute of a day, "a minute ago" is yesterday (the 23:55 clock run of
    CI crosses midnight), so it is halfway between midnight and now instead."""
    now = timezone.now()
    day = start_of_day(local_today() - datetime.timedelta(days=days_ago))
    latest = now - datetime.timedelta(minutes=1)
    if days_ago == 0 and latest < day:
        latest = day + (now - day) / 2
    return min(day + datetime.timedelta(hours=hour), latest)


def vnd(value: int | str) -> Decimal:
    return Decimal(value)
