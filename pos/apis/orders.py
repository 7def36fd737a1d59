"""POS endpoints for online orders (`pos-api.md` 1.2, `docs/pos-api-orders.md`): record a pending
order, complete it, cancel it. Only a terminal of kind `online` calls them; the rules live in
`pos.checkout.orders`."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty_site.core.api.fields import BoundedPathIds
from loyalty_site.core.api.idempotency import IdempotentAPIView
from loyalty_site.core.api.schema import ACCEPT_LANGUAGE, COMMON_ERRORS, IDEMPOTENCY_KEY, problem
from pos.apis.sales import (
    SALE_ERRORS,
    SaleInputSerializer,
    SaleOutputSerializer,
    _recorded_tier,
    sale_payload,
)
from pos.checkout.limits import LimitExceeded, limit_refusal_record
from pos.checkout.orders import order_cancel, order_complete, order_create, order_get
from pos.models import Sale

OrderStatus = Sale.OrderStatus


class OrderCancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class OrderOutputSerializer(SaleOutputSerializer):
    status = serializers.ChoiceField(
        choices=[OrderStatus.PENDING, OrderStatus.COMPLETED, OrderStatus.CANCELLED],
        help_text="`pending` until completed or cancelled.",
    )
    points_earned = serializers.IntegerField(
        help_text="What the order earns: pending (not spendable) until it is completed; 0 once cancelled."
    )
    points_pending = serializers.IntegerField(
        help_text="The points of this order not yet spendable: `points_earned` while pending, else 0."
    )
    points_balance = serializers.IntegerField(
        allow_null=True, help_text="The member's spendable balance (held points are already out of it)."
    )


def _order_fields(order: Sale) -> dict:
    earned = 0 if order.order_status == OrderStatus.CANCELLED else order.points_earned
    return {
        "status": order.order_status,
        "points_earned": earned,
        "points_pending": earned if order.order_status == OrderStatus.PENDING else 0,
    }


def order_created_payload(result) -> dict:
    """The sale's fields as the quote priced them (so quote and order agree), plus the order's."""
    return {**sale_payload(result), **_order_fields(result.sale)}


def order_payload(order: Sale) -> dict:
    """An order as recorded, from its row."""
    discounts = list(order.discounts.all())
    return OrderOutputSerializer(
        {
            "id": order.pk,
            "receipt_number": order.receipt_number,
            "occurred_at": order.occurred_at,
            "member_id": order.member_id,
            "subtotal": order.subtotal,
            "discounts": [
                {"source": d.source, "code": d.code or None, "description": d.description, "amount": d.amount}
                for d in discounts
            ],
            "total": order.total,
            "points_redeemed": order.points_redeemed,
            "points_to_earn": order.points_earned,
            "multiplier": order.multiplier,
            "member_proof_required": False,
            "tier": _recorded_tier(order.tier_after_code or order.tier_code),
            "tier_changed": order.tier_changed,
            "points_balance": order.member.points_balance if order.member_id else None,
            "store_credit_redeemed": order.store_credit_redeemed,
            "store_credit_earned": order.store_credit_earned,
            "store_credit_balance": order.member.store_credit_balance if order.member_id else None,
            **_order_fields(order),
        }
    ).data


ORDER_STATE_ERRORS = {
    403: problem("`permission-denied`: this terminal is not an online shop's (or its key was revoked)."),
    404: problem("`not-found`: no online order with this id at this terminal's store."),
    409: problem(
        "`order-state`: completing a cancelled order or cancelling a completed one (with `order_status`); "
        "`request-in-progress`."
    ),
    401: COMMON_ERRORS[401],
    429: COMMON_ERRORS[429],
}


class OrderCreateApi(IdempotentAPIView):
    @extend_schema(
        operation_id="orders_create",
        summary="Record an online order (pending)",
        description=(
            "The sale body, priced and checked exactly as a sale (the quote agrees with it), from a terminal of "
            "kind `online` only (a till's key: 403). The order is `pending`: the vouchers it names are used "
            "and the points it pays with are spent (held: nothing else can use them; cancelling gives them "
            "back), and the points it earns are pending: counted in the member summary's `points_pending`, not "
            "in `points_balance`, and not spendable until the order is completed."
        ),
        request=SaleInputSerializer,
        responses={
            201: OrderOutputSerializer,
            **SALE_ERRORS,
            403: problem(
                "`permission-denied`: this terminal is not an online shop's (or its key was revoked); "
                "`member-proof-required`, `member-proof-invalid` as for a sale."
            ),
            409: problem(
                "`duplicate-receipt`: this receipt number was already recorded at this store (as a sale or an "
                "order); `member-blocked`; `member-in-debt`; `request-in-progress`."
            ),
        },
        parameters=[IDEMPOTENCY_KEY, ACCEPT_LANGUAGE],
        tags=["orders"],
    )
    def post(self, request):
        serializer = SaleInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = order_create(terminal=request.auth, data=serializer.to_sale_input())
        return Response(order_created_payload(result), status=status.HTTP_201_CREATED)

    def handle_exception(self, exc):
        # As for a sale: the refusal of a plausibility limit is kept for staff (see SaleCreateApi).
        if isinstance(exc, LimitExceeded):
            limit_refusal_record(attempt=exc.attempt)
        return super().handle_exception(exc)


class OrderDetailApi(BoundedPathIds, APIView):
    @extend_schema(
        operation_id="orders_retrieve",
        summary="An online order and its status",
        responses={200: OrderOutputSerializer, **ORDER_STATE_ERRORS},
        parameters=[ACCEPT_LANGUAGE],
        tags=["orders"],
    )
    def get(self, request, order_id: int):
        return Response(order_payload(order_get(terminal=request.auth, order_id=order_id)))


class OrderCompleteApi(BoundedPathIds, IdempotentAPIView):
    @extend_schema(
        operation_id="orders_complete",
        summary="Complete an online order: its points become spendable",
        description=(
            "The order earns what a sale earns (qualifying spend, points, stamps, the referrer's reward), at "
            "the order's `occurred_at`. Completing a completed order again answers the same and changes "
            "nothing; a cancelled one: 409 `order-state`. A completed order is refunded like a sale "
            "(`POST /sales/{id}/refunds`)."
        ),
        request=None,
        responses={200: OrderOutputSerializer, **ORDER_STATE_ERRORS},
        parameters=[IDEMPOTENCY_KEY, ACCEPT_LANGUAGE],
        tags=["orders"],
    )
    def post(self, request, order_id: int):
        order = order_complete(terminal=request.auth, order_id=order_id)
        return Response(order_payload(order))


class OrderCancelApi(BoundedPathIds, IdempotentAPIView):
    @extend_schema(
        operation_id="orders_cancel",
        summary="Cancel an online order: nothing earned, held points and vouchers given back",
        description=(
            "The points the order paid with come back to the member's balance and the vouchers it used are "
            "issued again (a voucher that has expired meanwhile is not); nothing is earned. Cancelling a "
            "cancelled order again answers the same and changes nothing; a completed one: 409 `order-state` "
            "(refund it instead)."
        ),
        request=OrderCancelInputSerializer,
        responses={200: OrderOutputSerializer, 400: problem("`validation-error`."), **ORDER_STATE_ERRORS},
        parameters=[IDEMPOTENCY_KEY, ACCEPT_LANGUAGE],
        tags=["orders"],
    )
    def post(self, request, order_id: int):
        serializer = OrderCancelInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = order_cancel(terminal=request.auth, order_id=order_id, reason=serializer.validated_data["reason"])
        return Response(order_payload(order))
