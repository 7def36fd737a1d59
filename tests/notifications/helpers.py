"""Helpers for the notification tests: members enrolled through the members services, and real
local servers (HTTP gateways, an SMTP server) that the channel backends talk to."""

from __future__ import annotations

import datetime
import itertools
import json
import socketserver
import threading
import time
import zoneinfo
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from members.models import Member
from members.services import member_enrol
from notifications.models import MessageTemplate
from notifications.services import template_save

VN = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
_phones = itertools.count(1)


def vn(year, month, day, hour=0, minute=0, second=0) -> datetime.datetime:
    """An aware datetime in Asia/Ho_Chi_Minh (UTC+7, no daylight saving)."""
    return datetime.datetime(year, month, day, hour, minute, second, tzinfo=VN)


def utc(year, month, day, hour=0, minute=0, second=0) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.UTC)


ALL_CONSENTS = {"sms": True, "email": True, "zalo": True, "push": True}


def enrol(*, name: str = "Trần Thị Thu", email: str = "thu@example.vn", consents=None, **kwargs) -> Member:
    phone = kwargs.pop("phone", None) or f"+84931{next(_phones):06d}"
    return member_enrol(
        name=name,
        phone=phone,
        email=email,
        channel=Member.Channel.ADMIN,
        consents=ALL_CONSENTS if consents is None else consents,
        consent_source="staff",
        **kwargs,
    )


def make_template(**fields) -> MessageTemplate:
    defaults = {"variant": "", "language": "vi", "subject": "", "body": ""}
    return template_save(template=MessageTemplate(**{**defaults, **fields}))


def sms_settings(url: str, *, timeout: float = 0.5, **options) -> dict:
    return {
        "BACKEND": "notifications.channels.sms.BrandnameSmsBackend",
        "OPTIONS": {
            "url": url,
            "api_key": "api-key-1",
            "secret_key": "secret-1",
            "brandname": "LOYALTY",
            "timeout": timeout,
            **options,
        },
    }


def zalo_settings(url: str, *, timeout: float = 0.5) -> dict:
    return {
        "BACKEND": "notifications.channels.zalo.ZaloZnsBackend",
        "OPTIONS": {"url": url, "access_token": "oa-token-1", "timeout": timeout},
    }


def push_settings(url: str, *, timeout: float = 0.5) -> dict:
    return {
        "BACKEND": "notifications.channels.push.HttpPushBackend",
        "OPTIONS": {"url": url, "token": "push-token-1", "timeout": timeout},
    }


# --- A real HTTP gateway ------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: dict


@dataclass
class Reply:
    status: int = 200
    body: object = None
    delay: float = 0.0


@dataclass
class Gateway:
    """An HTTP server on 127.0.0.1 (an OS-chosen port) in a thread. Each request gets the next
    scripted reply (`reply()`), or the default one; every request is recorded."""

    default: Reply = field(default_factory=lambda: Reply(200, {"CodeResult": "100", "SMSID": "sms-1"}))
    requests: list[Received] = field(default_factory=list)
    script: deque = field(default_factory=deque)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw.decode("utf-8")) if raw else {}
                except ValueError:
                    body = {"_raw": raw.decode("utf-8", errors="replace")}
                with gateway._lock:
                    gateway.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    reply = gateway.script.popleft() if gateway.script else gateway.default
                if reply.delay:
                    time.sleep(reply.delay)
                payload = json.dumps(reply.body if reply.body is not None else {}).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client gave up (a timeout test)
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def reply(self, status: int = 200, body: object = None, *, delay: float = 0.0, times: int = 1) -> None:
        with self._lock:
            self.script.extend(Reply(status, body, delay) for _ in range(times))

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- A real SMTP server -------------------------------------------------------------------------


class SmtpServer:
    """A minimal SMTP server on 127.0.0.1 answering RCPT TO with `rcpt_reply` (e.g. "550 no such
    user"); enough of the protocol for Django's SMTP backend."""

    def __init__(self, rcpt_reply: str = "250 OK") -> None:
        server_self = self
        self.rcpt_reply = rcpt_reply
        self.messages: list[str] = []

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                def say(line: str) -> None:
                    self.wfile.write((line + "\r\n").encode())

                say("220 test.local ESMTP")
                while True:
                    line = self.rfile.readline().decode(errors="replace").strip()
                    if not line:
                        return
                    verb = line.split(" ", 1)[0].upper()
                    if verb in ("EHLO", "HELO"):
                        say("250 test.local")
                    elif verb == "MAIL":
                        say("250 OK")
                    elif verb == "RCPT":
                        say(server_self.rcpt_reply)
                    elif verb == "DATA":
                        say("354 go ahead")
                        data = []
                        while (chunk := self.rfile.readline().decode(errors="replace")) not in (".\r\n", ""):
                            data.append(chunk)
                        server_self.messages.append("".join(data))
                        say("250 queued")
                    elif verb == "QUIT":
                        say("221 bye")
                        return
                    else:
                        say("250 OK")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
