"""After a commit that wrote domain events: queue the delivery task, unless no endpoint is
active (then nothing is queued: a sale pays nothing for webhooks nobody receives). Which
endpoints are active is remembered for `ACTIVE_TTL` seconds in each process, so the sale path
costs no query for it; an endpoint switched on is served by the sweep meanwhile."""

from __future__ import annotations

import time

from loyalty_site.core.dispatch import broker_publish

ACTIVE_TTL = 10.0
_active = {"until": 0.0, "any": False}


def any_endpoint_active() -> bool:
    now = time.monotonic()
    if now >= _active["until"]:
        from webhooks.models import WebhookEndpoint

        _active["any"] = WebhookEndpoint.objects.filter(is_active=True).exists()
        _active["until"] = now + ACTIVE_TTL
    return _active["any"]


def active_cache_clear() -> None:
    _active["until"] = 0.0


def events_committed() -> None:
    from webhooks.tasks import deliver

    if not any_endpoint_active():
        return
    # A broker that is down: the sweep delivers them (risk.md, "Broker down").
    broker_publish(deliver.delay, what="task webhooks.deliver")
