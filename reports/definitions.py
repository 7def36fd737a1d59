"""The fixed KPI definitions of reports.md, in one place. Every figure the dashboard, the
export, `summary.json`, campaign pages and member profiles show is built from these.

A sale's **net** money is what was paid (`total`: after every discount and the part paid with
points) minus what was refunded of it (`refunded_paid`, kept on the sale by every refund). A sale
counts as an **order** unless it was refunded in full."""

from __future__ import annotations

from django.db.models import F, Q

from pos.models import Sale

# The net money of one sale: paid minus refunded.
SALE_NET = F("total") - F("refunded_paid")

# The sales that count as orders: not refunded in full.
IS_ORDER = ~Q(status=Sale.Status.REFUNDED)
