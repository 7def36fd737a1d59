"""POS member endpoints, exactly as pos-api.md says: every status code of the contract, and
nothing written on any refusal."""

import datetime
import json
import zoneinfo

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from members.models import Member
from members.selectors import member_birthday_today
from members.services import card_issue, member_block, points_earn, programme_settings_update
from stores.services import terminal_revoke
from tests.factories import MemberFactory, StoreFactory
from tests.members.helpers import days_ago, written_state

pytestmark = pytest.mark.django_db
LOOKUP = "/api/pos/v1/members/lookup"
ENROL = "/api/pos/v1/members"


@pytest.fixture(autouse=True)
def _fresh_programme_settings_cache():
    cache.clear()
    yield
    cache.clear()


def problem(response, code):
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith(f"/{code}"), body
    assert body["status"] == response.status_code
    assert body["title"] and body["detail"]
    return body


def enrol(client, body, key="enrol-1", **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(ENROL, data=json.dumps(body), content_type="application/json", **headers, **extra)


def today_in(zone_name):
    return timezone.localtime(timezone.now(), zoneinfo.ZoneInfo(zone_name)).date()


# --- Lookup -----------------------------------------------------------------------------------


@pytest.mark.parametrize("q", ["0912345678", "912345678", "+84912345678", "84 912 345 678", "091.234.5678"])
def test_lookup_by_phone_in_any_form_returns_the_member_summary(pos_client, q):
    member = MemberFactory(name="Phạm Thu Hà", phone="0912345678", points=125)
    response = pos_client.get(LOOKUP, {"q": q})
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "id": member.pk,
        "code": member.code,
        "name": "Phạm Thu Hà",
        "phone_masked": "091****678",
        "status": "active",
        "tier": {"code": "MEMBER", "name": body["tier"]["name"]},
        "points_balance": 125,
        "points_debt": 0,
        "points_available": 125,
        "points_pending": 0,  # no online order pending (pos-api.md 1.2)
        "points_value": "125000.00",
        "birthday_today": False,
        "vouchers": [],
        "store_credit_balance": "0.00",
        "membership": None,  # no paid membership (issue 17 item 4)
    }
    assert body["tier"]["name"]


def test_lookup_by_card_number_and_by_member_code(pos_client):
    member = MemberFactory(card_number="840000000001")
    assert pos_client.get(LOOKUP, {"q": "8400 0000 0001"}).json()["id"] == member.pk
    assert pos_client.get(LOOKUP, {"q": member.code.lower()}).json()["id"] == member.pk


def test_lookup_reports_points_worth_with_the_programme_point_value_and_pending_points(pos_client):
    programme_settings_update(data={"point_value": "500", "pending_days": 2})
    member = MemberFactory()
    points_earn(member=member, points=30, reference="old", occurred_at=days_ago(3))
    points_earn(member=member, points=10, reference="new")
    body = pos_client.get(LOOKUP, {"q": member.phone}).json()
    assert (body["points_balance"], body["points_available"], body["points_value"]) == (40, 30, "20000.00")


def test_birthday_today_follows_the_store_time_zone(pos_client, terminal):
    today = today_in(terminal.store.time_zone)
    birthday = today.replace(year=1990) if (today.month, today.day) != (2, 29) else datetime.date(1992, 2, 29)
    member = MemberFactory(birthday=birthday)
    assert pos_client.get(LOOKUP, {"q": member.phone}).json()["birthday_today"] is True
    other = MemberFactory(birthday=(today - datetime.timedelta(days=2)).replace(year=1991))
    assert pos_client.get(LOOKUP, {"q": other.phone}).json()["birthday_today"] is False


def test_the_birthday_is_the_store_s_local_day_not_the_server_s():
    member = Member(birthday=datetime.date(1990, 3, 16))
    moment = datetime.datetime(2025, 3, 15, 20, 0, tzinfo=datetime.UTC)  # 16 March 03:00 in Hồ Chí Minh City
    assert member_birthday_today(member=member, zone=zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh"), at=moment)
    assert not member_birthday_today(member=member, zone=zoneinfo.ZoneInfo("America/Los_Angeles"), at=moment)
    leap = Member(birthday=datetime.date(1992, 2, 29))
    feb_28 = datetime.datetime(2025, 2, 28, 5, 0, tzinfo=datetime.UTC)
    assert member_birthday_today(member=leap, zone=zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh"), at=feb_28)


def test_lookup_of_a_merged_member_s_phone_finds_the_survivor_and_a_blocked_member_shows_its_status(pos_client):
    from members.services import member_merge

    survivor, merged = MemberFactory(), MemberFactory(phone="0933333333")
    member_merge(survivor=survivor, merged=merged)
    assert pos_client.get(LOOKUP, {"q": "0933333333"}).json()["id"] == survivor.pk
    member_block(member=survivor)
    assert pos_client.get(LOOKUP, {"q": survivor.phone}).json()["status"] == "blocked"


@pytest.mark.parametrize("q", ["0987000111", "NOSUCH12", "99999999"])
def test_lookup_of_nobody_is_404_member_not_found(pos_client, q):
    MemberFactory()
    response = pos_client.get(LOOKUP, {"q": q}, HTTP_ACCEPT_LANGUAGE="en")
    body = problem(response, "member-not-found")
    assert response.status_code == 404
    assert "phone" in body["detail"]


def test_a_lost_card_finds_nobody(pos_client):
    member = MemberFactory(card_number="55556666")
    from members.services import card_replace

    card_replace(card=member.cards.get(), new_number="77778888")
    assert pos_client.get(LOOKUP, {"q": "55556666"}).status_code == 404
    assert pos_client.get(LOOKUP, {"q": "77778888"}).status_code == 200


def test_lookup_without_q_is_400(pos_client):
    response = pos_client.get(LOOKUP)
    body = problem(response, "validation-error")
    assert response.status_code == 400 and "q" in body["errors"]


def test_lookup_needs_a_valid_key_401_and_an_active_one_403(anon_client, pos_client, terminal):
    MemberFactory(phone="0912345678")
    response = anon_client.get(LOOKUP, {"q": "0912345678"})
    assert response.status_code == 401
    problem(response, "not-authenticated")
    terminal_revoke(terminal=terminal)
    response = pos_client.get(LOOKUP, {"q": "0912345678"})
    assert response.status_code == 403
    problem(response, "permission-denied")


# --- Enrol ------------------------------------------------------------------------------------


def test_enrol_creates_the_member_at_the_terminal_s_store_and_returns_201_with_the_summary(pos_client, terminal):
    referrer = MemberFactory()
    response = enrol(
        pos_client,
        {
            "name": "Võ Minh Quân",
            "phone": "84 987 654 321",
            "email": "quan@example.vn",
            "birthday": "1995-07-20",
            "gender": "male",
            "card_number": "8400-1234-5678",
            "referral_code": referrer.referral_code,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    member = Member.objects.get(pk=body["id"])
    assert body["code"] == member.code and body["phone_masked"] == "098****321"
    assert body["points_balance"] == 0 and body["points_value"] == "0.00" and body["vouchers"] == []
    assert body["tier"]["code"] == "MEMBER"
    assert member.phone == "+84987654321"
    assert member.enrolment_channel == "api" and member.home_store == terminal.store
    assert member.birthday == datetime.date(1995, 7, 20) and member.gender == "male"
    assert member.referred_by == referrer
    assert list(member.cards.values_list("number", flat=True)) == ["840012345678"]


def test_enrol_with_only_name_and_phone(pos_client):
    response = enrol(pos_client, {"name": "Lan", "phone": "0912345678"})
    assert response.status_code == 201
    member = Member.objects.get()
    assert (member.email, member.birthday, member.gender) == ("", None, "")


def test_enrolling_an_enrolled_phone_is_409_member_exists_with_the_member_id(pos_client):
    existing = MemberFactory(phone="0912345678")
    before = written_state()
    response = enrol(pos_client, {"name": "Someone", "phone": "+84 912 345 678", "card_number": "12341234"})
    assert response.status_code == 409
    body = problem(response, "member-exists")
    assert body["member_id"] == existing.pk
    assert written_state() == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "X", "phone": "0123456789"}, "phone"),
        ({"name": "X", "phone": "hello"}, "phone"),
        ({"name": "X", "phone": "+14155552671"}, "phone"),
        ({"name": "X", "phone": "0912345678", "email": "not-an-email"}, "email"),
        ({"name": "X", "phone": "0912345678", "birthday": "2999-01-01"}, "birthday"),
        ({"name": "X", "phone": "0912345678", "birthday": "15/03/1990"}, "birthday"),
        ({"name": "X", "phone": "0912345678", "gender": "unknown"}, "gender"),
        ({"name": "X", "phone": "0912345678", "referral_code": "NOSUCH"}, "referral_code"),
        ({"name": "X", "phone": "0912345678", "card_number": "CARD0001"}, "card_number"),
        ({"phone": "0912345678"}, "name"),
        ({"name": "X"}, "phone"),
    ],
)
def test_invalid_enrolment_is_400_with_errors_per_field_and_writes_nothing(pos_client, body, field):
    MemberFactory(phone="0900000001", card_number="CARD0001")
    before = written_state()
    response = enrol(pos_client, body, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content
    errors = problem(response, "validation-error")["errors"]
    assert field in errors and all(errors[field])
    assert written_state() == before


def test_a_future_birthday_message_is_clear_in_both_languages(pos_client):
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    body = {"name": "X", "phone": "0912345678", "birthday": tomorrow}
    en = enrol(pos_client, body, key="k-en", HTTP_ACCEPT_LANGUAGE="en").json()
    assert en["errors"]["birthday"] == ["The birthday cannot be in the future."]
    assert Member.objects.count() == 0


def test_enrol_requires_an_idempotency_key_and_replays_a_retry(pos_client):
    body = {"name": "Lan", "phone": "0912345678"}
    response = enrol(pos_client, body, key=None)
    assert response.status_code == 400
    problem(response, "idempotency-key-required")
    assert Member.objects.count() == 0

    first = enrol(pos_client, body, key="till-1-0001")
    retry = enrol(pos_client, body, key="till-1-0001")
    assert first.status_code == retry.status_code == 201
    assert retry.content == first.content and retry["Idempotent-Replayed"] == "true"
    assert Member.objects.count() == 1

    reused = enrol(pos_client, {"name": "Other", "phone": "0987654321"}, key="till-1-0001")
    assert reused.status_code == 422
    problem(reused, "idempotency-key-reused")
    assert Member.objects.count() == 1

    again = enrol(pos_client, body, key="till-1-0002")  # a new key: the phone is taken now
    assert again.status_code == 409
    assert again.json()["member_id"] == first.json()["id"]


def test_enrol_needs_a_valid_key(anon_client):
    response = enrol(anon_client, {"name": "Lan", "phone": "0912345678"})
    assert response.status_code == 401
    assert Member.objects.count() == 0


def test_a_revoked_terminal_cannot_enrol(pos_client, terminal):
    terminal_revoke(terminal=terminal)
    response = enrol(pos_client, {"name": "Lan", "phone": "0912345678"})
    assert response.status_code == 403
    assert Member.objects.count() == 0


def test_the_summary_uses_the_terminal_store_zone_for_birthdays(pos_client, terminal):
    StoreFactory(time_zone="America/Los_Angeles")  # another store elsewhere changes nothing
    today = today_in(terminal.store.time_zone)
    if (today.month, today.day) == (2, 29):
        pytest.skip("29 February")
    response = enrol(pos_client, {"name": "Sinh nhật", "phone": "0912345678", "birthday": f"1990-{today:%m-%d}"})
    assert response.status_code == 201 and response.json()["birthday_today"] is True


def test_the_schema_documents_both_endpoints(pos_client):
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    lookup = schema["paths"]["/api/pos/v1/members/lookup"]["get"]
    enrol_op = schema["paths"]["/api/pos/v1/members"]["post"]
    assert set(lookup["responses"]) >= {"200", "400", "401", "403", "404"}
    assert set(enrol_op["responses"]) >= {"201", "400", "401", "403", "409", "422"}
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in enrol_op["parameters"])


def test_card_issue_is_visible_at_the_till_at_once(pos_client):
    member = MemberFactory()
    card_issue(member=member, number="12121212")
    assert pos_client.get(LOOKUP, {"q": "12121212"}).json()["id"] == member.pk
