"""Settings, health check, the schema and docs, and the superuser command."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import OperationalError, connection

ROOT = Path(__file__).resolve().parent.parent


def test_sqlite_writers_wait_instead_of_failing():
    from loyalty_site.settings.base import _tune_database

    db = _tune_database({"ENGINE": "django.db.backends.sqlite3", "NAME": "x"})
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert db["OPTIONS"]["timeout"] >= 5


def test_defaults_vietnamese_and_ho_chi_minh_time():
    assert settings.LANGUAGE_CODE == "vi"
    assert settings.TIME_ZONE == "Asia/Ho_Chi_Minh"
    assert settings.USE_TZ
    assert "loyalty_site.core.middleware.ProgrammeLocaleMiddleware" in settings.MIDDLEWARE


def _import_settings(module: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL"}}
    clean.update(env, DJANGO_SETTINGS_MODULE=module)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        ],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_settings_refuse_to_start_without_a_secret_key():
    result = _import_settings("loyalty_site.settings.production")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
    ok = _import_settings("loyalty_site.settings.production", SECRET_KEY="x" * 50)
    assert ok.returncode == 0 and ok.stdout.strip() == "False"  # DEBUG defaults to false


def test_unset_broker_runs_tasks_eagerly():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.CELERY_TASK_ALWAYS_EAGER)",
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "loyalty_site.settings.local", "CELERY_BROKER_URL": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "True"


@pytest.mark.django_db
def test_healthz_answers_200_with_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.mark.django_db
def test_healthz_answers_503_when_the_database_is_down(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "down"


@pytest.mark.django_db
def test_schema_and_docs_are_served_without_any_cdn(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "drf_spectacular_sidecar" in html
    for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs"):
        assert cdn not in html


@pytest.mark.django_db
def test_ensure_superuser_prints_a_generated_password_once(monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    out = StringIO()
    monkeypatch.setattr(out, "isatty", lambda: True, raising=False)  # a person at a terminal
    call_command("ensure_superuser", stdout=out)
    password = out.getvalue().strip().split()[-1]
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and user.check_password(password)
    again = StringIO()
    call_command("ensure_superuser", stdout=again)
    assert password not in again.getvalue()
    assert get_user_model().objects.filter(is_superuser=True).count() == 1


@pytest.mark.django_db
def test_ensure_superuser_uses_the_given_password(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "given-Passw0rd")
    out = StringIO()
    call_command("ensure_superuser", stdout=out)
    assert "given-Passw0rd" not in out.getvalue()
    assert get_user_model().objects.get(username="admin").check_password("given-Passw0rd")


@pytest.mark.django_db
def test_periodic_tasks_are_upserted_by_name_and_keep_an_admin_switch_off():
    from django_celery_beat.models import PeriodicTask

    from loyalty_site.core.schedules import declared_schedules, schedules_sync

    names = {s.name for s in declared_schedules()}
    assert names and set(PeriodicTask.objects.values_list("name", flat=True)) >= names
    PeriodicTask.objects.filter(name__in=names).update(enabled=False)
    assert schedules_sync() == []
    assert not PeriodicTask.objects.filter(name__in=names, enabled=True).exists()
