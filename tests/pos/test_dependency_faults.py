"""Fault test (issue 13, risk.md "Dependencies failing"), against real outages on loopback: a
throwaway redis-server of our own (cache and broker) stopped and started again, and PostgreSQL
reached at a closed port and at a port that accepts and never answers. The shared Redis and
PostgreSQL of the machine are never touched.

- Redis stopped: the sale, quote, lookup and redemption endpoints answer 2xx from the database
  alone, and `/healthz?deep=1` reports the cache (and broker) down with 200.
- Broker unreachable: a redemption answers 201 once (a replay gives the same voucher), its
  messages wait in the outbox, and the sweep queues them when the broker is back.
- PostgreSQL unreachable: the API answers 503 problem+json within 5 s."""

import base64
import contextlib
import datetime
import json
import re
import shutil
import socket
import subprocess
import threading
import time
import uuid

import kombu.pools
import pytest
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone

from loyalty_site.celery import app as celery_app
from loyalty_site.core import dispatch
from members.models import Member
from notifications.models import Message
from notifications.services.outbox import outbox_sweep
from tests.factories import MemberFactory
from tests.pos.conftest import post
from tests.pos.test_sales_api import pho_lines, sale_body
from vouchers.models import Voucher

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
BOUND_SECONDS = 5.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayRedis:
    """A redis-server of this test's own on a free loopback port, without persistence."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.dir = tmp_path
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return
            time.sleep(0.05)
        raise RuntimeError("the throwaway redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def client(self, db: int):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_timeout=2)


@pytest.fixture
def redis_server(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the fault test runs on PostgreSQL (DATABASE_URL=postgres://...)")
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = ThrowawayRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def production_shape(redis_server):
    """The cache and the broker on the throwaway Redis, tasks published (not run eagerly) to a
    queue of this test's own."""
    queue = f"fault-test-{uuid.uuid4().hex[:8]}"
    caches = {
        "default": {
            "BACKEND": "loyalty_site.core.cache.FailOpenRedisCache",
            "LOCATION": f"redis://127.0.0.1:{redis_server.port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5},
        }
    }
    conf = celery_app.conf
    saved = {
        key: conf[key] for key in ("task_always_eager", "task_default_queue", "broker_url", "broker_transport_options")
    }
    conf.update(
        task_always_eager=False,
        task_default_queue=queue,
        broker_url=f"redis://127.0.0.1:{redis_server.port}/1",
        broker_transport_options={**saved["broker_transport_options"], "socket_connect_timeout": 0.5},
    )
    reset_broker_connections()
    with override_settings(CACHES=caches, NOTIFICATIONS_QUIET_HOURS_CHANNELS=[]):
        yield queue
    conf.update(saved)
    reset_broker_connections()


def reset_broker_connections() -> None:
    """A new broker URL (or a restarted broker) for this process's publisher: fresh pools."""
    kombu.pools.reset()  # closes kombu's shared pools and forgets them
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    dispatch.broker_backoff_reset()


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def queued_tasks(redis_server, queue: str) -> list[tuple[str, str]]:
    """(task name, args repr) of every task waiting in the queue on the throwaway broker."""
    found = []
    for raw in redis_server.client(1).lrange(queue, 0, -1):
        message = json.loads(raw)
        headers = message["headers"]
        found.append((headers["task"], headers.get("argsrepr") or base64.b64decode(message["body"]).decode()))
    return found


@pytest.mark.django_db(transaction=True)
def test_with_redis_stopped_the_pos_api_works_from_the_database_alone(
    demo_programme, pho, redis_server, production_shape
):
    member = MemberFactory(phone="0912345001", email="an@example.vn", points=200)
    redis_server.stop()

    quote, t_quote = timed(lambda: post(pho, "/api/pos/v1/sales/quote", sale_body("R-1", pho_lines(200_000), member)))
    sale, t_sale = timed(lambda: post(pho, "/api/pos/v1/sales", sale_body("R-1", pho_lines(200_000), member), key="s1"))
    lookup, t_lookup = timed(lambda: pho.get("/api/pos/v1/members/lookup", {"q": "0912345001"}))
    redemption, t_redeem = timed(
        lambda: post(pho, f"/api/pos/v1/members/{member.pk}/redemptions", {"reward": "CASH50K"}, key="r1")
    )
    assert (quote.status_code, sale.status_code, lookup.status_code) == (200, 201, 200), sale.content
    assert redemption.status_code == 201, redemption.content
    assert max(t_quote, t_sale, t_lookup, t_redeem) < BOUND_SECONDS
    # Nothing lost: the sale's points and its message, the voucher and its message are recorded.
    member.refresh_from_db()
    assert member.points_balance == 200 + sale.json()["points_earned"] - 50
    assert Voucher.objects.filter(member=member).count() == 1
    assert Message.objects.filter(member=member, event="points-earned").exists()

    health = Client().get("/healthz", {"deep": "1"})
    assert health.status_code == 200
    assert (health.json()["database"], health.json()["cache"], health.json()["broker"]) == ("ok", "down", "down")


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_a_redemption_answers_201_once_and_its_messages_go_out_when_it_is_back(
    demo_programme, pho, redis_server, production_shape
):
    queue = production_shape
    member = MemberFactory(phone="0912345002", email="binh@example.vn", points=200)
    redis_server.stop()

    first = post(pho, f"/api/pos/v1/members/{member.pk}/redemptions", {"reward": "CASH50K"}, key="once")
    again = post(pho, f"/api/pos/v1/members/{member.pk}/redemptions", {"reward": "CASH50K"}, key="once")
    assert first.status_code == 201, first.content
    assert again.status_code == 201 and again.content == first.content  # the replay, not a second voucher
    assert Voucher.objects.filter(member=member).count() == 1
    assert Member.objects.get(pk=member.pk).points_balance == 150
    waiting = set(Message.objects.filter(member=member, status="pending").values_list("pk", flat=True))
    assert waiting, "the voucher's message is in the outbox"

    redis_server.start()
    reset_broker_connections()
    # The sweep (every minute) queues the due messages whose task was lost.
    outbox_sweep(now=timezone.now() + datetime.timedelta(seconds=301))
    queued = queued_tasks(redis_server, queue)
    sent_ids = set()
    for name, args in queued:
        if name in {"notifications.send_message", "notifications.send_messages"}:
            sent_ids |= {int(n) for n in re.findall(r"\d+", args)}
    assert waiting <= sent_ids, (waiting, queued)


class SilentServer:
    """Accepts TCP connections on a loopback port and never says a word (a hung database host)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        with contextlib.suppress(OSError):
            while True:
                self.accepted.append(self.sock.accept()[0])

    def close(self):
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@contextlib.contextmanager
def database_at(port: int):
    """The default connection pointed at another loopback port for the duration."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(port))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@pytest.mark.django_db(transaction=True)
def test_with_postgresql_unreachable_the_api_answers_503_within_5_seconds(pos_client):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    silent = SilentServer()
    try:
        for port in (free_port(), silent.port):  # refused at once; accepted and never answered
            with database_at(port):
                response, seconds = timed(lambda: pos_client.get("/api/pos/v1/members/lookup", {"q": "0912345678"}))
                sale, sale_seconds = timed(
                    lambda: pos_client.post("/api/pos/v1/sales", data={}, format="json", HTTP_IDEMPOTENCY_KEY="db-down")
                )
                health = Client().get("/healthz", {"deep": "1"})
                admin = Client(raise_request_exception=False).get("/admin/login/")
            assert response.status_code == 503 and seconds < BOUND_SECONDS, (port, seconds)
            assert response["Content-Type"] == "application/problem+json"
            assert response.json()["type"] == "/problems/service-unavailable"
            assert sale.status_code == 503 and sale_seconds < BOUND_SECONDS
            assert health.status_code == 503 and health.json()["database"] == "down"
            assert admin.status_code in {200, 503}  # the login form needs no database; never a 500
    finally:
        silent.close()
    assert pos_client.get("/api/pos/v1/rewards").status_code == 200  # back to normal
