"""What is being bought, as every pricing step sees it.

The checkout (`pos`) builds a `Cart` from the POS request and passes it down to the selectors
and services that price it (promotions in `campaigns`, vouchers in `vouchers`, the tier's
standing discount in `tiers`). It lives here, at the bottom, so that every app can read it
without depending on the one above. Amounts are VND `Decimal`, quantities positive integers."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from loyalty_site.core.money import ZERO


@dataclass(frozen=True)
class CartLine:
    index: int  # position in the request, so discounts can name the line they apply to
    sku: str
    quantity: int
    unit_price: Decimal
    name: str = ""
    category: str = ""

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Cart:
    lines: tuple[CartLine, ...]
    # What each line still costs after the discounts applied so far (line promotions first).
    line_discounts: dict[int, Decimal] = field(default_factory=dict)

    @property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    def line_remaining(self, line: CartLine) -> Decimal:
        return max(ZERO, line.amount - self.line_discounts.get(line.index, ZERO))

    def lines_in(self, *, skus: set[str] | None = None, categories: set[str] | None = None) -> list[CartLine]:
        """Lines matching any of the SKUs or categories (both empty/None: every line)."""
        if not skus and not categories:
            return list(self.lines)
        return [
            line for line in self.lines if (skus and line.sku in skus) or (categories and line.category in categories)
        ]

    def unit_prices(self, lines: list[CartLine]) -> list[Decimal]:
        """One entry per item (a line of quantity 3 gives three), for per-item rules such as
        'buy 2 get 1'."""
        return [line.unit_price for line in lines for _ in range(line.quantity)]
