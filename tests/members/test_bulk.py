"""The set-based twins in `members.services.bulk`: each gives, field by field, what its
single-row service gives on the same input, keeps the ledger's invariants, and writes nothing
when it refuses."""

from __future__ import annotations

import ast
import datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from loyalty_site.core.errors import ValidationFailed
from members.codes import ALPHABET, LETTERS
from members.errors import LedgerReferenceReused, MemberBlocked, MemberMerged, MemberNotFound
from members.models import Card, LedgerEntry, LotMovement, Member, PointLot
from members.services import (
    NewMember,
    OpeningBalance,
    cards_create_bulk,
    member_block,
    member_codes_draw,
    member_enrol,
    member_merge,
    members_create_bulk,
    members_fill_empty_bulk,
    opening_reference,
    points_credit_opening_bulk,
    points_earn,
    points_reverse,
    points_spend,
)
from tests.factories import MemberFactory
from tests.members.helpers import assert_ledger_consistent, days_ago, set_programme, written_state

pytestmark = pytest.mark.django_db

TOMORROW = object()  # a parameter for this time tomorrow, taken when the test runs

ENTRY_FIELDS = (
    "kind", "points", "balance_after", "points_not_recovered", "occurred_at", "cause_kind", "cause_reference",
    "reverses_id", "reason", "created_by_id",
)  # fmt: skip
LOT_FIELDS = ("points", "remaining", "earned_at", "available_from", "expires_at")


def _with_history(kind: str) -> Member:
    """A member in one of the states a credit meets: new, with points, or owing points."""
    member = MemberFactory()
    if kind == "points":
        points_earn(member=member, points=70, reference=f"sale:{member.pk}:earn", occurred_at=days_ago(10))
    elif kind == "debt":
        earn = points_earn(member=member, points=100, reference=f"sale:{member.pk}:earn", occurred_at=days_ago(5))
        points_spend(member=member, points=80, reference=f"redeem:{member.pk}")
        points_reverse(entry=earn, reference=f"refund:{member.pk}")
    return member


def _credit_of(member: Member) -> dict:
    """What the opening credit wrote for the member, without ids and posting times: its entry,
    its lot, the movements into and out of that lot (paying a debt), and the balance."""
    member.refresh_from_db()
    entry = LedgerEntry.objects.get(reference=opening_reference(member.pk))
    lot = PointLot.objects.get(entry=entry)
    return {
        "balance": (member.points_balance, member.points_debt, member.needs_review),
        "entry": tuple(getattr(entry, name) for name in ENTRY_FIELDS),
        "lot": tuple(getattr(lot, name) for name in LOT_FIELDS),
        "movements": [
            (movement.entry.kind, movement.entry.points, movement.points)
            for movement in LotMovement.objects.filter(lot=lot).select_related("entry").order_by("pk")
        ],
    }


@pytest.mark.parametrize("expiry", ["months_after_earning", "end_of_year", "never"])
def test_the_bulk_credit_writes_what_points_earn_writes_field_by_field(expiry):
    set_programme(expiry_policy=expiry, pending_days=2)
    states = ["new", "points", "debt"]
    single = [_with_history(state) for state in states]
    bulk = [_with_history(state) for state in states]
    earned_at = [days_ago(40), days_ago(400), days_ago(3)]
    points = [150, 1, 35]

    for member, when, amount in zip(single, earned_at, points, strict=True):
        points_earn(
            member=member,
            points=amount,
            reference=opening_reference(member.pk),
            occurred_at=when,
            cause_kind="import",
            cause_reference="row:7",
            reason="Opening balance",
        )
    result = points_credit_opening_bulk(
        openings=[
            OpeningBalance(member_id=member.pk, points=amount, earned_at=when, cause_reference="row:7")
            for member, when, amount in zip(bulk, earned_at, points, strict=True)
        ],
        reason="Opening balance",
    )

    assert result.points_credited == sum(points) and not result.refused and not result.already
    for one, many in zip(single, bulk, strict=True):
        expected, got = _credit_of(one), _credit_of(many)
        assert got == expected
        assert LedgerEntry.objects.get(reference=opening_reference(many.pk)).pk == result.credited[many.pk]
    assert_ledger_consistent()
    call_command("check_ledger")


def test_crediting_again_is_a_retry_that_writes_nothing():
    member = MemberFactory()
    opening = OpeningBalance(member_id=member.pk, points=50, earned_at=days_ago(1))
    first = points_credit_opening_bulk(openings=[opening])
    before = written_state()
    again = points_credit_opening_bulk(openings=[opening])
    assert again.credited == {} and again.already == {member.pk: first.credited[member.pk]}
    assert again.points_credited == 0
    assert written_state() == before
    # and points_earn sees the bulk credit as its own
    entry = points_earn(member=member, points=50, reference=opening_reference(member.pk), occurred_at=days_ago(1))
    assert entry.pk == first.credited[member.pk]
    assert written_state() == before


def test_the_same_reference_with_other_points_is_refused_and_nothing_written():
    member = MemberFactory()
    other = MemberFactory()
    points_credit_opening_bulk(openings=[OpeningBalance(member_id=member.pk, points=50, earned_at=days_ago(1))])
    before = written_state()
    with pytest.raises(LedgerReferenceReused):
        points_credit_opening_bulk(
            openings=[
                OpeningBalance(member_id=other.pk, points=10, earned_at=days_ago(1)),
                OpeningBalance(member_id=member.pk, points=60, earned_at=days_ago(1)),
            ]
        )
    assert written_state() == before


def test_a_blocked_member_refuses_the_whole_batch_and_nothing_is_written():
    active, blocked = MemberFactory(), MemberFactory()
    member_block(member=blocked)
    before = written_state()
    with pytest.raises(MemberBlocked):
        points_credit_opening_bulk(
            openings=[
                OpeningBalance(member_id=active.pk, points=10, earned_at=days_ago(1)),
                OpeningBalance(member_id=blocked.pk, points=10, earned_at=days_ago(1)),
            ]
        )
    assert written_state() == before


def test_with_skip_refused_the_refused_members_are_named_and_the_others_credited():
    active, blocked, survivor, merged = MemberFactory(), MemberFactory(), MemberFactory(), MemberFactory()
    member_block(member=blocked)
    member_merge(survivor=survivor, merged=merged)
    result = points_credit_opening_bulk(
        openings=[
            OpeningBalance(member_id=member.pk, points=10, earned_at=days_ago(1))
            for member in (active, blocked, merged)
        ],
        skip_refused=True,
    )
    assert set(result.credited) == {active.pk}
    assert isinstance(result.refused[blocked.pk], MemberBlocked)
    assert isinstance(result.refused[merged.pk], MemberMerged)
    assert LedgerEntry.objects.filter(member__in=[blocked, merged, survivor]).count() == 0
    assert_ledger_consistent()


def test_an_unknown_member_is_refused_and_nothing_written():
    member = MemberFactory()
    before = written_state()
    with pytest.raises(MemberNotFound):
        points_credit_opening_bulk(
            openings=[
                OpeningBalance(member_id=member.pk, points=10, earned_at=days_ago(1)),
                OpeningBalance(member_id=member.pk + 1000, points=10, earned_at=days_ago(1)),
            ]
        )
    assert written_state() == before


@pytest.mark.parametrize(
    "bad",
    [
        {"points": 0},
        {"points": -5},
        {"points": True},
        {"earned_at": TOMORROW},
        {"earned_at": datetime.datetime(2024, 1, 1)},  # naive: the refusal tested
    ],
)
def test_invalid_points_or_times_are_refused_and_nothing_written(bad):
    tomorrow = timezone.now() + datetime.timedelta(days=1)
    bad = {name: tomorrow if value is TOMORROW else value for name, value in bad.items()}
    first, second = MemberFactory(), MemberFactory()
    before = written_state()
    with pytest.raises(ValidationFailed):
        points_credit_opening_bulk(
            openings=[
                OpeningBalance(member_id=first.pk, points=10, earned_at=days_ago(1)),
                OpeningBalance(**{"member_id": second.pk, "points": 10, "earned_at": days_ago(1), **bad}),
            ]
        )
    assert written_state() == before


def test_a_member_twice_in_a_batch_is_refused_and_nothing_written():
    member = MemberFactory()
    before = written_state()
    with pytest.raises(ValidationFailed) as exc:
        points_credit_opening_bulk(openings=[OpeningBalance(member_id=member.pk, points=10, earned_at=days_ago(1))] * 2)
    assert "member" in exc.value.errors
    assert written_state() == before


# --- Members ----------------------------------------------------------------------------------


def test_bulk_create_gives_what_enrol_gives_field_by_field():
    given = [
        {"name": "  Trần   Thị Mai ", "phone": "+84912345678", "email": "Mai@Example.VN",
         "birthday": datetime.date(1990, 5, 17), "gender": Member.Gender.FEMALE},
        {"name": "Lê Văn Nam", "phone": "+84987654321"},
    ]  # fmt: skip
    enrolled_at = days_ago(1)
    single = [member_enrol(channel=Member.Channel.IMPORT, enrolled_at=enrolled_at, **data) for data in given]
    expected = {member.phone: member for member in Member.objects.filter(pk__in=[m.pk for m in single])}
    Card.objects.all().delete()
    Member.objects.filter(pk__in=[member.pk for member in single]).delete()

    ids = members_create_bulk(
        members=[NewMember(**data) for data in given], channel=Member.Channel.IMPORT, enrolled_at=enrolled_at
    )

    skipped = {"id", "code", "referral_code", "created_at", "updated_at"}
    names = [f.attname for f in Member._meta.concrete_fields if f.attname not in skipped]
    for phone, member_id in ids.items():
        got = Member.objects.get(pk=member_id)
        assert {name: getattr(got, name) for name in names} == {name: getattr(expected[phone], name) for name in names}
        got.full_clean(validate_unique=False, validate_constraints=False)
        for code, length in ((got.code, 8), (got.referral_code, 6)):
            assert len(code) == length and code[0] in LETTERS and set(code) <= set(ALPHABET)


@pytest.mark.parametrize(
    ("members", "field"),
    [
        ([NewMember(name="A", phone="+84912345678"), NewMember(name="B", phone="+84912345678")], "phone"),
        ([NewMember(name="A", phone="0912345678")], "phone"),
        ([NewMember(name="   ", phone="+84912345678")], "name"),
        ([NewMember(name="x" * 201, phone="+84912345678")], "name"),
        ([NewMember(name="A", phone="+84912345678", gender="robot")], "gender"),
    ],
)
def test_bulk_create_refusals_write_nothing(members, field):
    MemberFactory()
    before = written_state()
    with pytest.raises(ValidationFailed) as exc:
        members_create_bulk(members=[NewMember(name="Ok", phone="+84987654321"), *members], channel="import")
    assert field in exc.value.errors
    assert written_state() == before


def test_member_codes_are_drawn_unused_and_distinct(monkeypatch):
    taken = MemberFactory()
    draws = iter([[taken.code, "MNEW2345"], ["MNEW6789"]])
    monkeypatch.setattr("members.services.bulk.codes_generate", lambda count, length: next(draws)[:count])
    assert sorted(member_codes_draw(count=2, length=8, field_name="code")) == ["MNEW2345", "MNEW6789"]


def test_fill_empty_fills_only_what_is_empty():
    member = MemberFactory(email="kept@example.vn")
    members_fill_empty_bulk(
        fills=[(member.pk, {"email": "new@example.vn", "birthday": datetime.date(1990, 1, 2), "gender": "male"})]
    )
    member.refresh_from_db()
    assert (member.email, member.birthday, member.gender) == ("kept@example.vn", datetime.date(1990, 1, 2), "male")


@pytest.mark.parametrize(
    "fills",
    [
        lambda pk: [(pk, {"gender": "male"}), (pk, {"email": "a@b.vn"})],
        lambda pk: [(pk, {"gender": "robot"})],
        lambda pk: [(pk, {"name": "x" * 201})],
    ],
)
def test_fill_empty_refusals_write_nothing(fills):
    member = MemberFactory()
    before = written_state()
    with pytest.raises(ValidationFailed):
        members_fill_empty_bulk(fills=fills(member.pk))
    assert written_state() == before


def test_cards_are_issued_and_refusals_write_nothing():
    first, second = MemberFactory(), MemberFactory()
    assert cards_create_bulk(cards=[(first.pk, "TH0001"), (second.pk, "TH0002")]) == 2
    assert set(Card.objects.values_list("member_id", "number")) == {(first.pk, "TH0001"), (second.pk, "TH0002")}
    before = written_state()
    for cards in ([(first.pk, "TH0003"), (second.pk, "TH0003")], [(first.pk, "TH-4")]):
        with pytest.raises(ValidationFailed):
            cards_create_bulk(cards=cards)
        assert written_state() == before


def test_the_import_engine_writes_no_table_of_the_members_app_itself():
    """It plans and calls `members.services`: no model save, queryset write, cursor or raw SQL
    write of its own."""
    tree = ast.parse((Path(__file__).resolve().parents[2] / "campaigns/audiences/imports/engine.py").read_text())
    writes = {"bulk_create", "bulk_update", "save", "update", "create", "delete", "copy", "execute", "executemany"}
    found, called = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            called.add(name)
            receiver = ast.unparse(node.func.value) if isinstance(node.func, ast.Attribute) else ""
            if name == "rows_insert" or (
                name in writes and any(word in receiver for word in ("objects", "filter", "cursor", "Member", "Card"))
            ):
                found.append(ast.unparse(node))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.lstrip().upper().startswith(("INSERT ", "UPDATE ", "COPY ", "DELETE "))
        ):
            found.append(node.value)
    assert found == []
    assert {
        "members_create_bulk",
        "members_fill_empty_bulk",
        "cards_create_bulk",
        "points_credit_opening_bulk",
    } <= called
