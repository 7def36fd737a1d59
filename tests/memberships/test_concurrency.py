"""Two sells for one member at once, with real threads (PostgreSQL; issue 17 item 4): the same
idempotency key adds one period, two keys add two periods one after the other."""

import json

import pytest
from rest_framework.test import APIClient

from memberships.demo import demo_memberships_load
from memberships.models import PaidMembership
from stores.models import Store
from stores.services import terminal_create
from tests.conftest import run_in_threads
from tests.factories import MemberFactory
from tests.memberships.conftest import MEMBERSHIPS
from tests.pos.conftest import demo_programme  # noqa: F401 -- the demo fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture
def setup(demo_programme):  # noqa: F811
    demo_memberships_load()
    _terminal, key = terminal_create(store=Store.objects.get(code="PHO-HN01"), name="Quầy race")
    return key, MemberFactory()


def _sell(key: str, member_id: int, idempotency_key: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client.post(
        MEMBERSHIPS.format(id=member_id),
        data=json.dumps({"plan": "CLUB"}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=idempotency_key,
    )


def test_the_same_key_twice_at_once_adds_one_period(setup):
    key, member = setup
    results = run_in_threads(2, lambda i: _sell(key, member.pk, "same"))
    statuses = sorted(getattr(r, "status_code", repr(r)) for r in results)
    assert all(status in (201, 409) for status in statuses), statuses
    assert 201 in statuses
    assert PaidMembership.objects.filter(member=member).count() == 1
    bodies = {r.content for r in results if r.status_code == 201}
    assert len(bodies) == 1  # the loser replays the winner's response byte for byte


def test_two_keys_at_once_add_two_consecutive_periods(setup):
    key, member = setup
    results = run_in_threads(2, lambda i: _sell(key, member.pk, f"key-{i}"))
    assert [getattr(r, "status_code", repr(r)) for r in results] == [201, 201]
    first, second = PaidMembership.objects.filter(member=member).order_by("started_at")
    assert second.started_at == first.ends_at
    assert {first.pk, second.pk} == {r.json()["id"] for r in results}
