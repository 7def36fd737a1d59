"""Celery tasks: thin, idempotent, taking ids. Sending retries live in the outbox rows (status,
attempts, scheduled time), not in Celery, so they survive a lost worker; Celery retries only a
database hiccup, a bounded number of times."""

from __future__ import annotations

import datetime
from dataclasses import asdict

from celery import shared_task
from django.db import DatabaseError

from notifications.services import expiry_reminders_enqueue, message_send, outbox_sweep, zalo_token_renew

_DB_RETRY = {"autoretry_for": (DatabaseError,), "retry_backoff": True, "max_retries": 3}


@shared_task(name="notifications.send_message", ignore_result=True, **_DB_RETRY)
def send_message(message_id: int) -> None:
    message_send(message_id=message_id)


@shared_task(name="notifications.sweep_outbox", **_DB_RETRY)
def sweep_outbox() -> dict:
    return asdict(outbox_sweep())


@shared_task(name="notifications.send_expiry_reminders", **_DB_RETRY)
def send_expiry_reminders(as_of: str | None = None) -> dict:
    day = datetime.date.fromisoformat(as_of) if as_of else None
    return asdict(expiry_reminders_enqueue(as_of=day))


@shared_task(name="notifications.send_messages", ignore_result=True, **_DB_RETRY)
def send_messages(message_ids: list[int]) -> None:
    """Send a batch written by `messages_enqueue_bulk`. Each message is claimed before it is
    sent, so a repeat sends nothing twice; a lost batch is picked up by the outbox sweeper."""
    for message_id in message_ids:
        message_send(message_id=message_id)


@shared_task(name="notifications.renew_zalo_token", **_DB_RETRY)
def renew_zalo_token() -> dict:
    """Renews the Zalo access token when it is close to expiry; nothing otherwise."""
    result = zalo_token_renew()
    return {"renewed": result.renewed, "error": result.error}
