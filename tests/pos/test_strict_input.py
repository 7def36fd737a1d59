"""Strict input on every POS endpoint (issue 13): numbers too large for the database are a 400,
never a 500; numbers and dates parse only in their plain ASCII form; oversized bodies answer
413 and deeply nested JSON 400, as problem+json. Every case asserts that nothing was written."""

import json

import pytest

from members.models import LedgerEntry, Member
from pos.models import LimitRefusal, Refund, Sale, TerminalDay
from tests.factories import MemberFactory
from tests.pos.conftest import post, problem
from vouchers.models import Voucher

HUGE = [10**16, 10**30, 2**63, 1e308]
NOT_PLAIN = ["1_000", "１２３", "1 000", "0x10", "1e3", "", True]
SALES = "/api/pos/v1/sales"
QUOTE = "/api/pos/v1/sales/quote"


def counts():
    return (
        Sale.objects.count(),
        Refund.objects.count(),
        LedgerEntry.objects.count(),
        Voucher.objects.count(),
        Member.objects.count(),
        LimitRefusal.objects.count(),
        TerminalDay.objects.count(),
    )


def sale_body(who, **changes):
    body = {
        "receipt_number": "STRICT-1",
        "member": who.pk,
        "lines": [{"sku": "PHO-GA", "quantity": 1, "unit_price": 50000}],
        "points_to_redeem": 0,
    }
    for path, value in changes.items():
        if path.startswith("lines."):
            body["lines"][0][path.split(".")[2]] = value
        else:
            body[path] = value
    return body


@pytest.fixture
def member(demo_programme):
    return MemberFactory(points=100)


@pytest.fixture
def recorded_sale(pho, member):
    response = post(pho, SALES, sale_body(member, receipt_number="BASE-1"), key="base-1")
    assert response.status_code == 201, response.content
    return response.json()["id"]


SALE_FIELDS = ["member", "lines.0.quantity", "lines.0.unit_price", "points_to_redeem"]


@pytest.mark.parametrize("value", HUGE + NOT_PLAIN, ids=repr)
@pytest.mark.parametrize("field", SALE_FIELDS)
@pytest.mark.parametrize("path", [SALES, QUOTE])
def test_sale_and_quote_numbers(pho, member, path, field, value):
    before = counts()
    response = post(pho, path, sale_body(member, **{field: value}), key="strict-1")
    assert response.status_code == 400, response.content
    assert field in problem(response, "validation-error")["errors"]
    assert counts() == before


@pytest.mark.parametrize("value", HUGE + NOT_PLAIN, ids=repr)
def test_refund_quantity(pho, recorded_sale, value):
    before = counts()
    body = {"lines": [{"sku": "PHO-GA", "quantity": value}]}
    response = post(pho, f"{SALES}/{recorded_sale}/refunds", body, key="refund-1")
    assert response.status_code == 400, response.content
    assert "lines.0.quantity" in problem(response, "validation-error")["errors"]
    assert counts() == before


PATH_IDS = [str(10**16), str(10**30), str(2**63), str(int(1e308))]


@pytest.mark.parametrize("value", PATH_IDS, ids=lambda v: f"{len(v)}-digits")
@pytest.mark.parametrize(
    ("method", "template", "body"),
    [
        ("get", SALES + "/{}", None),
        ("post", SALES + "/{}/refunds", {}),
        ("post", "/api/pos/v1/members/{}/redemptions", {"reward": "CASH50K"}),
    ],
)
def test_ids_in_the_path(pho, member, method, template, body, value):
    before = counts()
    if method == "get":
        response = pho.get(template.format(value))
    else:
        response = post(pho, template.format(value), body, key="path-1")
    assert response.status_code == 400, response.content
    problem(response, "validation-error")
    assert counts() == before


@pytest.mark.parametrize("value", [str(v) for v in HUGE] + ["1_000", "１２３", "1e3"], ids=repr)
def test_member_in_the_rewards_query(pho, value):
    response = pho.get("/api/pos/v1/rewards", {"member": value})
    assert response.status_code == 400, response.content
    assert "member" in problem(response, "validation-error")["errors"]


@pytest.mark.parametrize("value", ["1990-1-1", "1990-01-1", "１９９０-01-01", "01/01/1990", "19900101", 19900101])
def test_enrol_birthday_dates_parse_strictly(pho, demo_programme, value):
    before = counts()
    body = {"name": "Trần Thị Mai", "phone": "0912000111", "birthday": value}
    response = post(pho, "/api/pos/v1/members", body, key="enrol-1")
    assert response.status_code == 400, response.content
    assert "birthday" in problem(response, "validation-error")["errors"]
    assert counts() == before


@pytest.mark.parametrize(
    "value", ["2024-1-1T10:00:00+07:00", "２０２４-01-01T10:00:00+07:00", "2024-01-01T1:00", "yesterday", 1700000000]
)
def test_occurred_at_parses_strictly(pho, member, value):
    before = counts()
    response = post(pho, SALES, sale_body(member, occurred_at=value), key="when-1")
    assert response.status_code == 400, response.content
    assert "occurred_at" in problem(response, "validation-error")["errors"]
    assert counts() == before


def test_plain_forms_still_parse(pho, member):
    body = sale_body(member, member=str(member.pk), points_to_redeem="0")
    body["lines"][0].update(quantity="2", unit_price="50000.50")
    assert post(pho, QUOTE, body).status_code == 200
    enrol = {"name": "Lê Văn An", "phone": "0912000222", "birthday": "1990-01-01"}
    assert post(pho, "/api/pos/v1/members", enrol, key="enrol-ok").status_code == 201


def test_a_subtotal_too_large_for_the_database_is_a_400(pho, member):
    """Each line within bounds, their sum beyond what a money column holds."""
    before = counts()
    body = sale_body(member)
    body["lines"] = [{"sku": f"X{i}", "quantity": 100_000, "unit_price": 10**12} for i in range(2)]
    response = post(pho, SALES, body, key="sum-1")
    assert response.status_code == 400, response.content
    assert "lines" in problem(response, "validation-error")["errors"]
    assert counts() == before


@pytest.mark.parametrize("path", [SALES, QUOTE, "/api/pos/v1/members"])
def test_an_oversized_body_answers_413(pho, member, path, settings):
    before = counts()
    body = sale_body(member, receipt_number="x" * (settings.POS_MAX_BODY_BYTES + 10))
    response = post(pho, path, body, key="big-body")
    assert response.status_code == 413, response.content
    assert problem(response, "payload-too-large")["max_bytes"] == settings.POS_MAX_BODY_BYTES
    assert counts() == before


@pytest.mark.parametrize("depth", [50, 100_000])
@pytest.mark.parametrize("path", [SALES, QUOTE])
def test_deeply_nested_json_answers_400(pho, member, path, depth):
    before = counts()
    raw = '{"receipt_number": "N-1", "lines": ' + "[" * depth + "]" * depth + "}"
    response = pho.post(path, data=raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="deep")
    assert response.status_code == 400, response.content
    problem(response, "validation-error")
    assert counts() == before


def test_json_constants_are_refused(pho, member):
    raw = json.dumps(sale_body(member)).replace('"points_to_redeem": 0', '"points_to_redeem": NaN')
    response = pho.post(QUOTE, data=raw, content_type="application/json")
    assert response.status_code == 400, response.content
    problem(response, "validation-error")
