"""Issue 14's end-to-end journey in Chromium at a phone's size (390×844), a screenshot of every
page kept: a member enrolled and given points through the POS API signs in at /m/ with the code
read from the message file, sees the balance the POS API reports, exchanges points for a reward
and sees the voucher, claims a campaign voucher from the link in the campaign's email, turns SMS
consent off (recorded from member-web), and, in a fresh browser that is not signed in,
unsubscribes from that marketing email's link (recorded from the unsubscribe link)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from campaigns.audiences.services import group_add_members, group_create
from campaigns.runs.models import Campaign
from campaigns.runs.services import campaign_activate, campaign_run, campaign_save
from members.models import ConsentChange, Member
from notifications.models import Event
from stores.services import terminal_create
from tests.browser import PHONE, screenshot
from tests.notifications.helpers import make_template
from tests.vouchers.factories import RewardFactory
from tiers.demo import demo_tiers_load
from vouchers.models import Voucher

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

API = "/api/pos/v1"
PHONE_NUMBER = "0987 654 321"


def lines_of(folder: Path, channel: str) -> list[dict]:
    path = folder / f"{channel}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def link_in(text: str, path: str) -> str:
    match = re.search(rf"https?://[^\s\"'<>]+{re.escape(path)}[^\s\"'<>]+", text)
    assert match, f"no {path} link in {text!r}"
    return match.group(0)


def till(store) -> APIClient:
    _terminal, key = terminal_create(store=store, name="Quầy web")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def pos_post(client: APIClient, path: str, body: dict, key: str):
    response = client.post(f"{API}{path}", data=body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 201, response.content
    return response.json()


def points_reported(client: APIClient, phone: str) -> int:
    """The balance in the till's member summary (pos-api.md has no `GET /members/{id}`: the
    till looks a member up by phone, card or code)."""
    response = client.get(f"{API}/members/lookup", {"q": phone})
    assert response.status_code == 200, response.content
    return response.json()["points_balance"]


def balance_shown(page) -> int:
    return int(page.wait_for_selector("[data-points-balance]").get_attribute("data-points-balance"))


def test_a_member_of_the_till_uses_the_member_pages_end_to_end(
    browser, phone_page, live_server, store, sign_in_templates, tmp_path
):
    with override_settings(MESSAGE_FILES_DIR=str(tmp_path), PORTAL_BASE_URL=live_server.url):
        run_the_journey(browser, phone_page, live_server, store, tmp_path)


def run_the_journey(browser, page, live_server, store, folder: Path) -> None:
    # The till enrols the member with consent to SMS and email, then records a sale.
    demo_tiers_load()
    pos = till(store)
    enrolled = pos_post(
        pos,
        "/members",
        {
            "name": "Đỗ Thị Hồng",
            "phone": PHONE_NUMBER,
            "email": "hong@example.vn",
            "consent_sms": True,
            "consent_email": True,
        },
        key="journey-enrol",
    )
    member_id = enrolled["id"]
    lines = [{"sku": "PHO-DB", "name": "Phở đặc biệt", "quantity": 4, "unit_price": 250_000}]
    sale = pos_post(pos, "/sales", {"receipt_number": "HD-WEB-1", "member": member_id, "lines": lines}, "journey-1")
    assert sale["points_earned"] > 0
    reported = points_reported(pos, PHONE_NUMBER)
    assert reported == sale["points_balance"]
    reward = RewardFactory(code="WEB-DEAL", name="Giảm 20.000 đ", points_cost=max(1, reported // 2))

    # Sign in with the code the SMS would have carried.
    page.goto("/m/")
    screenshot(page, "sign-in")
    page.fill("input[name=phone]", "0987654321")
    page.click("form button.primary")
    page.wait_for_selector("input[autocomplete=one-time-code]")
    screenshot(page, "sign-in-code")
    [sms] = [line for line in lines_of(folder, "sms") if line["to"] == "+84987654321"]
    code = re.search(r"\b(\d{6})\b", sms["text"]).group(1)
    page.fill("input[name=code]", code)
    page.click("form button.primary")
    assert balance_shown(page) == reported
    screenshot(page, "home")

    # Exchange points for the reward; the voucher is on /m/vouchers/ and the balance has moved.
    page.goto("/m/rewards/")
    screenshot(page, "rewards")
    page.click(f"[data-reward={reward.code}]")
    page.wait_for_selector("[data-confirm]")
    screenshot(page, "reward-confirm")
    page.click("[data-confirm]")
    exchanged = Voucher.objects.get(member_id=member_id, reward=reward)
    page.wait_for_selector(f"[data-voucher='{exchanged.code}']")
    screenshot(page, "reward-done")
    after_exchange = points_reported(pos, PHONE_NUMBER)
    assert after_exchange == reported - reward.points_cost
    page.goto("/m/vouchers/")
    assert page.locator(f"[data-voucher='{exchanged.code}']").is_visible()
    screenshot(page, "vouchers")
    page.goto("/m/")
    assert balance_shown(page) == after_exchange

    # A campaign whose voucher is claimed from the link in its (marketing) email.
    make_template(
        event="campaign",
        channel="email",
        subject="Quà của {member_name}",
        body="Nhận {voucher_name}: {claim_link}",
    )
    group = group_create(name="Khách web")
    group_add_members(group=group, members=[Member.objects.get(pk=member_id)], source="admin")
    campaign = campaign_save(
        campaign=Campaign(
            code="WEB-GIFT",
            name="Quà trên web",
            group=group,
            reward=RewardFactory(code="GIFT-WEB", name="Quà 30.000 đ", is_visible=False),
            voucher_delivery=Campaign.VoucherDelivery.CLAIM_LINK,
            notification_event=Event.CAMPAIGN,
            once_per=Campaign.OncePer.EVER,
        )
    )
    campaign_activate(campaign=campaign)
    campaign_run(campaign=campaign)
    assert not Voucher.objects.filter(member_id=member_id, reward__code="GIFT-WEB").exists()
    [email] = [line for line in lines_of(folder, "email") if line["to"] == "hong@example.vn"]
    page.goto(link_in(email["text"], "/m/claim/"))
    claimed = page.wait_for_selector("[data-voucher]").get_attribute("data-voucher")
    assert Voucher.objects.get(code=claimed).member_id == member_id
    assert Voucher.objects.get(code=claimed).reward.code == "GIFT-WEB"
    screenshot(page, "claim")
    page.goto("/m/vouchers/")
    assert page.locator(f"[data-voucher='{claimed}']").is_visible()

    # The other pages, and the English switch once.
    page.goto("/m/card/")
    page.wait_for_selector("#card-qr svg")
    screenshot(page, "card")
    page.goto("/m/history/")
    screenshot(page, "history")
    page.click("form.lang button[value=en]")
    page.wait_for_selector("html[lang=en]")
    screenshot(page, "history-english")
    page.click("form.lang button[value=vi]")
    page.wait_for_selector("html[lang=vi]")

    # SMS consent off on /m/consent/: stored and recorded from member-web.
    page.goto("/m/consent/")
    screenshot(page, "consent")
    page.uncheck("#consent_sms")
    page.click("form.card-box button.primary")
    page.wait_for_selector("[role=status]")
    screenshot(page, "consent-saved")
    member = Member.objects.get(pk=member_id)
    assert member.consent_sms_at is None and member.consent_email_at is not None
    assert ConsentChange.objects.filter(member=member, channel="sms", given=False, source="member-web").count() == 1

    # Not signed in, a fresh browser unsubscribes from the marketing email's link.
    context = browser.new_context(viewport=PHONE, locale="vi-VN", base_url=live_server.url)
    try:
        stranger = context.new_page()
        stranger.test_name, stranger.shot_count = page.test_name, page.shot_count
        stranger.goto(link_in(email["text"], "/m/unsubscribe/"))
        screenshot(stranger, "unsubscribe-confirm")
        stranger.locator("[data-unsubscribe=confirm]").click()
        stranger.locator("[data-unsubscribe=done]").wait_for()
        screenshot(stranger, "unsubscribe-done")
    finally:
        context.close()
    member.refresh_from_db()
    assert member.consent_email_at is None
    recorded = ConsentChange.objects.filter(member=member, channel="email", given=False, source="unsubscribe-link")
    assert recorded.count() == 1
