"""The statements an enqueue costs, pinned at what they were measured at before single and bulk
enqueue shared one rule chain (`notifications.rules`): neither path may cost more. The bulk path
is set-based: the same few statements whatever the number of members (tiers' and campaigns'
tests check that too)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.models import Member
from notifications.models import Message
from notifications.services import message_enqueue, messages_enqueue_bulk
from tests.notifications.helpers import vn
from tests.notifications.test_enqueue_bulk import people, templates, tier_name  # noqa: F401 -- fixtures

pytestmark = pytest.mark.django_db

NOON = vn(2025, 6, 10, 12)
# PostgreSQL writes a batch with COPY on the driver's cursor, which Django does not count.
_COPY = 0 if connection.vendor == "sqlite" else 1
SINGLE = {"transactional": 16, "transactional, keyed": 20, "keyed again": 8, "marketing, keyed": 22,
          "marketing, no consent": 15}  # fmt: skip
BULK = {"transactional, keyed": 14 - _COPY, "marketing, keyed": 16 - _COPY, "marketing at night": 14 - _COPY,
        "keyed again": 12}  # fmt: skip


def _statements(call) -> int:
    with CaptureQueriesContext(connection) as queries:
        call()
    return len(queries)


def test_message_enqueue_costs_no_more_statements(templates, people):  # noqa: F811
    def enqueue(name, event, **kwargs):
        member = Member.objects.get(pk=people[name].pk)
        context = {"tier_name": "V"} if event == "tier-changed" else {"campaign_name": "V"}
        return lambda: message_enqueue(member=member, event=event, context=context, now=NOON, **kwargs)

    spent = {
        "transactional": _statements(enqueue("vi", "tier-changed")),
        "transactional, keyed": _statements(enqueue("en", "tier-changed", dedupe_key="a")),
        "keyed again": _statements(enqueue("en", "tier-changed", dedupe_key="a")),
        "marketing, keyed": _statements(enqueue("hanoi", "campaign", dedupe_key="c")),
        "marketing, no consent": _statements(enqueue("sms_only", "campaign")),
    }
    assert spent == SINGLE


def test_messages_enqueue_bulk_costs_no_more_statements(templates, people):  # noqa: F811
    ids = [member.pk for member in people.values()]

    def enqueue(event, **kwargs):
        return lambda: messages_enqueue_bulk(members=ids, event=event, **{"now": NOON, **kwargs})

    spent = {
        "transactional, keyed": _statements(enqueue("tier-changed", context_for=tier_name, dedupe_key="b")),
        "marketing, keyed": _statements(enqueue("campaign", context={"campaign_name": "V"}, dedupe_key="d")),
        "marketing at night": _statements(enqueue("birthday", context={"voucher_code": "V"}, now=vn(2025, 6, 10, 22))),
        "keyed again": _statements(enqueue("campaign", context={"campaign_name": "V"}, dedupe_key="d")),
    }
    assert spent == BULK
    assert Message.objects.filter(dedupe_key="d").count() > 0
