"""The demo programme's configuration (demo-programme.md), built by the same loaders as
`load_demo`, without its 200 members and sales history: end-to-end POS tests run against it."""

import datetime
import json
import zoneinfo

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns.demo import demo_campaigns_load
from campaigns.promotions.models import Promotion
from campaigns.promotions.services import promotions_set_active
from members.demo import DEMO_SETTINGS
from members.services import programme_settings_update
from notifications.demo import demo_notifications_load
from stores.demo import demo_stores_load
from stores.models import Store
from stores.services import terminal_create
from tiers.demo import demo_tiers_load
from vouchers.demo import demo_vouchers_load

HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def demo_programme(db):
    cache.clear()
    demo_stores_load()
    # The spending tests here predate proof of presence (tests/pos/test_presence.py runs the
    # demo's "above 100 points"): points are spent without a token or code.
    programme_settings_update(data={**DEMO_SETTINGS, "presence_proof": "never"})
    demo_notifications_load()
    demo_tiers_load()
    demo_vouchers_load()
    demo_campaigns_load()
    # TET-X2 doubles points on the 6 days around Tết: the expectations here are those of any other
    # day, so it is switched off (tests/campaigns/test_calendar.py and the quote property test
    # cover promotions on a date schedule).
    promotions_set_active(promotions=Promotion.objects.filter(code="TET-X2"), active=False)
    yield
    cache.clear()


def till(store_code: str, name: str = "Quầy 1") -> APIClient:
    _, key = terminal_create(store=Store.objects.get(code=store_code), name=name)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def cafe(demo_programme) -> APIClient:
    return till("CAFE-HN01")


@pytest.fixture
def pho(demo_programme) -> APIClient:
    return till("PHO-HN01")


def post(client, path, body, key=None, **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(path, data=json.dumps(body, default=str), content_type="application/json", **headers, **extra)


def local(days_ago: int, hour: int, minute: int = 0) -> datetime.datetime:
    """A moment `days_ago` days back at hour:minute in Ho Chi Minh City time."""
    day = timezone.localtime(timezone.now(), HCM).date() - datetime.timedelta(days=days_ago)
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=HCM)


def last_weekday_at(weekdays: set[int], hour: int, minute: int = 0) -> datetime.datetime:
    """The latest past moment within 6 days that falls on one of `weekdays` (0 = Monday) at
    hour:minute local time."""
    now = timezone.now()
    for back in range(0, 7):
        moment = local(back, hour, minute)
        if moment.weekday() in weekdays and moment < now:
            return moment
    raise AssertionError("no such moment in the last week")


def problem(response, code):
    assert response["Content-Type"] == "application/problem+json", response.content
    body = response.json()
    assert body["type"].endswith(f"/{code}"), body
    assert body["status"] == response.status_code
    return body
