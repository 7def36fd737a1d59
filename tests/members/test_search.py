"""Searching members the way staff search (issue 18, members/search.py): a phone in any form, its
start or its last 6+ digits, a code or card exactly, a name with or without accents. On SQLite
(the plain fallback) and on PostgreSQL (the indexes: a trigram index on the folded name, prefix
indexes on the phone and the reversed phone)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.models import Member
from members.search import name_fold, name_pattern, phone_term
from members.selectors import member_ids_search, member_search
from members.services import member_update
from members.services.bulk import NewMember, members_create_bulk, members_fill_empty_bulk
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/members/member/"


@pytest.fixture
def an():
    return MemberFactory(name="Nguyễn Văn An", phone="0912345678", card_number="84001234")


@pytest.fixture
def others():
    return [
        MemberFactory(name="Trần Thị Bình", phone="0987654321"),
        MemberFactory(name="Đỗ Thị Hằng", phone="0933345678"),  # the same last 5 digits as An's
    ]


def found(term: str) -> list[int]:
    return sorted(member_search(term=term).values_list("pk", flat=True))


@pytest.mark.parametrize(
    "term",
    ["0912 345 678", "0912345678", "912345678", "+84912345678", "+84 912 345 678", "84912345678", "091.234.5678"],
)
def test_a_whole_phone_in_any_form_finds_its_member(an, others, term):
    assert found(term) == [an.pk]


@pytest.mark.parametrize("term", ["2345678", "12345678", "0912 345", "+84 912 34"])
def test_the_last_digits_or_the_start_of_a_phone_find_its_member(an, others, term):
    assert found(term) == [an.pk]


def test_six_last_digits_shared_by_two_members_find_both_and_five_digits_search_no_phone(an, others):
    assert found("345678") == sorted([an.pk, others[1].pk])
    assert found("45678") == []  # too short to be a phone search (and not a code or card)


def test_a_member_code_and_a_card_number_are_found_exactly(an, others):
    assert found(an.code) == [an.pk]
    assert found(an.code.lower()) == [an.pk]
    assert found("84001234") == [an.pk]
    assert found(an.code[:-1]) == []


@pytest.mark.parametrize("term", ["Nguyễn Văn An", "nguyen van an", "NGUYEN VAN AN", "nguyễn an", "van an"])
def test_a_name_is_found_with_or_without_accents(an, others, term):
    assert found(term) == [an.pk]


def test_d_with_stroke_folds_to_d_and_short_terms_search_no_name(an, others):
    assert found("do thi hang") == [others[1].pk]
    assert found("Đỗ Thị Hằng") == [others[1].pk]
    assert found("an") == []  # no word of 3 letters: no index could serve it
    assert found("không có ai") == []


def test_the_member_list_searches_that_way_and_other_lists_by_their_member(admin_client, an, others):
    for term in ["nguyen van an", "345678", "0912 345 678", an.code]:
        response = admin_client.get(CHANGELIST, {"q": term})
        assert response.status_code == 200
        assert an.pk in [m.pk for m in response.context["cl"].result_list], term
    assert [m.pk for m in admin_client.get(CHANGELIST, {"q": "trần bình"}).context["cl"].result_list] == [others[0].pk]
    assert member_ids_search(term="nguyen van an") == [an.pk]


def test_the_folded_name_follows_every_write_of_the_name(an):
    assert Member.objects.get(pk=an.pk).name_folded == "nguyen van an"
    member_update(member=an, data={"name": "  Phạm  Thị Ánh "})
    assert Member.objects.get(pk=an.pk).name_folded == "pham thi anh"
    ids = members_create_bulk(
        members=[NewMember(phone="+84911000001", name="Lê Đức Thọ"), NewMember(phone="+84911000002", name="X")],
        channel="import",
    )
    assert Member.objects.get(pk=ids["+84911000001"]).name_folded == "le duc tho"
    Member.objects.filter(pk=ids["+84911000002"]).update(name="", name_folded="")  # a name never given
    members_fill_empty_bulk(fills=[(ids["+84911000002"], {"name": "Võ Nguyên Giáp"}), (an.pk, {"name": "Không"})])
    assert Member.objects.get(pk=ids["+84911000002"]).name_folded == "vo nguyen giap"
    assert Member.objects.get(pk=an.pk).name_folded == "pham thi anh"  # a name already set stays


def test_the_pure_helpers():
    assert name_fold("  Đặng   THỊ  Ngọc  Ánh ") == "dang thi ngoc anh"
    assert name_pattern("Nguyễn an") == "nguyen.*an"
    assert name_pattern("an le") is None
    assert phone_term("0912 345").prefix == "+84912345" and phone_term("0912 345").suffix == "0912345"
    assert phone_term("345678").suffix == "345678" and phone_term("345678").prefix is None
    assert phone_term("12345") is None and phone_term("abc123456") is None


# --- PostgreSQL: the folding agrees with unaccent, and each search is served by an index ---------

NAMES = [
    "Nguyễn Văn An",
    "Đỗ Thị Hằng",
    "Trần Quốc Tuấn",
    "Lê Thị Ánh Tuyết",
    "Phạm Ngọc Thạch",
    "Võ Thị Sáu",
    "Huỳnh Tấn Phát",
    "Bùi Thị Xuân",
    "Hoàng Đạo Thúy",
    "Dương Vân Nga",
    "Ngô Sĩ Liên",
    "Ỷ Lan",
    "Mạc Đĩnh Chi",
]


@pytest.mark.postgres
def test_name_fold_agrees_with_the_migrations_unaccent(is_postgres):
    if not is_postgres:
        pytest.skip("unaccent: PostgreSQL")
    with connection.cursor() as cursor:
        for name in NAMES:
            cursor.execute("SELECT btrim(regexp_replace(lower(unaccent(%s)), '\\s+', ' ', 'g'))", [name])
            assert cursor.fetchone()[0] == name_fold(name), name


@pytest.mark.postgres
@pytest.mark.parametrize("term", ["0912 345 678", "345678", "0912 345", "nguyen van an", "Đỗ Thị", "B1234567"])
def test_each_search_is_served_by_an_index(an, others, is_postgres, term):
    if not is_postgres:
        pytest.skip("plans: PostgreSQL")
    queryset = member_search(term=term).order_by("-enrolled_at", "-pk")[:100]
    with CaptureQueriesContext(connection) as captured:
        list(queryset)
    sql = captured.captured_queries[-1]["sql"]
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    assert "Seq Scan on members_member" not in plan, plan
