"""Helpers shared by the vouchers and POS voucher tests."""

from __future__ import annotations

from decimal import Decimal

from loyalty_site.core.cart import Cart, CartLine
from members.models import LedgerEntry, LotMovement, Member, PointLot
from members.selectors import ledger_drift
from vouchers.models import Reward, Voucher


def cart_of(*lines: tuple, line_discounts: dict | None = None) -> Cart:
    """`cart_of(("CF1", 2, 30000, "coffee"), ...)`: (sku, quantity, unit price, category)."""
    return Cart(
        lines=tuple(
            CartLine(index=i, sku=sku, quantity=qty, unit_price=Decimal(price), category=category)
            for i, (sku, qty, price, category) in enumerate(lines)
        ),
        line_discounts={k: Decimal(v) for k, v in (line_discounts or {}).items()},
    )


def written_state() -> dict:
    """Everything an exchange or an issue writes, to compare before and after a refusal."""
    return {
        "balances": list(Member.objects.order_by("pk").values_list("pk", "points_balance", "points_debt")),
        "entries": LedgerEntry.objects.count(),
        "lots": list(PointLot.objects.order_by("pk").values_list("pk", "remaining")),
        "movements": LotMovement.objects.count(),
        "vouchers": list(
            Voucher.objects.order_by("pk").values_list("pk", "code", "status", "used_at", "used_sale_reference")
        ),
        "stock": list(Reward.objects.order_by("pk").values_list("pk", "stock", "issued_count")),
    }


def assert_ledger_consistent() -> None:
    drift = ledger_drift()
    assert drift == [], [str(d) for d in drift]
