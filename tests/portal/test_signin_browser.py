"""Smoke test of the sign-in in Chromium at a phone's size (390×844); the end-to-end journey
is tested after the member pages are merged."""

import pytest

from tests.browser import screenshot
from tests.factories import MemberFactory
from tests.portal.conftest import last_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_with_the_code_from_the_message(phone_page, sign_in_templates):
    member = MemberFactory(phone="+84912345678", points=1250)
    phone_page.goto("/m/")
    screenshot(phone_page, "sign-in")
    phone_page.fill("input[name=phone]", "0912 345 678")
    phone_page.click("button.primary")
    phone_page.wait_for_selector("input[autocomplete=one-time-code]")
    screenshot(phone_page, "code")
    phone_page.fill("input[name=code]", last_code(member.phone))
    phone_page.click("button.primary")
    balance = phone_page.wait_for_selector("[data-points-balance]")
    assert balance.get_attribute("data-points-balance") == "1250"
    assert phone_page.locator("html").get_attribute("lang") == "vi"
    screenshot(phone_page, "home")
    phone_page.goto("/m/card/")
    phone_page.wait_for_selector("#card-qr svg")
    screenshot(phone_page, "card")
