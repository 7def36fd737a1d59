"""risk.md "Dependencies failing" and the deployment findings of issue 13, without real outages:
a cache at a closed port, a broker that raises, a database that refuses. The real outages are in
tests/pos/test_dependency_faults.py (slow, PostgreSQL)."""

import datetime
import os
import socket
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import OperationalError, connection, transaction
from django.test import Client, override_settings
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from rest_framework.test import APIClient

from loyalty_site.core import dispatch
from loyalty_site.core.cache import FailOpenRedisCache, cache_ping
from stores.models import Terminal

ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dead_redis_cache():
    return {
        "default": {
            "BACKEND": "loyalty_site.core.cache.FailOpenRedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5},
        }
    }


@pytest.fixture(autouse=True)
def _broker_backoff_forgotten():
    dispatch.broker_backoff_reset()
    yield
    dispatch.broker_backoff_reset()


# --- Redis down: the cache fails open ---------------------------------------------------------


def test_a_dead_redis_is_a_cache_miss_fast_and_logged(caplog, monkeypatch):
    from loyalty_site.core import cache as cache_module

    monkeypatch.setitem(cache_module._last_logged, "at", 0.0)  # one warning per 30 s per process
    backend = FailOpenRedisCache(f"redis://127.0.0.1:{closed_port()}/0", {"OPTIONS": {"socket_connect_timeout": 0.25}})
    started = time.monotonic()
    backend.set("k", "v")
    assert backend.get("k") is None
    assert backend.get("k", "fallback") == "fallback"
    assert backend.add("k", 1) is False
    assert backend.get_many(["a", "b"]) == {}
    backend.delete("k")
    with pytest.raises(ValueError):
        backend.incr("k")
    assert time.monotonic() - started < 3
    assert "cache unavailable" in caplog.text


def test_the_redis_url_gets_the_fail_open_backend_and_short_timeouts():
    from loyalty_site.settings.base import _tune_cache

    tuned = _tune_cache({"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://h:6379/1"})
    assert tuned["BACKEND"] == "loyalty_site.core.cache.FailOpenRedisCache"
    assert tuned["OPTIONS"]["socket_connect_timeout"] <= 1 and tuned["OPTIONS"]["socket_timeout"] <= 1
    locmem = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    assert _tune_cache(locmem) == locmem


def test_postgres_connections_time_out_in_seconds():
    from loyalty_site.settings.base import _tune_database

    db = _tune_database({"ENGINE": "django.db.backends.postgresql", "NAME": "x"})
    assert 0 < db["OPTIONS"]["connect_timeout"] <= 5


@pytest.mark.django_db
def test_with_the_cache_down_the_api_answers_and_healthz_says_the_cache_is_down(pos_client):
    with override_settings(CACHES=dead_redis_cache()):
        assert not cache_ping()
        response = pos_client.get("/api/pos/v1/members/lookup", {"q": "0912345678"})
        assert response.status_code == 404  # answered from the database: no such member
        health = Client().get("/healthz", {"deep": "1"})
    assert health.status_code == 200
    assert health.json()["cache"] == "down" and health.json()["status"] == "degraded"


@pytest.mark.django_db
def test_healthz_deep_lists_every_dependency(client):
    response = client.get("/healthz?deep=1")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["cache"], body["broker"]) == ("ok", "ok", "ok", "ok")
    assert body["unauthenticated_attempts_today"] == 0


def test_throttling_fails_open_when_the_cache_raises(monkeypatch, caplog):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from loyalty_site.core.api.throttling import TerminalRateThrottle

    throttle = TerminalRateThrottle()

    class Down:
        def get(self, *args, **kwargs):
            raise RedisConnectionError("down")

    throttle.cache = Down()
    request = type("R", (), {"auth": Terminal(pk=1)})()
    assert throttle.allow_request(request, None) is True
    assert "throttling skipped" in caplog.text


# --- Broker down: committed work keeps its answer ---------------------------------------------


class _DeadTask:
    name = "tests.dead"

    def __init__(self):
        self.calls = 0

    def delay(self, *args, **kwargs):
        self.calls += 1
        raise KombuOperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


@pytest.mark.django_db(transaction=True)
def test_a_dead_broker_never_raises_into_the_committed_request_and_the_fallback_keeps_the_work(caplog):
    task, done = _DeadTask(), []
    with transaction.atomic():
        dispatch.task_enqueue_after_commit(task, 7, fallback=lambda: done.append(7))
        dispatch.task_enqueue_after_commit(task, 8, fallback=lambda: done.append(8))
    # One attempt, then the process leaves the broker alone for a while: one timeout, not two.
    assert task.calls == 1
    assert done == [7, 8]
    assert "broker unavailable" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_nothing_is_queued_when_the_transaction_rolls_back():
    task, done = _DeadTask(), []
    with pytest.raises(RuntimeError), transaction.atomic():
        dispatch.task_enqueue_after_commit(task, 7, fallback=lambda: done.append(7))
        raise RuntimeError
    assert (task.calls, done) == (0, [])


def test_the_broker_gives_up_publishing_quickly():
    from django.conf import settings

    assert settings.CELERY_BROKER_CONNECTION_TIMEOUT <= 2
    assert settings.CELERY_TASK_PUBLISH_RETRY_POLICY["max_retries"] <= 1
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["socket_connect_timeout"] <= 2


# --- Database down: 503, never a hang or a 500 --------------------------------------------------


@pytest.fixture
def database_refuses(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr(connection, "ensure_connection", refuse)
    monkeypatch.setattr(connection, "cursor", refuse)


@pytest.mark.django_db
def test_the_api_answers_503_problem_json_when_the_database_is_down(pos_client, database_refuses):
    response = pos_client.get("/api/pos/v1/members/lookup", {"q": "0912345678"})
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "/problems/service-unavailable"
    assert response["Retry-After"]


@pytest.mark.django_db
def test_the_admin_answers_a_plain_503_page_when_the_database_is_down(monkeypatch):
    staff = Client(raise_request_exception=False)
    staff.force_login(get_user_model().objects.create_superuser("boss", password="pw-for-tests-only"))

    def refuse(*args, **kwargs):
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr(connection, "ensure_connection", refuse)
    monkeypatch.setattr(connection, "cursor", refuse)
    response = staff.get("/admin/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert b"503" in response.content


@pytest.mark.django_db
def test_any_other_error_stays_a_500(monkeypatch):
    from loyalty_site.core import views

    def boom(request):
        raise RuntimeError("a bug")

    monkeypatch.setattr(views, "_database_ok", boom)
    assert Client(raise_request_exception=False).get("/healthz").status_code == 500


# --- Refused API keys: throttled per address and counted --------------------------------------


@pytest.mark.django_db
@override_settings(POS_UNAUTHENTICATED_RATE="3/min")
def test_wrong_keys_are_throttled_per_address_counted_and_change_nothing(terminal_and_key, caplog):
    terminal, key = terminal_and_key
    before = list(Terminal.objects.values_list("pk", "last_used_at"))
    guesser = APIClient(REMOTE_ADDR="203.0.113.7")
    guesser.credentials(HTTP_AUTHORIZATION="Api-Key lk_wrong_key")
    answers = [guesser.get("/api/pos/v1/rewards").status_code for _ in range(3)]
    assert answers == [401, 401, 401]
    # Throttled before any key is looked up: even the right key from that address waits.
    guesser.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    throttled = guesser.get("/api/pos/v1/rewards")
    assert throttled.status_code == 429 and throttled["Retry-After"]
    assert throttled.json()["type"] == "/problems/throttled"
    # A missing key counts too; another address is not affected.
    assert APIClient(REMOTE_ADDR="203.0.113.8").get("/api/pos/v1/rewards").status_code == 401
    other = APIClient(REMOTE_ADDR="198.51.100.1")
    other.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert other.get("/api/pos/v1/rewards").status_code == 200
    assert "POS API request refused" in caplog.text and "203.0.113.7" in caplog.text
    assert Client().get("/healthz?deep=1").json()["unauthenticated_attempts_today"] == 4
    assert list(Terminal.objects.exclude(pk=terminal.pk).values_list("pk", "last_used_at")) == [
        row for row in before if row[0] != terminal.pk
    ]


# --- The admin: a new key never in a cookie, and a CSP that keeps the admin working ------------


@pytest.fixture
def boss_client(db):
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("boss", password="pw-for-tests-only"))
    return client


def test_a_new_terminal_key_never_travels_in_a_cookie(boss_client, store):
    response = boss_client.post("/admin/stores/terminal/add/", {"store": store.pk, "name": "Quầy 9"})
    assert response.status_code == 302
    terminal = Terminal.objects.get(name="Quầy 9")
    assert all(terminal.key_prefix not in morsel.value for morsel in response.cookies.values())
    page = boss_client.get(response["Location"])
    assert terminal.key_prefix in page.content.decode()  # shown once, from the session
    assert all(terminal.key_prefix not in morsel.value for morsel in page.cookies.values())


@pytest.mark.parametrize("path", ["/admin/", "/admin/stores/terminal/", "/admin/login/", "/api/docs/"])
def test_html_pages_carry_a_content_security_policy_without_inline_scripts(boss_client, path):
    client = boss_client if path != "/admin/login/" else Client()
    response = client.get(path)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    html = response.content.decode()
    # Every script is a file (or inert JSON data), so the policy does not break the page.
    import re

    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert "onchange=" not in html and "onclick=" not in html


def test_the_swagger_set_up_script_is_served_as_a_file(boss_client):
    response = boss_client.get("/api/docs/?script=")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")


# --- Safe defaults ------------------------------------------------------------------------------


# Set by the browser tests' fixture for the rest of their process (tests/browser.py): the deploy
# check rightly refuses it, and a worker may run this test after a browser test.
_NOT_INHERITED = {"DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def _run(*argv: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    clean.update(env)
    return subprocess.run([sys.executable, *argv], cwd=ROOT, env=clean, capture_output=True, text=True)


def test_manage_py_and_celery_default_to_production_settings_and_pass_the_deploy_check():
    deploy = _run(
        *["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        SECRET_KEY="deploy-check-" + "k" * 50,
        ALLOWED_HOSTS="loyalty.example.com",
    )
    assert deploy.returncode == 0, deploy.stderr
    celery = _run("-c", "import loyalty_site.celery, os; print(os.environ['DJANGO_SETTINGS_MODULE'])")
    assert celery.returncode == 0
    assert celery.stdout.strip() == "loyalty_site.settings.production"


def test_the_deploy_check_wants_a_password_on_a_remote_redis():
    from loyalty_site.core.checks import redis_has_a_password

    with override_settings(CELERY_BROKER_URL="redis://redis.internal:6379/0"):
        assert [w.id for w in redis_has_a_password(None)] == ["core.W001"]
    with override_settings(CELERY_BROKER_URL="redis://:s3cret@redis.internal:6379/0"):
        assert redis_has_a_password(None) == []


@pytest.mark.django_db
def test_a_generated_password_is_not_written_outside_a_terminal(monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    out = StringIO()  # a pipe, a deploy log
    call_command("ensure_superuser", stdout=out)
    user = get_user_model().objects.get(username="admin")
    assert "changepassword" in out.getvalue()
    for word in out.getvalue().split():
        assert not user.check_password(word.strip(".,()"))


@pytest.mark.django_db
def test_demo_staff_passwords_are_not_written_outside_a_terminal():
    from backoffice.demo import demo_staff_load

    out = StringIO()
    call_command("load_demo", stdout=out)
    staff = get_user_model().objects.filter(is_staff=True, is_superuser=False)
    assert staff.exists() and "changepassword" in out.getvalue()
    words = [w.strip(".,()") for w in out.getvalue().split()]
    assert not any(user.check_password(word) for user in staff for word in words)
    assert demo_staff_load() == []


# --- Retention of uploaded import files ---------------------------------------------------------


@pytest.mark.django_db
def test_uploaded_import_files_are_deleted_after_the_retention_period(tmp_path, settings):
    from campaigns.audiences.imports.models import MemberImport
    from campaigns.audiences.imports.services import member_import_files_purge
    from loyalty_site.core.schedules import declared_schedules

    settings.MEDIA_ROOT = str(tmp_path)
    settings.MEMBER_IMPORT_FILE_RETENTION_DAYS = 30
    now = timezone.now()

    def upload(days_ago, status):
        record = MemberImport(original_name="khach.xlsx", status=status, created_at=now - datetime.timedelta(days_ago))
        record.file.save("khach.xlsx", ContentFile(b"0912345678"), save=False)
        record.error_report.save("loi.xlsx", ContentFile(b"0912345678"), save=False)
        record.save()
        return record, Path(record.file.path), Path(record.error_report.path)

    old, old_file, old_report = upload(31, MemberImport.Status.IMPORTED)
    _recent, recent_file, _ = upload(29, MemberImport.Status.IMPORTED)
    _running, running_file, _ = upload(40, MemberImport.Status.IMPORTING)

    assert member_import_files_purge(now=now) == 1
    old.refresh_from_db()
    assert not old.file and not old.error_report and "30" in old.message  # the note says why
    assert not old_file.exists() and not old_report.exists()
    assert recent_file.exists() and running_file.exists()  # not due; still running
    assert MemberImport.objects.count() == 3  # the records stay
    assert member_import_files_purge(now=now) == 0
    assert "campaigns.member_import_files_purge" in {s.task for s in declared_schedules()}
