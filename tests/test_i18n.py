"""Vietnamese first: every string we wrote is translated, the compiled catalogue is current, and
the admin speaks Vietnamese by default and English on request."""

from pathlib import Path

import polib
import pytest

PO = Path(__file__).resolve().parent.parent / "locale/vi/LC_MESSAGES/django.po"


def test_every_message_has_a_vietnamese_translation():
    po = polib.pofile(str(PO))
    missing = [e.msgid for e in po if not (e.msgstr or e.msgstr_plural.get(0)) or "fuzzy" in e.flags]
    assert not missing, f"untranslated: {missing}"
    assert len(po) > 50


def test_the_compiled_catalogue_matches_the_source():
    po = polib.pofile(str(PO))
    mo = polib.mofile(str(PO.with_suffix(".mo")))
    compiled = {(e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural.get(0) for e in mo}
    source = {(e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural.get(0) for e in po}
    assert compiled == source, "run `make messages` to recompile locale/vi/LC_MESSAGES/django.mo"


@pytest.mark.django_db
def test_admin_is_vietnamese_whatever_the_browser_says_until_the_user_switches(client):
    vi = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "Quản trị chương trình khách hàng thân thiết" in vi
    assert "Tên đăng nhập" in vi
    switched = client.post("/i18n/setlang/", {"language": "en", "next": "/admin/login/"}, follow=True)
    en = switched.content.decode()
    assert "Loyalty programme back office" in en
    assert "Username" in en


@pytest.mark.django_db
def test_the_api_follows_accept_language(client):
    vi = client.get("/api/pos/v1/nothing-here").json()
    en = client.get("/api/pos/v1/nothing-here", HTTP_ACCEPT_LANGUAGE="en").json()
    assert (vi["title"], en["title"]) == ("Không tìm thấy.", "Not found.")
