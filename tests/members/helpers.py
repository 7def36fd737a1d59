"""Assertions shared by the members and POS tests."""

from __future__ import annotations

import datetime

from django.utils import timezone

from members.models import Card, ConsentChange, LedgerEntry, LotMovement, Member, MemberMerge, PointLot
from members.selectors import ledger_drift
from members.services import programme_settings_update


def written_state() -> dict:
    """Everything the members app writes, to compare before and after a refusal."""
    return {
        "members": list(
            Member.objects.order_by("pk").values_list(
                "pk", "name", "phone", "email", "birthday", "status", "points_balance", "points_debt", "referred_by"
            )
        ),
        "cards": list(Card.objects.order_by("pk").values_list("pk", "member_id", "number", "is_active")),
        "entries": LedgerEntry.objects.count(),
        "lots": list(PointLot.objects.order_by("pk").values_list("pk", "member_id", "remaining")),
        "movements": LotMovement.objects.count(),
        "merges": MemberMerge.objects.count(),
        "consent_changes": ConsentChange.objects.count(),
        "consents": list(
            Member.objects.order_by("pk").values_list(
                "consent_sms_at", "consent_email_at", "consent_zalo_at", "consent_push_at"
            )
        ),
    }


def assert_ledger_consistent() -> None:
    drift = ledger_drift()
    assert drift == [], [str(d) for d in drift]


def days_ago(days: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


def set_programme(**data) -> None:
    programme_settings_update(data=data)
