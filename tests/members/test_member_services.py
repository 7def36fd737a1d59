"""Member records: enrol, update, consent, block / unblock, cards, merge. Every refusal leaves
nothing written."""

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from loyalty_site.core.errors import ValidationFailed
from members.codes import ALPHABET
from members.errors import MemberExists, MemberMerged
from members.models import Card, LedgerEntry, Member, MemberMerge
from members.selectors import member_by_referral_code, member_get, member_lookup
from members.services import (
    card_deactivate,
    card_issue,
    card_replace,
    member_block,
    member_consent_set,
    member_enrol,
    member_merge,
    member_review_clear,
    member_unblock,
    member_update,
    points_earn,
    points_spend,
)
from tests.factories import MemberFactory, StoreFactory
from tests.members.helpers import assert_ledger_consistent, days_ago, written_state

pytestmark = pytest.mark.django_db

TOMORROW = object()  # a parameter for the local date of tomorrow, taken when the test runs


def tomorrow() -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=1)


def enrol(**overrides):
    data = {"name": "Trần Thị Mai", "phone": "0912345678", "channel": Member.Channel.STORE}
    return member_enrol(**{**data, **overrides})


# --- Enrol ------------------------------------------------------------------------------------


def test_enrol_stores_the_canonical_phone_and_draws_readable_codes():
    store = StoreFactory()
    member = enrol(
        name="  Trần   Thị Mai ",
        phone="091.234.5678",
        email="Mai@Example.VN",
        birthday=datetime.date(1990, 5, 17),
        gender=Member.Gender.FEMALE,
        home_store=store,
        consents={"sms": True, "zalo": False},
        consent_source="till",
    )
    member.refresh_from_db()
    assert member.name == "Trần Thị Mai"
    assert member.phone == "+84912345678"
    assert member.email == "Mai@example.vn"
    assert member.home_store == store
    assert member.enrolment_channel == "store"
    assert member.status == Member.Status.ACTIVE
    assert member.points_balance == 0
    assert len(member.code) == 8 and member.code[0].isalpha() and set(member.code) <= set(ALPHABET)
    assert len(member.referral_code) == 6 and set(member.referral_code) <= set(ALPHABET)
    assert member.consent_sms_at is not None and member.consent_zalo_at is None
    assert member.consent_given_at("sms") == member.consent_sms_at
    assert abs(member.enrolled_at - timezone.now()) < datetime.timedelta(seconds=5)


def test_enrol_with_a_card_and_a_referral_code():
    referrer = MemberFactory()
    member = enrol(card_number="8400 0000 0001", referral_code=referrer.referral_code.lower())
    assert member.referred_by == referrer
    assert list(member.cards.values_list("number", flat=True)) == ["840000000001"]
    assert member_lookup(query="840000000001") == member


@pytest.mark.parametrize("same_phone", ["0912345678", "912345678", "+84 912 345 678", "84912345678"])
def test_enrolling_a_phone_twice_in_any_form_is_member_exists_and_writes_nothing(same_phone):
    first = enrol()
    before = written_state()
    with pytest.raises(MemberExists) as exc:
        enrol(name="Someone else", phone=same_phone, card_number="12345678")
    assert exc.value.extra == {"member_id": first.pk}
    assert first.code in str(exc.value.detail)
    assert written_state() == before


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"phone": "0123456789"}, "phone"),
        ({"phone": "not a phone"}, "phone"),
        ({"phone": "+14155552671"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"birthday": TOMORROW}, "birthday"),
        ({"birthday": datetime.date(1850, 1, 1)}, "birthday"),
        ({"name": "   "}, "name"),
        ({"gender": "robot"}, "gender"),
        ({"referral_code": "NOSUCH"}, "referral_code"),
        ({"card_number": "x"}, "card_number"),
    ],
)
def test_invalid_input_is_refused_per_field_and_writes_nothing(overrides, field):
    overrides = {name: tomorrow() if value is TOMORROW else value for name, value in overrides.items()}
    MemberFactory(card_number="99990000")
    before = written_state()
    with pytest.raises(ValidationFailed) as exc:
        enrol(**overrides)
    assert field in exc.value.errors
    assert all(str(message) for message in exc.value.errors[field])
    assert written_state() == before


def test_several_invalid_fields_are_reported_together():
    with pytest.raises(ValidationFailed) as exc:
        enrol(phone="123", email="bad", birthday=timezone.localdate() + datetime.timedelta(days=3))
    assert set(exc.value.errors) >= {"phone", "email", "birthday"}
    assert Member.objects.count() == 0


def test_a_card_number_already_in_use_is_refused_and_nothing_written():
    MemberFactory(card_number="CARD-0001")
    before = written_state()
    with pytest.raises(ValidationFailed) as exc:
        enrol(card_number="card0001")
    assert "card_number" in exc.value.errors
    assert written_state() == before


def test_a_birthday_today_is_fine():
    assert enrol(birthday=timezone.localdate()).birthday == timezone.localdate()


def test_enrol_draws_new_codes_when_a_drawn_code_collides(monkeypatch):
    taken = MemberFactory()
    draws = iter([taken.code, "ZZZZZZ", "MNEW2345", "NEWREF"])
    monkeypatch.setattr("members.services.members.code_generate", lambda length: next(draws))
    member = enrol()
    assert member.code == "MNEW2345" and member.referral_code == "NEWREF"


def test_an_explicit_code_that_is_taken_is_refused():
    taken = MemberFactory()
    with pytest.raises(ValidationFailed) as exc:
        enrol(code=taken.code)
    assert "code" in exc.value.errors
    assert Member.objects.count() == 1


def test_database_refuses_a_duplicate_phone_even_without_the_service():
    member = MemberFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.create(code="XDUP2345", referral_code="XDUP23", name="x", phone=member.phone)


# --- Update, consent, block -------------------------------------------------------------------


def test_update_changes_the_member_s_own_data():
    member = MemberFactory()
    store = StoreFactory()
    member_update(
        member=member,
        data={"name": "Lê Văn Hùng", "phone": "0987 654 321", "email": "hung@example.vn", "home_store": store},
    )
    member.refresh_from_db()
    assert (member.name, member.phone, member.email, member.home_store) == (
        "Lê Văn Hùng",
        "+84987654321",
        "hung@example.vn",
        store,
    )


def test_update_refuses_another_member_s_phone_and_bad_values_writing_nothing():
    member, other = MemberFactory(), MemberFactory(phone="0987654321")
    before = written_state()
    with pytest.raises(MemberExists) as exc:
        member_update(member=member, data={"phone": "987 654 321"})
    assert exc.value.extra == {"member_id": other.pk}
    with pytest.raises(ValidationFailed) as exc:
        member_update(member=member, data={"phone": "123", "birthday": timezone.localdate() + datetime.timedelta(1)})
    assert set(exc.value.errors) == {"phone", "birthday"}
    assert written_state() == before
    with pytest.raises(ValueError):
        member_update(member=member, data={"points_balance": 1000})


def test_update_to_the_member_s_own_phone_in_another_form_is_fine():
    member = MemberFactory(phone="0912345678")
    member_update(member=member, data={"phone": "+84 912 345 678"})
    assert Member.objects.get(pk=member.pk).phone == "+84912345678"


def test_consent_keeps_the_time_it_was_first_given_and_can_be_withdrawn():
    member = MemberFactory()
    given_at = days_ago(10)
    member_consent_set(member=member, channel="email", given=True, at=given_at, source="staff")
    member_consent_set(member=member, channel="email", given=True, source="staff")
    assert Member.objects.get(pk=member.pk).consent_email_at == given_at
    member_consent_set(member=member, channel="email", given=False, source="staff")
    assert Member.objects.get(pk=member.pk).consent_email_at is None
    with pytest.raises(ValidationFailed):
        member_consent_set(member=member, channel="fax", given=True, source="staff")


def test_block_stops_earning_and_spending_unblock_restores_it():
    member = MemberFactory(points=100)
    member_block(member=member, reason="Nghi gian lận")
    member.refresh_from_db()
    assert member.status == "blocked" and member.status_reason == "Nghi gian lận" and member.status_changed_at
    before = written_state()
    from members.errors import MemberBlocked

    with pytest.raises(MemberBlocked):
        points_spend(member=member, points=10, reference="blocked-spend")
    with pytest.raises(MemberBlocked):
        points_earn(member=member, points=10, reference="blocked-earn")
    assert written_state() == before
    member_block(member=member)  # again: nothing changes
    member_unblock(member=member)
    points_spend(member=member, points=10, reference="after-unblock")
    assert Member.objects.get(pk=member.pk).points_balance == 90


def test_review_flag_can_be_cleared():
    member = MemberFactory()
    Member.objects.filter(pk=member.pk).update(needs_review=True, review_note="x")
    member_review_clear(member=member)
    member.refresh_from_db()
    assert not member.needs_review and member.review_note == ""


# --- Cards ------------------------------------------------------------------------------------


def test_a_member_may_hold_several_cards_and_a_lost_one_is_replaced_and_kept():
    member = MemberFactory()
    first = card_issue(member=member, number="1111-2222")
    card_issue(member=member, number="33334444")
    new = card_replace(card=first, new_number="55556666", reason=Card.DeactivationReason.LOST)
    first.refresh_from_db()
    assert not first.is_active and first.deactivated_at and first.deactivation_reason == "lost"
    assert first.replaced_by == new and new.member == member and new.is_active
    assert member.cards.count() == 3
    assert member_lookup(query="11112222") is None  # a lost card no longer works
    assert member_lookup(query="55556666") == member


def test_card_refusals_write_nothing():
    member = MemberFactory(card_number="11112222")
    card = member.cards.get()
    before = written_state()
    with pytest.raises(ValidationFailed):
        card_issue(member=member, number="1111 2222")
    with pytest.raises(ValidationFailed):
        card_issue(member=member, number="!!")
    with pytest.raises(ValidationFailed):
        card_replace(card=card, new_number="11112222")
    with pytest.raises(ValidationFailed):
        card_replace(card=card, new_number="99998888", reason="eaten")
    assert written_state() == before
    card_deactivate(card=card)
    with pytest.raises(ValidationFailed):
        card_replace(card=card, new_number="99998888")


# --- Lookup -----------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["0912345678", "912345678", "+84912345678", "84 912 345 678", "091-234-5678"])
def test_lookup_by_phone_in_any_form(query):
    member = MemberFactory(phone="0912345678")
    assert member_lookup(query=query) == member


def test_lookup_by_card_and_code_and_nothing():
    member = MemberFactory(card_number="8400000001")
    assert member_lookup(query="8400000001") == member
    assert member_lookup(query=member.code.lower()) == member
    assert member_lookup(query=f" {member.code} ") == member
    assert member_lookup(query="0987000111") is None
    assert member_lookup(query="") is None
    assert member_lookup(query="NOSUCHCODE") is None


# --- Merge ------------------------------------------------------------------------------------


def test_merge_moves_cards_points_and_history_to_the_survivor_and_keeps_a_record(django_user_model):
    staff = django_user_model.objects.create_user("staff", is_staff=True)
    survivor = MemberFactory(phone="0912000001", email="", enrolled_at=days_ago(30))
    merged = MemberFactory(
        phone="0912000002",
        email="old@example.vn",
        birthday=datetime.date(1985, 2, 3),
        card_number="77770001",
        enrolled_at=days_ago(400),
        consents={"sms": True},
    )
    referred = MemberFactory(referral_code=merged.referral_code)
    points_earn(member=survivor, points=100, reference="s1")
    old_lot_entry = points_earn(member=merged, points=50, reference="m1", occurred_at=days_ago(100))
    spend = points_spend(member=merged, points=20, reference="m2")

    record = member_merge(survivor=survivor, merged=merged, merged_by=staff, reason="Khách đăng ký hai lần")

    survivor.refresh_from_db()
    merged.refresh_from_db()
    assert survivor.points_balance == 130
    assert merged.points_balance == 0 and merged.status == "merged" and merged.merged_into == survivor
    assert survivor.email == "old@example.vn" and survivor.birthday == datetime.date(1985, 2, 3)
    assert survivor.enrolled_at == merged.enrolled_at
    assert survivor.consent_sms_at is not None
    assert list(survivor.cards.values_list("number", flat=True)) == ["77770001"]
    assert set(survivor.ledger_entries.values_list("reference", flat=True)) == {"s1", "m1", "m2"}
    assert survivor.lots.count() == 2
    lot = survivor.lots.get(entry=old_lot_entry)
    assert lot.expires_at == old_lot_entry.lot.expires_at  # the expiry moves with the points
    assert Member.objects.get(pk=referred.pk).referred_by == survivor
    assert record.survivor == survivor and record.merged == merged and record.merged_by == staff
    assert record.snapshot["merged"]["phone"] == "+84912000002"
    assert record.snapshot["merged"]["points_balance"] == 30
    assert sorted(record.moved["ledger_entries"]) == sorted([old_lot_entry.pk, spend.pk])
    assert record.moved["cards"] == list(survivor.cards.values_list("pk", flat=True))
    assert record.moved["referrals"] == [referred.pk]
    # The merged record's phone, code and card lead to the survivor; enrolling it again is refused.
    assert member_lookup(query="0912000002") == survivor
    assert member_lookup(query=merged.code) == survivor
    assert member_get(member_id=merged.pk) == survivor
    assert member_by_referral_code(referral_code=merged.referral_code) == survivor
    with pytest.raises(MemberExists) as exc:
        enrol(phone="0912000002")
    assert exc.value.extra == {"member_id": survivor.pk}
    assert_ledger_consistent()


def test_after_a_merge_the_survivor_spends_the_merged_points_and_reversals_still_work():
    survivor, merged = MemberFactory(), MemberFactory()
    earn = points_earn(member=merged, points=40, reference="m-earn")
    member_merge(survivor=survivor, merged=merged)
    from members.services import points_reverse

    points_spend(member=survivor, points=15, reference="after-merge")
    points_reverse(entry=earn, points=10, reference="after-merge-reverse")
    assert Member.objects.get(pk=survivor.pk).points_balance == 15
    assert LedgerEntry.objects.filter(member=merged).count() == 0
    assert_ledger_consistent()


def test_merging_members_who_referred_each_other_drops_the_self_referral():
    survivor = MemberFactory()
    merged = MemberFactory(referral_code=survivor.referral_code)
    member_merge(survivor=survivor, merged=merged)
    assert Member.objects.get(pk=survivor.pk).referred_by is None
    other = MemberFactory()
    duplicate = MemberFactory()
    Member.objects.filter(pk=other.pk).update(referred_by=duplicate)
    member_merge(survivor=other, merged=duplicate)
    assert Member.objects.get(pk=other.pk).referred_by is None


def test_merge_chains_resolve_to_the_last_survivor():
    first, second, third = MemberFactory(points=10), MemberFactory(points=20), MemberFactory(points=30)
    member_merge(survivor=second, merged=first)
    member_merge(survivor=third, merged=second)
    assert Member.objects.get(pk=first.pk).merged_into_id == third.pk
    assert member_lookup(query=first.phone) == third
    assert Member.objects.get(pk=third.pk).points_balance == 60
    assert MemberMerge.objects.count() == 2
    assert_ledger_consistent()


def test_merge_of_a_blocked_member_flags_the_survivor_for_review():
    survivor, merged = MemberFactory(), MemberFactory()
    member_block(member=merged)
    member_merge(survivor=survivor, merged=merged)
    assert Member.objects.get(pk=survivor.pk).needs_review


def test_merge_refusals_write_nothing():
    a, b, c = MemberFactory(points=5), MemberFactory(), MemberFactory()
    member_merge(survivor=a, merged=b)
    before = written_state()
    with pytest.raises(ValidationFailed):
        member_merge(survivor=a, merged=a)
    with pytest.raises(MemberMerged):
        member_merge(survivor=c, merged=b)
    with pytest.raises(MemberMerged):
        member_merge(survivor=b, merged=c)
    with pytest.raises(MemberMerged):
        member_update(member=b, data={"name": "x"})
    with pytest.raises(MemberMerged):
        points_earn(member=b, points=1, reference="to-a-merged-member")
    assert written_state() == before
