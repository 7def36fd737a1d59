"""The browser test set-up works: Debian's Chromium opens the staff sign-in page of the live
server in Vietnamese and a screenshot is kept."""

import pytest

from tests.browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_sign_in_page_in_chromium(desk_page):
    desk_page.goto("/admin/login/")
    assert desk_page.locator("input[name=username]").is_visible()
    assert desk_page.locator("html").get_attribute("lang") == "vi"
    assert screenshot(desk_page, "admin-sign-in").stat().st_size > 1000
