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


# --- django-celery-beat: no Vietnamese catalogue of its own (loyalty_site/core/celery_beat_messages.py)

_GETTEXT_CALLS = {"_", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy"}


def _celery_beat_messages() -> set[tuple[str, str | None]]:
    """Every (msgid, msgid_plural) django-celery-beat's code passes to gettext, read from its source."""
    import ast

    import django_celery_beat

    found = set()
    for path in Path(django_celery_beat.__file__).parent.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in _GETTEXT_CALLS:
                texts = [a.value for a in node.args[:2] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                if texts:
                    found.add((texts[0], texts[1] if len(texts) > 1 and name.startswith("ngettext") else None))
    return found


def test_every_message_of_django_celery_beat_reads_in_vietnamese():
    from django.utils import translation

    messages = _celery_beat_messages()
    assert len(messages) > 100  # the scan found the package's messages
    with translation.override("vi"):
        untranslated = [
            msgid
            for msgid, plural in messages
            if (translation.ngettext(msgid, plural, 1) if plural else translation.gettext(msgid)) == msgid
        ]
    assert not untranslated, f"add to loyalty_site/core/celery_beat_messages.py and translate: {untranslated}"


@pytest.mark.django_db
def test_the_periodic_task_admin_is_vietnamese(admin_client):
    from django.urls import reverse
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    crontab = CrontabSchedule.objects.create(minute="5", hour="0")
    PeriodicTask.objects.create(name="sweep", task="notifications.sweep_outbox", crontab=crontab)

    listing = admin_client.get(reverse("admin:django_celery_beat_periodictask_changelist")).content.decode()
    assert "Tác vụ định kỳ" in listing and "Bật các tác vụ đã chọn" in listing
    assert "Periodic Tasks" not in listing and "Enable selected tasks" not in listing

    form = admin_client.get(reverse("admin:django_celery_beat_periodictask_add")).content.decode()
    for vietnamese in ("Tác vụ (đã đăng ký)", "Lịch cron", "Tham số theo vị trí", "Tùy chọn thực thi", "Đang bật"):
        assert vietnamese in form
    for english in ("Task (registered)", "Crontab Schedule", "Positional Arguments", "Execution Options", "Enabled"):
        assert english not in form
    assert "Họ và tên" not in form  # "Name" is a task's name here, not a person's


# --- Django's own admin: what its Vietnamese catalogue leaves out (loyalty_site/core/django_admin_messages.py)


def test_every_message_of_the_django_admin_reads_in_vietnamese():
    import django.contrib.admin
    from django.utils import translation

    locale = Path(django.contrib.admin.__file__).parent / "locale"
    english = polib.pofile(str(locale / "en/LC_MESSAGES/django.po"))
    django_vi = {e.msgid for e in polib.pofile(str(locale / "vi/LC_MESSAGES/django.po")) if e.msgstr}
    left_out = [e.msgid for e in english if not e.msgid_plural and not e.msgctxt and e.msgid not in django_vi]
    with translation.override("vi"):
        untranslated = [msgid for msgid in left_out if translation.gettext(msgid) == msgid]
    assert len(english) > 100
    assert not untranslated, f"add to loyalty_site/core/django_admin_messages.py and translate: {untranslated}"


@pytest.mark.django_db
def test_a_filtered_admin_list_offers_its_counts_in_vietnamese(admin_client):
    listing = admin_client.get("/admin/stores/store/").content.decode()
    assert "Hiện số lượng" in listing and "Show counts" not in listing
    # The lists of large tables offer no counts at all (issue 18: each one a scan).
    assert "Hiện số lượng" not in admin_client.get("/admin/pos/sale/").content.decode()
