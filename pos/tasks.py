"""Celery tasks of the POS app: thin, idempotent, taking ids."""

from celery import shared_task

from pos.checkout.notify import sale_points_notify


@shared_task(name="pos.notify_sale_points", autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def notify_sale_points(sale_id: int) -> None:
    """Tell the member what the sale earned. Running it twice sends nothing twice (the outbox
    keeps one message per sale and channel)."""
    sale_points_notify(sale_id=sale_id)
