"""End to end through a real Celery worker: a message enqueued in a committed transaction is
delivered by a `celery -A loyalty_site worker` process reading the test broker (CI's PostgreSQL
pass sets TEST_CELERY_BROKER_URL to the local Redis)."""

import datetime
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction

from loyalty_site.celery import app as celery_app
from notifications.models import Message
from notifications.services import message_enqueue
from tests.notifications.helpers import enrol, make_template

ROOT = Path(__file__).resolve().parents[2]
DELIVERY_TIMEOUT = 30


def _broker_reachable(url: str) -> bool:
    parsed = urllib.parse.urlsplit(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=2):
            return True
    except OSError:
        return False


def _database_url() -> str:
    db = connection.settings_dict
    user = urllib.parse.quote(db.get("USER") or "", safe="")
    password = urllib.parse.quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgres://{credentials}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@pytest.fixture
def worker_broker():
    broker = os.environ.get("TEST_CELERY_BROKER_URL", "")
    if connection.vendor != "postgresql":
        pytest.skip("the real-worker test needs PostgreSQL (a worker process cannot share the SQLite test file)")
    if not broker:
        pytest.skip("set TEST_CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/15) to run the real-worker test")
    if not _broker_reachable(broker):
        pytest.skip(f"the test broker {broker} is not reachable")
    return broker


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_a_committed_message(worker_broker, tmp_path):
    queue = f"notifications-test-{uuid.uuid4().hex[:10]}"  # no other worker on this broker takes it
    outbox_file = tmp_path / "outbox.jsonl"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "loyalty_site.settings.test",
        "DATABASE_URL": _database_url(),  # the test database, which this test commits to
        "TEST_CELERY_BROKER_URL": worker_broker,
        "CELERY_BROKER_URL": worker_broker,
        "NOTIFICATIONS_EMAIL_BACKEND": "notifications.channels.console.ConsoleBackend",
        "NOTIFICATIONS_CONSOLE_PATH": str(outbox_file),
        "PYTHONUNBUFFERED": "1",
    }
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "loyalty_site",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "-Q",
                queue,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.task_default_queue, conf.broker_url)
    try:
        # This process only publishes: to the broker, on the worker's private queue.
        conf.task_always_eager = False
        conf.task_default_queue = queue
        conf.broker_url = worker_broker
        make_template(event="voucher-issued", channel="email", subject="Voucher {voucher_code}", body="{member_name}")
        member = enrol(name="Đặng Thái Sơn", email="son@example.vn")
        with transaction.atomic():
            [message] = message_enqueue(
                member=member,
                event="voucher-issued",
                context={
                    "voucher_code": "CASH50K-9XQ2",
                    "voucher_name": "Voucher 50.000đ",
                    "voucher_expires_at": datetime.date(2025, 7, 31),
                },
            )
        assert message.status == "pending"

        deadline = time.monotonic() + DELIVERY_TIMEOUT
        while time.monotonic() < deadline and worker.poll() is None:
            message.refresh_from_db()
            if message.status != "pending" and message.status != "sending":
                break
            time.sleep(0.25)
        message.refresh_from_db()
        assert message.status == "sent", f"status {message.status}; worker log:\n{log_path.read_text()[-3000:]}"
        assert message.attempts == 1 and message.provider_message_id == f"console-{message.pk}"
        [line] = outbox_file.read_text(encoding="utf-8").splitlines()
        delivered = json.loads(line)
        assert (delivered["recipient"], delivered["subject"]) == ("son@example.vn", "Voucher CASH50K-9XQ2")
        assert Message.objects.count() == 1
    finally:
        conf.task_always_eager, conf.task_default_queue, conf.broker_url = saved
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=5)
    assert settings.CELERY_TASK_ALWAYS_EAGER  # the test settings are untouched
