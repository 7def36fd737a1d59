"""The store-credit ledger (`members.services.credit`): append-only entries, a cached balance
that equals their sum and never goes below zero, idempotent references, refusals that write
nothing, and `check_ledger` seeing any drift."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from loyalty_site.core.errors import ValidationFailed
from members.errors import InsufficientStoreCredit, LedgerReferenceReused, MemberBlocked, ReversalNotAllowed
from members.models import Member, StoreCreditEntry
from members.selectors import store_credit_drift
from members.services import (
    member_block,
    store_credit_adjust,
    store_credit_earn,
    store_credit_reverse,
    store_credit_spend,
)
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return get_user_model().objects.create_user("credit-staff", is_staff=True)


def balance(member) -> Decimal:
    return Member.objects.get(pk=member.pk).store_credit_balance


def test_earn_spend_and_balance_after(staff):
    member = MemberFactory()
    store_credit_earn(member=member, amount=Decimal("1900"), reference="sale:1:credit-earn")
    entry = store_credit_spend(member=member, amount=Decimal("900.50"), reference="sale:2:credit-redeem")
    assert (entry.kind, entry.amount, entry.balance_after) == ("spend", Decimal("-900.50"), Decimal("999.50"))
    assert balance(member) == member.store_credit_balance == Decimal("999.50")
    assert store_credit_drift() == []


def test_the_same_reference_posts_once_and_a_reuse_is_refused():
    member = MemberFactory()
    first = store_credit_earn(member=member, amount=Decimal(500), reference="sale:1:credit-earn")
    again = store_credit_earn(member=member, amount=Decimal(500), reference="sale:1:credit-earn")
    assert first.pk == again.pk and balance(member) == Decimal(500)
    with pytest.raises(LedgerReferenceReused):
        store_credit_earn(member=member, amount=Decimal(600), reference="sale:1:credit-earn")
    assert StoreCreditEntry.objects.count() == 1


def test_a_spend_beyond_the_balance_is_refused_and_writes_nothing():
    member = MemberFactory()
    store_credit_earn(member=member, amount=Decimal(1000), reference="e1")
    with pytest.raises(InsufficientStoreCredit):
        store_credit_spend(member=member, amount=Decimal("1000.01"), reference="s1")
    assert balance(member) == Decimal(1000)
    assert StoreCreditEntry.objects.count() == 1


@pytest.mark.parametrize("amount", [Decimal(0), Decimal(-5), Decimal("0.001"), "x", True])
def test_amounts_must_be_positive_with_two_decimals_at_most(amount):
    member = MemberFactory()
    with pytest.raises(ValidationFailed):
        store_credit_earn(member=member, amount=amount, reference="bad")
    assert not StoreCreditEntry.objects.exists()


def test_a_blocked_member_neither_earns_nor_spends_but_staff_may_adjust(staff):
    member = MemberFactory()
    store_credit_earn(member=member, amount=Decimal(1000), reference="e1")
    member_block(member=member, reason="Check", changed_by=staff)
    with pytest.raises(MemberBlocked):
        store_credit_spend(member=member, amount=Decimal(10), reference="s1")
    with pytest.raises(MemberBlocked):
        store_credit_earn(member=member, amount=Decimal(10), reference="e2")
    store_credit_adjust(member=member, amount=Decimal(-1000), reason="Closing", created_by=staff)
    assert balance(member) == 0


def test_adjustments_need_a_reason_and_never_go_below_zero(staff):
    member = MemberFactory()
    with pytest.raises(ValidationFailed) as refused:
        store_credit_adjust(member=member, amount=Decimal(100), reason="  ", created_by=staff)
    assert "reason" in refused.value.errors
    with pytest.raises(InsufficientStoreCredit):
        store_credit_adjust(member=member, amount=Decimal(-1), reason="Oops", created_by=staff)
    assert not StoreCreditEntry.objects.exists()
    entry = store_credit_adjust(member=member, amount=Decimal(250), reason="Goodwill", created_by=staff)
    assert (entry.kind, entry.created_by, entry.reason) == ("adjustment", staff, "Goodwill")


def test_reversals_give_back_spends_and_take_back_earnings_never_below_zero():
    member = MemberFactory()
    earned = store_credit_earn(member=member, amount=Decimal(1000), reference="e1")
    spent = store_credit_spend(member=member, amount=Decimal(800), reference="s1")
    back = store_credit_reverse(entry=spent, amount=Decimal(300), reference="r1:credit-redeem")
    assert (back.kind, back.amount, balance(member)) == ("refund-return", Decimal(300), Decimal(500))
    taken = store_credit_reverse(entry=earned, reference="r1:credit-earn")
    assert (taken.kind, taken.amount, taken.amount_not_recovered) == ("refund-reverse", Decimal(-500), Decimal(500))
    assert balance(member) == 0
    with pytest.raises(ReversalNotAllowed):
        store_credit_reverse(entry=earned, amount=Decimal(1), reference="r2:credit-earn")
    with pytest.raises(ReversalNotAllowed):
        store_credit_reverse(entry=spent, amount=Decimal(501), reference="r2:credit-redeem")
    assert store_credit_drift() == []


def test_the_database_refuses_a_negative_balance():
    member = MemberFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.filter(pk=member.pk).update(store_credit_balance=Decimal(-1))


def test_check_ledger_reports_store_credit_drift(capsys):
    member = MemberFactory()
    store_credit_earn(member=member, amount=Decimal(1000), reference="e1")
    call_command("check_ledger")
    Member.objects.filter(pk=member.pk).update(store_credit_balance=Decimal(1200))  # drift, on purpose
    with pytest.raises(CommandError):
        call_command("check_ledger")
    out = capsys.readouterr().out
    assert f"store credit #{member.pk}" in out
    assert [(d.what, d.object_id, d.cached, d.expected) for d in store_credit_drift()] == [
        ("store credit", member.pk, Decimal(1200), Decimal(1000))
    ]
