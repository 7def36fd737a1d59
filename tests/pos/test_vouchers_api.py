"""POS reward and voucher endpoints, exactly as pos-api.md says: every status code of the
contract, and nothing written on any refusal."""

import datetime
import json
import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from members.services import member_block, member_merge
from stores.services import terminal_create
from tests.factories import BrandFactory, MemberFactory, StoreFactory
from tests.vouchers.factories import RewardFactory, b2g1_reward, percent_reward
from tests.vouchers.helpers import written_state
from tiers.models import Tier, TierStatus
from vouchers.models import Voucher
from vouchers.services import voucher_issue, voucher_use, voucher_void

pytestmark = pytest.mark.django_db
REWARDS = "/api/pos/v1/rewards"
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$")


@pytest.fixture(autouse=True)
def _fresh_programme_settings_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def pho_brand():
    return BrandFactory(code="PHO", name="Phở Hà Thành")


@pytest.fixture
def cafe_brand():
    return BrandFactory(code="CAFE", name="Cà Phê Sớm")


@pytest.fixture
def pho_store(pho_brand):
    return StoreFactory(code="PHO-HN01", brand=pho_brand)


@pytest.fixture
def cafe_store(cafe_brand):
    return StoreFactory(code="CAFE-HN01", brand=cafe_brand)


def client_at(store) -> APIClient:
    _terminal, key = terminal_create(store=store, name="Quầy 1")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def pho_client(pho_store):
    return client_at(pho_store)


@pytest.fixture
def cafe_client(cafe_store):
    return client_at(cafe_store)


@pytest.fixture
def catalogue(cafe_brand):
    """The demo catalogue, plus a reward out of stock and one not yet open."""
    return {
        "CASH50K": RewardFactory(
            code="CASH50K", name="Voucher 50.000đ", name_en="50,000 VND voucher", points_cost=50,
            min_invoice=Decimal(100_000), terms="Hóa đơn từ 100.000đ", terms_en="Invoices from 100,000 VND",
        ),
        "PCT10": percent_reward(code="PCT10", name="Giảm 10 %", name_en="10 % off", points_cost=80),
        "CAFE-B2G1": b2g1_reward(code="CAFE-B2G1", name="Cà phê mua 2 tặng 1", points_cost=100, brands=[cafe_brand]),
        "BDAY20": percent_reward(
            code="BDAY20", name="Quà sinh nhật -20 %", percent=Decimal(20), cap=Decimal(200_000), points_cost=0,
            is_visible=False, validity="end_of_month", validity_days=None,
        ),
        "SOLDOUT": RewardFactory(code="SOLDOUT", points_cost=10, stock=0),
        "LATER": RewardFactory(code="LATER", points_cost=10, active_from=timezone.now() + datetime.timedelta(days=1)),
    }  # fmt: skip


def problem(response, code):
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith(f"/{code}"), body
    assert body["status"] == response.status_code
    assert body["title"] and body["detail"]
    return body


def redeem(client, member_id, body, key="redeem-1", **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(
        f"/api/pos/v1/members/{member_id}/redemptions",
        data=json.dumps(body),
        content_type="application/json",
        **headers,
        **extra,
    )


# --- GET rewards --------------------------------------------------------------------------------


def test_catalogue_at_a_pho_till(pho_client, catalogue):
    response = pho_client.get(REWARDS)
    assert response.status_code == 200
    body = response.json()
    assert [r["code"] for r in body] == ["CASH50K", "PCT10"]
    assert body[0] == {
        "code": "CASH50K",
        "name": "Voucher 50.000đ",
        "kind": "cash",
        "points_cost": 50,
        "terms": "Hóa đơn từ 100.000đ",
        "min_invoice": "100000.00",
        "stock_left": None,
    }
    assert "affordable" not in body[0]


def test_catalogue_at_a_cafe_till_has_the_cafe_reward(cafe_client, catalogue):
    codes = [r["code"] for r in cafe_client.get(REWARDS).json()]
    assert codes == ["CASH50K", "PCT10", "CAFE-B2G1"]


def test_catalogue_speaks_english_on_request(pho_client, catalogue):
    body = pho_client.get(REWARDS, HTTP_ACCEPT_LANGUAGE="en").json()
    assert (body[0]["name"], body[0]["terms"]) == ("50,000 VND voucher", "Invoices from 100,000 VND")


def test_catalogue_for_a_member_says_what_is_affordable(pho_client, catalogue):
    member = MemberFactory(points=60)
    body = pho_client.get(REWARDS, {"member": member.pk}).json()
    assert {r["code"]: (r["points_cost"], r["affordable"]) for r in body} == {
        "CASH50K": (50, True),
        "PCT10": (80, False),
    }


def test_catalogue_costs_are_reduced_by_the_tier(pho_client, catalogue):
    Tier.objects.create(code="MEMBER", name="Thành viên", rank=0)
    diamond_tier = Tier.objects.create(
        code="DIAMOND", name="Kim Cương", rank=2, threshold=Decimal(20_000_000), voucher_points_discount_percent=5
    )
    diamond = MemberFactory(points=76)
    TierStatus.objects.create(member=diamond, tier=diamond_tier)
    body = pho_client.get(REWARDS, {"member": diamond.pk}).json()
    assert {r["code"]: (r["points_cost"], r["affordable"]) for r in body} == {
        "CASH50K": (48, True),
        "PCT10": (76, True),
    }


def test_catalogue_unknown_member_is_404(pho_client, catalogue):
    problem(pho_client.get(REWARDS, {"member": 999_999}), "member-not-found")


def test_catalogue_member_must_be_an_id(pho_client):
    body = problem(pho_client.get(REWARDS, {"member": "abc"}), "validation-error")
    assert "member" in body["errors"]


def test_catalogue_needs_a_key(catalogue):
    assert APIClient().get(REWARDS).status_code == 401


# --- POST members/{id}/redemptions ---------------------------------------------------------------


def test_redemption_spends_points_and_returns_the_voucher(pho_client, catalogue):
    member = MemberFactory(points=120)
    response = redeem(pho_client, member.pk, {"reward": "CASH50K"})
    assert response.status_code == 201, response.json()
    body = response.json()
    voucher = Voucher.objects.get()
    assert body == {
        "voucher": {
            "code": voucher.code,
            "name": "Voucher 50.000đ",
            "kind": "cash",
            "expires_at": body["voucher"]["expires_at"],
        },
        "points_spent": 50,
        "points_balance": 70,
    }
    assert ISO_WITH_OFFSET.match(body["voucher"]["expires_at"])
    assert body["voucher"]["expires_at"].endswith("T00:00:00+07:00")
    assert datetime.datetime.fromisoformat(body["voucher"]["expires_at"]) == voucher.expires_at
    member.refresh_from_db()
    assert member.points_balance == 70


def test_redemption_replay_returns_the_same_voucher_and_changes_nothing(pho_client, catalogue):
    member = MemberFactory(points=120)
    first = redeem(pho_client, member.pk, {"reward": "CASH50K"}, key="k-1")
    before = written_state()
    again = redeem(pho_client, member.pk, {"reward": "CASH50K"}, key="k-1")
    assert again.status_code == 201
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert written_state() == before


def test_redemption_reward_code_in_any_case(pho_client, catalogue):
    member = MemberFactory(points=120)
    assert redeem(pho_client, member.pk, {"reward": " cash50k "}).status_code == 201


def test_redemption_with_a_tier_discount(pho_client, catalogue):
    Tier.objects.create(code="MEMBER", name="Thành viên", rank=0)
    diamond_tier = Tier.objects.create(
        code="DIAMOND", name="Kim Cương", rank=2, threshold=Decimal(20_000_000), voucher_points_discount_percent=5
    )
    member = MemberFactory(points=100)
    TierStatus.objects.create(member=member, tier=diamond_tier)
    body = redeem(pho_client, member.pk, {"reward": "CASH50K"}).json()
    assert (body["points_spent"], body["points_balance"]) == (48, 52)


def test_redemption_without_enough_points_is_409(pho_client, catalogue):
    member = MemberFactory(points=79)
    before = written_state()
    body = problem(redeem(pho_client, member.pk, {"reward": "PCT10"}), "insufficient-points")
    assert (body["points_available"], body["points_requested"]) == (79, 80)
    assert written_state() == before


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("SOLDOUT", "out-of-stock"),
        ("LATER", "not-active"),
        ("CAFE-B2G1", "other-brand"),
        ("BDAY20", "hidden"),
        ("NOPE", "unknown"),
    ],
)
def test_redemption_of_an_unavailable_reward_is_422(pho_client, catalogue, code, reason):
    member = MemberFactory(points=500)
    before = written_state()
    body = problem(redeem(pho_client, member.pk, {"reward": code}), "reward-unavailable")
    assert body["reason"] == reason
    assert written_state() == before


def test_redemption_over_the_members_limit_is_422(pho_client, catalogue):
    RewardFactory(code="ONCE", points_cost=10, limit_per_member=1, limit_period="month")
    member = MemberFactory(points=500)
    assert redeem(pho_client, member.pk, {"reward": "ONCE"}, key="a").status_code == 201
    before = written_state()
    body = problem(redeem(pho_client, member.pk, {"reward": "ONCE"}, key="b"), "reward-unavailable")
    assert body["reason"] == "member-limit"
    assert written_state() == before


def test_redemption_unknown_member_is_404(pho_client, catalogue):
    before = written_state()
    problem(redeem(pho_client, 999_999, {"reward": "CASH50K"}), "member-not-found")
    assert written_state() == before


def test_redemption_of_a_merged_member_goes_to_the_survivor(pho_client, catalogue):
    merged, survivor = MemberFactory(points=10), MemberFactory(points=100)
    member_merge(survivor=survivor, merged=merged, merged_by=None, reason="Trùng")
    body = redeem(pho_client, merged.pk, {"reward": "CASH50K"}).json()
    assert body["points_balance"] == 60
    assert Voucher.objects.get().member_id == survivor.pk


def test_redemption_of_a_blocked_member_is_409(pho_client, catalogue):
    member = MemberFactory(points=100)
    member_block(member=member, reason="Gian lận")
    before = written_state()
    problem(redeem(pho_client, member.pk, {"reward": "CASH50K"}), "member-blocked")
    assert written_state() == before


@pytest.mark.parametrize("body", [{}, {"reward": ""}, {"reward": "X" * 21}, {"reward": None}])
def test_redemption_validation_is_400(pho_client, catalogue, body):
    member = MemberFactory(points=100)
    before = written_state()
    problem_body = problem(redeem(pho_client, member.pk, body), "validation-error")
    assert "reward" in problem_body["errors"]
    assert written_state() == before


def test_redemption_needs_an_idempotency_key(pho_client, catalogue):
    member = MemberFactory(points=100)
    before = written_state()
    problem(redeem(pho_client, member.pk, {"reward": "CASH50K"}, key=None), "idempotency-key-required")
    assert written_state() == before


def test_redemption_key_reused_with_another_body_is_422(pho_client, catalogue):
    member = MemberFactory(points=200)
    redeem(pho_client, member.pk, {"reward": "CASH50K"}, key="same")
    before = written_state()
    problem(redeem(pho_client, member.pk, {"reward": "PCT10"}, key="same"), "idempotency-key-reused")
    assert written_state() == before


def test_redemption_needs_a_key(catalogue):
    member = MemberFactory(points=200)
    assert redeem(APIClient(), member.pk, {"reward": "CASH50K"}).status_code == 401


# --- GET vouchers/{code} ------------------------------------------------------------------------


def voucher_for(member, reward):
    return voucher_issue(reward=reward, member=member, channel=Voucher.Channel.CAMPAIGN)


@pytest.mark.parametrize("typed", ["as-is", "lower", "no-dash"])
def test_voucher_lookup_by_code(pho_client, catalogue, typed):
    member = MemberFactory()
    voucher = voucher_for(member, catalogue["PCT10"])
    code = {"as-is": voucher.code, "lower": voucher.code.lower(), "no-dash": voucher.code.replace("-", "")}[typed]
    response = pho_client.get(f"/api/pos/v1/vouchers/{code}")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("code", "name", "kind", "status", "member_id")} == {
        "code": voucher.code,
        "name": "Giảm 10 %",
        "kind": "percent",
        "status": "issued",
        "member_id": member.pk,
    }
    assert ISO_WITH_OFFSET.match(body["expires_at"])
    assert datetime.datetime.fromisoformat(body["expires_at"]) == voucher.expires_at
    assert (body["reward"], body["used_at"], body["usable_here"]) == ("PCT10", None, True)


def test_voucher_statuses(pho_client, pho_store, catalogue, monkeypatch):
    member = MemberFactory()
    used, void, old = (voucher_for(member, catalogue["PCT10"]) for _ in range(3))
    voucher_use(voucher=used, store=pho_store, sale_reference="sale:1", at=timezone.now())
    voucher_void(voucher=void, by=None, reason="Nhầm")

    def status_of(voucher):
        return pho_client.get(f"/api/pos/v1/vouchers/{voucher.code}").json()["status"]

    assert status_of(used) == "used"
    assert status_of(void) == "void"
    assert status_of(old) == "issued"
    later = old.expires_at + datetime.timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    # Past its expiry the till sees it expired, even before the nightly job marks it.
    assert status_of(old) == "expired"


def test_voucher_of_another_brand_is_not_usable_here(pho_client, catalogue):
    voucher = voucher_for(MemberFactory(), catalogue["CAFE-B2G1"])
    body = pho_client.get(f"/api/pos/v1/vouchers/{voucher.code}").json()
    assert (body["status"], body["usable_here"]) == ("issued", False)


@pytest.mark.parametrize("code", ["ZZZZ-ZZZZ", "nothing", "0000-0000"])
def test_unknown_voucher_is_404(pho_client, code):
    problem(pho_client.get(f"/api/pos/v1/vouchers/{code}"), "voucher-not-found")


def test_voucher_lookup_needs_a_key():
    assert APIClient().get("/api/pos/v1/vouchers/ZZZZ-ZZZZ").status_code == 401


# --- The OpenAPI schema -------------------------------------------------------------------------


def test_the_schema_documents_every_status_code(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    rewards = paths["/api/pos/v1/rewards"]["get"]
    assert set(rewards["responses"]) >= {"200", "400", "401", "403", "404", "429"}
    redemptions = paths["/api/pos/v1/members/{member_id}/redemptions"]["post"]
    assert set(redemptions["responses"]) >= {"201", "400", "401", "403", "404", "409", "422", "429"}
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in redemptions["parameters"])
    voucher = paths["/api/pos/v1/vouchers/{code}"]["get"]
    assert set(voucher["responses"]) >= {"200", "401", "403", "404", "429"}
