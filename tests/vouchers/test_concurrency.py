"""Real threads against the real database (PostgreSQL or SQLite): the locks and conditional
updates hold when two tills act at the same moment, and the losers change nothing."""

import time

import pytest
from django.db import transaction
from django.utils import timezone

from members.errors import InsufficientPoints
from members.models import LedgerEntry, Member
from tests.conftest import run_in_threads
from tests.factories import BrandFactory, MemberFactory, StoreFactory
from tests.vouchers.factories import RewardFactory
from tests.vouchers.helpers import assert_ledger_consistent, cart_of
from vouchers.errors import RewardUnavailable, VoucherUsed
from vouchers.models import Reward, Voucher
from vouchers.services import reward_redeem, voucher_check, voucher_issue, voucher_use

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def store():
    return StoreFactory(code="RACE-01", brand=BrandFactory(code="RACE"))


def exchanging(member, reward, store):
    """One member's exchange as each thread runs it (its own instance, its own reference)."""

    def exchange(index):
        return reward_redeem(member=Member.objects.get(pk=member.pk), reward=reward, store=store, reference=f"r{index}")

    return exchange


def test_one_voucher_used_from_two_tills_at_once_is_used_once(store):
    member = MemberFactory()
    voucher = voucher_issue(reward=RewardFactory(), member=member, channel=Voucher.Channel.CAMPAIGN)
    cart = cart_of(("PHO-BO", 2, 65_000, "pho"))

    def sell(index):
        # What the checkout does in its transaction: check, use, then finish writing the sale.
        with transaction.atomic():
            result = voucher_check(
                code=voucher.code, member=member, store=store, cart=cart, payable=cart.subtotal, at=timezone.now()
            )
            result.raise_if_refused()
            voucher_use(voucher=result.voucher, store=store, sale_reference=f"sale:{index}", at=timezone.now())
            time.sleep(0.2)  # the rest of the sale, while the row is held
        return f"sale:{index}"

    results = run_in_threads(2, sell)
    winners = [r for r in results if isinstance(r, str)]
    losers = [r for r in results if not isinstance(r, str)]
    assert len(winners) == 1, results
    assert len(losers) == 1 and isinstance(losers[0], VoucherUsed), results
    voucher.refresh_from_db()
    assert (voucher.status, voucher.used_sale_reference) == ("used", winners[0])


def test_bare_conditional_updates_race_and_one_wins(store):
    member = MemberFactory()
    voucher = voucher_issue(reward=RewardFactory(), member=member, channel=Voucher.Channel.CAMPAIGN)

    def use(index):
        fresh = Voucher.objects.get(pk=voucher.pk)
        return voucher_use(voucher=fresh, store=store, sale_reference=f"s{index}", at=timezone.now())

    results = run_in_threads(6, use)
    assert sum(isinstance(r, Voucher) for r in results) == 1, results
    assert sum(isinstance(r, VoucherUsed) for r in results) == 5, results


def test_exchanges_racing_for_the_last_items_never_oversell(store):
    reward = RewardFactory(points_cost=50, stock=2)
    members = [MemberFactory(points=100) for _ in range(6)]

    def exchange(index):
        return reward_redeem(member=members[index], reward=reward, store=store, reference=f"race:{index}")

    results = run_in_threads(len(members), exchange)
    won = [i for i, r in enumerate(results) if isinstance(r, Voucher)]
    lost = [i for i, r in enumerate(results) if not isinstance(r, Voucher)]
    assert len(won) == 2, results
    assert all(isinstance(results[i], RewardUnavailable) for i in lost), results
    assert all(results[i].extra["reason"] == "out-of-stock" for i in lost)
    reward.refresh_from_db()
    assert reward.issued_count == 2
    assert Voucher.objects.filter(reward=reward).count() == 2
    balances = dict(Member.objects.filter(pk__in=[m.pk for m in members]).values_list("pk", "points_balance"))
    for i in won:
        assert balances[members[i].pk] == 50
    for i in lost:
        assert balances[members[i].pk] == 100
        assert not LedgerEntry.objects.filter(member=members[i], kind="spend").exists()
    assert_ledger_consistent()


def test_one_member_exchanging_twice_at_once_cannot_overspend(store):
    member = MemberFactory(points=60)
    reward = RewardFactory(points_cost=50)
    results = run_in_threads(2, exchanging(member, reward, store))
    assert sum(isinstance(r, Voucher) for r in results) == 1, results
    assert sum(isinstance(r, InsufficientPoints) for r in results) == 1, results
    member.refresh_from_db()
    assert member.points_balance == 10
    assert Reward.objects.get(pk=reward.pk).issued_count == 1
    assert_ledger_consistent()


def test_the_per_member_limit_holds_under_a_race(store):
    member = MemberFactory(points=500)
    reward = RewardFactory(points_cost=10, limit_per_member=1)
    results = run_in_threads(4, exchanging(member, reward, store))
    assert sum(isinstance(r, Voucher) for r in results) == 1, results
    assert sum(isinstance(r, RewardUnavailable) for r in results) == 3, results
    member.refresh_from_db()
    assert member.points_balance == 490
    assert_ledger_consistent()
