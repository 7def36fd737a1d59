"""Staff sign-in (risk.md): wrong passwords lock the account and the address for a while, the
lock is lifted by time or by an admin; Programme leads and superusers give a one-time code from
their authenticator app before any admin page; sessions last 12 hours."""

from __future__ import annotations

import datetime
import io

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from backoffice.roles import PROGRAMME_LEAD, STORE_MANAGER
from backoffice.signin import client_ip, totp_device_enrol

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/"
PASSWORD = "Right-passw0rd"
HOME = "203.0.113.7"


def sign_in(client: Client, username: str, password: str, address: str = HOME):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"}, REMOTE_ADDR=address)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def staff(username: str = "hoa", *, superuser: bool = False, group: str = "") -> User:
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True, is_superuser=superuser)
    if group:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


def wrong_passwords(client: Client, username: str, count: int, address: str = HOME) -> list[int]:
    return [sign_in(client, username, f"wrong-{i}", address).status_code for i in range(count)]


# --- Lockout --------------------------------------------------------------------------------


def test_the_right_password_signs_in():
    staff()
    client = Client()
    assert sign_in(client, "hoa", PASSWORD).status_code == 302
    assert signed_in(client)


def test_n_wrong_passwords_lock_then_the_right_one_is_refused_until_the_cool_off_ends():
    user = staff()
    client = Client()

    codes = wrong_passwords(client, "hoa", settings.AXES_FAILURE_LIMIT)

    assert codes == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    refused = sign_in(client, "hoa", PASSWORD)
    assert refused.status_code == 429
    assert not signed_in(client)
    user.refresh_from_db()
    assert user.last_login is None  # the refused sign-in wrote nothing about the user

    with time_machine.travel(timezone.now() + settings.AXES_COOLOFF_TIME + datetime.timedelta(minutes=1)):
        assert sign_in(client, "hoa", PASSWORD).status_code == 302
        assert signed_in(client)


def test_one_wrong_password_short_of_the_limit_does_not_lock_and_a_success_clears_the_count():
    staff()
    client = Client()
    wrong_passwords(client, "hoa", settings.AXES_FAILURE_LIMIT - 1)
    assert sign_in(client, "hoa", PASSWORD).status_code == 302
    assert not AccessAttempt.objects.exists()


def test_the_account_is_locked_from_every_address():
    staff()
    wrong_passwords(Client(), "hoa", settings.AXES_FAILURE_LIMIT, address="198.51.100.1")

    elsewhere = Client()
    assert sign_in(elsewhere, "hoa", PASSWORD, address="198.51.100.99").status_code == 429
    assert not signed_in(elsewhere)


def test_the_address_is_locked_for_every_account_but_other_addresses_are_not():
    staff("lan")
    for i in range(settings.AXES_FAILURE_LIMIT):
        sign_in(Client(), f"guess{i}", "wrong")

    same_address = Client()
    assert sign_in(same_address, "lan", PASSWORD).status_code == 429
    assert not signed_in(same_address)
    assert sign_in(Client(), "lan", PASSWORD, address="198.51.100.2").status_code == 302


def test_the_lockout_page_says_so_in_vietnamese_by_default():
    staff()
    response = [sign_in(Client(), "hoa", "wrong") for _ in range(settings.AXES_FAILURE_LIMIT)][-1]

    page = response.content.decode()
    assert response.status_code == 429
    assert "Đăng nhập bị khóa sau 5 lần nhập sai mật khẩu" in page
    assert "30 phút" in page


def test_an_admin_lifts_the_lock_by_deleting_the_access_attempt():
    staff()
    wrong_passwords(Client(), "hoa", settings.AXES_FAILURE_LIMIT)
    attempt = AccessAttempt.objects.get(username="hoa")
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", password="x"))

    response = admin.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert sign_in(Client(), "hoa", PASSWORD).status_code == 302


def test_behind_a_proxy_the_client_address_is_the_one_the_proxy_saw():
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")
    assert client_ip(request) == "10.0.0.2"
    with override_settings(TRUSTED_PROXY_COUNT=1):
        assert client_ip(request) == "203.0.113.9"  # "1.2.3.4" could be forged by the client
    with override_settings(TRUSTED_PROXY_COUNT=3):
        assert client_ip(request) == "10.0.0.2"  # fewer entries than proxies: not trusted


# --- Sessions -------------------------------------------------------------------------------


def test_a_staff_session_lasts_twelve_hours():
    staff()
    client = Client()
    sign_in(client, "hoa", PASSWORD)

    assert settings.SESSION_COOKIE_AGE == 12 * 3600
    assert client.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 12 * 3600


# --- One-time codes -------------------------------------------------------------------------


def code_of(device: TOTPDevice, *, shift: int = 0) -> str:
    return str(totp(device.bin_key, step=device.step, t0=device.t0 - shift * device.step, digits=device.digits)).zfill(
        device.digits
    )


@pytest.fixture
def otp_on(settings):
    settings.STAFF_OTP_REQUIRED = True


@pytest.mark.usefixtures("otp_on")
@pytest.mark.parametrize("kind", ["superuser", "lead"])
def test_a_lead_or_superuser_gives_the_code_before_any_admin_page(kind):
    user = staff(superuser=kind == "superuser", group=PROGRAMME_LEAD if kind == "lead" else "")
    device = totp_device_enrol(user=user)
    client = Client()
    sign_in(client, "hoa", PASSWORD)

    response = client.get("/admin/members/member/")
    verify = reverse("staff-otp-verify")
    assert response.status_code == 302 and response["Location"].startswith(verify)

    wrong = client.post(verify, {"token": code_of(device, shift=10), "next": "/admin/members/member/"})
    assert wrong.status_code == 200 and "Mã không đúng hoặc đã hết hạn" in wrong.content.decode()
    assert client.get("/admin/").status_code == 302  # still not verified

    # After a wrong code django-otp makes the next try wait (1 s, doubling with each failure).
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=5)):
        right = client.post(verify, {"token": code_of(device), "next": "/admin/members/member/"})
        assert right.status_code == 302 and right["Location"] == "/admin/members/member/"
        assert client.get("/admin/").status_code == 200


@pytest.mark.usefixtures("otp_on")
def test_a_code_cannot_be_used_twice():
    user = staff(superuser=True)
    device = totp_device_enrol(user=user)
    first, second = Client(), Client()
    sign_in(first, "hoa", PASSWORD)
    sign_in(second, "hoa", PASSWORD)
    code = code_of(device)

    assert first.post(reverse("staff-otp-verify"), {"token": code}).status_code == 302
    assert second.post(reverse("staff-otp-verify"), {"token": code}).status_code == 200
    assert second.get("/admin/").status_code == 302


@pytest.mark.usefixtures("otp_on")
def test_a_store_manager_needs_no_code():
    staff(group=STORE_MANAGER)
    client = Client()
    sign_in(client, "hoa", PASSWORD)
    assert client.get("/admin/").status_code == 200


@pytest.mark.usefixtures("otp_on")
def test_a_superuser_without_an_authenticator_is_told_how_to_set_one_up():
    staff(superuser=True)
    client = Client()
    sign_in(client, "hoa", PASSWORD)

    page = client.get(reverse("staff-otp-verify")).content.decode()

    assert "manage.py otp_enrol hoa" in page
    assert client.get("/admin/").status_code == 302


@pytest.mark.usefixtures("otp_on")
def test_the_code_page_never_redirects_to_another_site():
    user = staff(superuser=True)
    device = totp_device_enrol(user=user)
    client = Client()
    sign_in(client, "hoa", PASSWORD)

    response = client.post(reverse("staff-otp-verify"), {"token": code_of(device), "next": "https://evil.example/"})

    assert response["Location"] == "/admin/"


def test_otp_enrol_prints_the_provisioning_link_and_refuses_a_second_device_without_replace():
    user = staff(superuser=True)
    out = io.StringIO()

    call_command("otp_enrol", "hoa", stdout=out)

    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed
    assert device.config_url in out.getvalue() and device.config_url.startswith("otpauth://totp/")
    with pytest.raises(CommandError, match="--replace"):
        call_command("otp_enrol", "hoa", stdout=io.StringIO())
    assert list(TOTPDevice.objects.filter(user=user)) == [device]
    assert TOTPDevice.objects.get(user=user).key == device.key

    call_command("otp_enrol", "hoa", "--replace", stdout=io.StringIO())
    replaced = TOTPDevice.objects.get(user=user)
    assert replaced.pk != device.pk and replaced.key != device.key


def test_otp_enrol_of_nobody_is_refused():
    with pytest.raises(CommandError):
        call_command("otp_enrol", "nobody", stdout=io.StringIO())
    assert not TOTPDevice.objects.exists()
