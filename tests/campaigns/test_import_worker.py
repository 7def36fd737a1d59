"""A big import through a real Celery worker: the check and the import are picked up by a
`celery -A loyalty_site worker` process (which must know the tasks without anyone importing
them by hand), reading the uploaded file from the shared media folder."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import uuid

import pytest
from django.test import override_settings

from campaigns.audiences.imports.models import MemberImport
from campaigns.audiences.imports.services import member_import_confirm, member_import_create, member_import_start_check
from loyalty_site.celery import app as celery_app
from members.models import Member
from tests.campaigns.test_import_support import workbook_bytes
from tests.notifications.test_worker import ROOT, _database_url, worker_broker

__all__ = ["worker_broker"]
TIMEOUT = 60


def _wait_for(record: MemberImport, statuses: set[str], worker, log_path) -> MemberImport:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and worker.poll() is None:
        record.refresh_from_db()
        if record.status in statuses:
            return record
        time.sleep(0.25)
    record.refresh_from_db()
    raise AssertionError(f"status {record.status}; worker log:\n{log_path.read_text()[-3000:]}")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_checks_and_imports_a_big_file(worker_broker, tmp_path, settings):
    media = tmp_path / "media"
    settings.MEDIA_ROOT = str(media)
    queue = f"imports-test-{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "loyalty_site.settings.test",
        "DATABASE_URL": _database_url(),
        "TEST_CELERY_BROKER_URL": worker_broker,
        "CELERY_BROKER_URL": worker_broker,
        "MEDIA_ROOT": str(media),
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
        conf.task_always_eager = False
        conf.task_default_queue = queue
        conf.broker_url = worker_broker
        rows = [["Họ tên", "SĐT"]] + [[f"Khách {i}", f"0913{i:06d}"] for i in range(50)]
        with override_settings(MEMBER_IMPORT_BACKGROUND_ROWS=10):
            record = member_import_create(upload=io.BytesIO(workbook_bytes(rows)), file_name="lon.xlsx")
            record = member_import_start_check(member_import=record)
            assert record.status == "checking"
            record = _wait_for(record, {"checked", "refused", "failed"}, worker, log_path)
            assert (record.status, record.rows_new, record.progress) == ("checked", 50, 100)
            assert Member.objects.count() == 0

            record = member_import_confirm(member_import=record)
            assert record.status == "queued"
            record = _wait_for(record, {"imported", "rejected", "refused", "failed"}, worker, log_path)
        assert (record.status, record.rows_new) == ("imported", 50), record.message
        assert Member.objects.count() == 50
    finally:
        conf.task_always_eager, conf.task_default_queue, conf.broker_url = saved
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=5)
