"""Fixtures of the member pages' tests: the sign-in code's SMS texts and reading a code back
from the outbox, as a person reads it from their phone."""

from __future__ import annotations

import re

import pytest

from notifications.models import Message, MessageTemplate
from notifications.services import template_save
from tests.factories import MemberFactory


@pytest.fixture
def sign_in_templates(db):
    for language, body in (("vi", "Mã đăng nhập: {one_time_code}"), ("en", "Sign-in code: {one_time_code}")):
        template_save(template=MessageTemplate(event="sign-in-code", channel="sms", language=language, body=body))


@pytest.fixture
def member(db):
    return MemberFactory(phone="+84912345678", name="Trần Thị Mai")


def last_code(phone: str) -> str:
    """The code in the last sign-in message to `phone` (E.164)."""
    message = Message.objects.filter(event="sign-in-code", recipient=phone).order_by("-pk").first()
    assert message is not None, f"no sign-in message to {phone}"
    return re.search(r"\b(\d{6})\b", message.body).group(1)
