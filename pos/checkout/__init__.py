"""The checkout: one pricing function for the quote and the sale, the sale itself and refunds.

    sale_quote(*, terminal, data: SaleInput) -> Quote                      (reads only)
    sale_record(*, terminal, data: SaleInput) -> SaleResult                 (one transaction)
    sale_refund(*, terminal, sale_id, lines, reason) -> (Refund, balance)  (one transaction)
    sale_get(*, terminal, sale_id) -> Sale

See `pos.checkout.pricing` for the order in which discounts apply and how points are earned,
and `pos.checkout.sales` for the transaction and its lock order."""

from pos.checkout.pricing import AppliedDiscount, Quote, SaleInput, cart_from_lines, price, sale_quote
from pos.checkout.refunds import sale_refund
from pos.checkout.sales import SaleResult, sale_get, sale_record

__all__ = [
    "AppliedDiscount",
    "Quote",
    "SaleInput",
    "SaleResult",
    "cart_from_lines",
    "price",
    "sale_get",
    "sale_quote",
    "sale_record",
    "sale_refund",
]
