"""The sales facts a segment's sales rules need, supplied from above.

Segments live here, below `pos` (where sales are recorded) and `reports` (where net sales and
orders are defined, reports.md): this floor cannot import either (architecture.md). So the
segment rules name what they need through `SaleFacts`, and the app that owns the definitions
(`reports`, in its `AppConfig.ready`) provides it once at start-up. Every fact is an SQL
expression on the member table (`OuterRef("pk")`), so a segment stays one statement whoever
supplies it: the preview count in the admin and the campaign run's INSERT ... SELECT use the
same queryset.

This is dependency inversion, not domain flow through signals: nothing happens when a fact is
provided, and a sales rule used without a provider is refused loudly
(`ImproperlyConfigured`) rather than silently matching everyone."""

from __future__ import annotations

import datetime
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Expression, Q


class SaleFacts(Protocol):
    """Conditions and figures on a member (`OuterRef("pk")`) from their sales, over the sales
    that occurred in `[since, until)` (`since` None: since the first)."""

    def bought(
        self,
        *,
        brand_ids: list[int],
        categories: list[str],
        skus: list[str],
        since: datetime.datetime | None,
        until: datetime.datetime,
    ) -> Q:
        """Has an order at one of the brands (when given), and has bought one of the categories
        (when given) and one of the products (when given), not refunded."""

    def orders(self, *, since: datetime.datetime | None, until: datetime.datetime) -> Expression:
        """The number of orders (an integer, 0 without any)."""

    def net_sales(self, *, since: datetime.datetime | None, until: datetime.datetime) -> Expression:
        """The net sales in VND (a decimal, 0 without any)."""


_provided: dict[str, SaleFacts] = {}


def sale_facts_provide(facts: SaleFacts) -> None:
    """Install the sales facts (called once by the app that defines them; again replaces)."""
    _provided["facts"] = facts


def sale_facts() -> SaleFacts:
    facts = _provided.get("facts")
    if facts is None:
        raise ImproperlyConfigured(
            "A segment uses a sales rule but no app provided the sales facts "
            "(campaigns.audiences.purchases.sale_facts_provide; the reports app does it)."
        )
    return facts
