"""POS endpoints for sales: quote, record, read, refund (`pos-api.md`, "Sales").

Views parse and validate input, call one checkout function and shape the output; every rule
lives in `pos.checkout`."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty_site.core.api.fields import (
    BoundedPathIds,
    IdField,
    StrictDateTimeField,
    StrictDecimalField,
    StrictIntegerField,
)
from loyalty_site.core.api.idempotency import IdempotentAPIView
from loyalty_site.core.api.schema import ACCEPT_LANGUAGE, COMMON_ERRORS, IDEMPOTENCY_KEY, problem
from loyalty_site.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from members.selectors import member_store_credit_balance, programme_settings_get
from members.services import PresenceProof
from pos.apis.members import TierOutputSerializer
from pos.checkout import SaleInput, sale_get, sale_quote, sale_record, sale_refund
from pos.checkout.limits import LimitExceeded, limit_refusal_record
from pos.models import Sale
from tiers.selectors import tiers_ladder

FUTURE_TOLERANCE = timedelta(minutes=5)
MAX_LINES = 500
# What a money column holds (MONEY_MAX_DIGITS digits, MONEY_DECIMAL_PLACES of them decimals).
MAX_SUBTOTAL = 10 ** (MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES)


def _money(**kwargs) -> serializers.DecimalField:
    return StrictDecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, **kwargs)


# --- Input ----------------------------------------------------------------------------------


class SaleLineInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    category = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    quantity = StrictIntegerField(min_value=1, max_value=100_000)
    unit_price = _money(min_value=0, max_value=10**12)


class SaleInputSerializer(serializers.Serializer):
    receipt_number = serializers.CharField(max_length=64)
    member = IdField(required=False, allow_null=True, default=None)
    occurred_at = StrictDateTimeField(required=False, allow_null=True, default=None)
    lines = SaleLineInputSerializer(many=True, allow_empty=False, max_length=MAX_LINES)
    vouchers = serializers.ListField(
        child=serializers.CharField(max_length=32), required=False, default=list, max_length=10
    )
    points_to_redeem = StrictIntegerField(required=False, default=0, min_value=0, max_value=10**9)
    store_credit_to_redeem = _money(
        required=False,
        default=Decimal(0),
        min_value=0,
        max_value=10**12,
        help_text="VND of the member's store credit to pay with, after the discounts and the points. More than is "
        "left to pay is not taken (`store_credit_redeemed`); more than the balance is refused "
        "(`insufficient-store-credit`). Above the programme's free amount it needs `member_token` or `otp`.",
    )
    member_token = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=64,
        help_text="Proof that the member is present: the token of the QR on the member's card page (valid 120 s, "
        "once). Needed when `points_to_redeem` is above the programme's free limit.",
    )
    otp = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=12,
        help_text="Proof that the member is present: the 6-digit code sent by `POST members/{id}/otp`.",
    )

    def validate_lines(self, value):
        # Each line fits (unit price and quantity are bounded); their sum must fit a sale's columns.
        subtotal = sum(line["quantity"] * line["unit_price"] for line in value)
        if subtotal >= MAX_SUBTOTAL:
            raise serializers.ValidationError(
                _("The sale's subtotal must be less than %(max)s.") % {"max": f"{MAX_SUBTOTAL:,}"}
            )
        return value

    def validate_occurred_at(self, value):
        if value is None:
            return value
        now = timezone.now()
        if value > now + FUTURE_TOLERANCE:
            raise serializers.ValidationError(_("The time of sale cannot be more than 5 minutes in the future."))
        limit = programme_settings_get().backdating_limit_days
        if value < now - timedelta(days=limit):
            raise serializers.ValidationError(
                _("The time of sale cannot be more than %(days)d days ago.") % {"days": limit}
            )
        return value

    def validate_vouchers(self, value):
        normalised = [code.strip() for code in value]
        folded = [code.upper().replace("-", "").replace(" ", "") for code in normalised]
        if len(set(folded)) != len(folded):
            raise serializers.ValidationError(_("The same voucher is given twice."))
        return normalised

    def to_sale_input(self) -> SaleInput:
        data = self.validated_data
        return SaleInput(
            receipt_number=data["receipt_number"].strip(),
            member_id=data["member"],
            occurred_at=data["occurred_at"],
            lines=[dict(line) for line in data["lines"]],
            voucher_codes=data["vouchers"],
            points_to_redeem=data["points_to_redeem"],
            proof=PresenceProof(member_token=data["member_token"], otp=data["otp"]),
            store_credit_to_redeem=data["store_credit_to_redeem"],
        )


class RefundLineInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = StrictIntegerField(min_value=1, max_value=100_000)


class RefundInputSerializer(serializers.Serializer):
    lines = RefundLineInputSerializer(many=True, required=False, allow_empty=False, max_length=MAX_LINES)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


# --- Output ---------------------------------------------------------------------------------


class DiscountOutputSerializer(serializers.Serializer):
    source = serializers.ChoiceField(choices=["promotion", "tier", "voucher", "points", "store_credit"])
    code = serializers.CharField(allow_null=True)
    description = serializers.CharField()
    amount = _money()


class QuoteOutputSerializer(serializers.Serializer):
    subtotal = _money()
    discounts = DiscountOutputSerializer(many=True)
    total = _money(help_text="What the customer pays in money: subtotal less every discount and the points.")
    points_redeemed = serializers.IntegerField()
    points_to_earn = serializers.IntegerField()
    multiplier = serializers.DecimalField(max_digits=6, decimal_places=2, coerce_to_string=False)
    tier = TierOutputSerializer(allow_null=True)
    member_proof_required = serializers.BooleanField(
        help_text="Recording this sale needs `member_token` or `otp`: the points paid are above the free limit."
    )
    store_credit_redeemed = _money(help_text="Store credit (VND) that pays part of the sale (a `store_credit` line).")
    store_credit_earned = _money(help_text="Store credit (cash-back, VND) the member earns on this sale.")


class SaleOutputSerializer(QuoteOutputSerializer):
    id = serializers.IntegerField()
    receipt_number = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    member_id = serializers.IntegerField(allow_null=True)
    points_earned = serializers.IntegerField()
    points_balance = serializers.IntegerField(allow_null=True)
    tier_changed = serializers.BooleanField()
    store_credit_balance = _money(allow_null=True, help_text="The member's store credit after the sale (VND).")


class RefundOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    points_reversed = serializers.IntegerField()
    points_returned = serializers.IntegerField()
    vouchers_returned = serializers.ListField(child=serializers.CharField())
    vouchers_voided = serializers.ListField(
        child=serializers.CharField(),
        help_text=(
            "Unused vouchers of the member, bought with points, voided so that taking back the points earned "
            "left no debt: they can no longer be used."
        ),
    )
    points_balance = serializers.IntegerField(
        allow_null=True, help_text="Below zero when the member now owes points (see `member-in-debt`)."
    )
    amount = _money(help_text="The list price of what was refunded.")
    paid_amount = _money(help_text="The money paid for what was refunded (what to give back).")
    store_credit_returned = _money(help_text="Store credit paid on the refunded share, given back (VND).")
    store_credit_reversed = _money(
        help_text="Store credit earned on the refunded lines, taken back (VND), never below a zero balance."
    )
    store_credit_balance = _money(allow_null=True, help_text="The member's store credit after the refund (VND).")


class SaleLineOutputSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = _money()
    amount = _money()
    refunded_quantity = serializers.IntegerField()


class SaleDetailOutputSerializer(SaleOutputSerializer):
    status = serializers.ChoiceField(choices=Sale.Status.values)
    lines = SaleLineOutputSerializer(many=True)
    refunds = RefundOutputSerializer(many=True)


def _tier(code: str, name: str) -> dict | None:
    return {"code": code, "name": name} if code else None


def _recorded_tier(code: str) -> dict | None:
    """A tier a sale recorded by its code, named in the request's language from the cached
    ladder (no query per sale); a tier deleted since keeps its code as its name."""
    if not code:
        return None
    tier = next((t for t in tiers_ladder() if t.code == code), None)
    return _tier(code, tier.display_name if tier else code)


def quote_payload(quote) -> dict:
    return QuoteOutputSerializer(
        {
            "subtotal": quote.subtotal,
            "discounts": [
                {"source": d.source, "code": d.code or None, "description": d.description, "amount": d.amount}
                for d in quote.discounts
            ],
            "total": quote.total,
            "points_redeemed": quote.points_redeemed,
            "points_to_earn": quote.points_to_earn,
            "multiplier": quote.multiplier,
            "tier": _tier(quote.tier_code, quote.tier_name),
            "member_proof_required": quote.member_proof_required,
            "store_credit_redeemed": quote.store_credit_redeemed,
            "store_credit_earned": quote.store_credit_to_earn,
        }
    ).data


def sale_payload(result) -> dict:
    sale = result.sale
    return SaleOutputSerializer(
        {
            **quote_payload(result.quote),
            "id": sale.pk,
            "receipt_number": sale.receipt_number,
            "occurred_at": sale.occurred_at,
            "member_id": sale.member_id,
            "points_earned": sale.points_earned,
            "points_balance": result.points_balance,
            "store_credit_balance": result.store_credit_balance,
            "tier_changed": sale.tier_changed,
            "tier": _tier(result.tier_after_code, result.tier_after_name)
            or _tier(result.quote.tier_code, result.quote.tier_name),
        }
    ).data


def refund_payload(refund, points_balance) -> dict:
    return RefundOutputSerializer(
        {
            "id": refund.pk,
            "points_reversed": refund.points_reversed,
            "points_returned": refund.points_returned,
            "vouchers_returned": refund.vouchers_returned,
            "vouchers_voided": refund.vouchers_voided,
            "points_balance": points_balance,
            "amount": refund.amount,
            "paid_amount": refund.paid_amount,
            "store_credit_returned": refund.store_credit_returned,
            "store_credit_reversed": refund.store_credit_reversed,
            "store_credit_balance": member_store_credit_balance(member_id=refund.sale.member_id)
            if refund.sale.member_id
            else None,
        }
    ).data


# --- Views ----------------------------------------------------------------------------------

SALE_ERRORS = {
    400: problem("`validation-error`: the body is not valid (fields in `errors`)."),
    404: problem("`member-not-found`: no member with this id."),
    409: problem(
        "`member-blocked`: the member is blocked and cannot redeem points; `member-in-debt`: the member owes "
        "points from a refund and cannot pay with points until they are repaid (with `points_debt`)."
    ),
    422: problem(
        "A voucher or points that cannot be applied: `voucher-not-found`, `voucher-not-applicable`, "
        "`voucher-used`, `voucher-expired`, `insufficient-points`, `insufficient-store-credit` (more store credit "
        "than the member's balance, with `store_credit_balance`); or `limit-exceeded`: beyond a plausibility "
        "limit, `limit` names which (`sale-amount`, `points-per-sale`, `terminal-points-per-day`) and `maximum` "
        "its value."
    ),
    **COMMON_ERRORS,
}
PROOF_ERRORS = {
    403: problem(
        "`member-proof-required`: points above the free limit without `member_token` or `otp`; "
        "`member-proof-invalid`: the token or code is wrong, expired or already used (nothing is recorded); "
        "or `permission-denied` (revoked key)."
    ),
}


class SaleQuoteApi(APIView):
    @extend_schema(
        operation_id="sales_quote",
        summary="Price a cart without recording anything",
        request=SaleInputSerializer,
        responses={200: QuoteOutputSerializer, **SALE_ERRORS},
        parameters=[ACCEPT_LANGUAGE],
        tags=["sales"],
    )
    def post(self, request):
        serializer = SaleInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        quote = sale_quote(terminal=request.auth, data=serializer.to_sale_input())
        return Response(quote_payload(quote))


class SaleCreateApi(IdempotentAPIView):
    @extend_schema(
        operation_id="sales_create",
        summary="Record a sale",
        description=(
            "Applies the discounts, marks the vouchers used, spends the redeemed points, earns points and "
            "updates the tier, all at once. The response holds the quote fields plus the recorded sale. "
            "Points above the programme's free limit need `member_token` or `otp` (the quote's "
            "`member_proof_required` says so); the token or code is used up by the sale."
        ),
        request=SaleInputSerializer,
        responses={
            201: SaleOutputSerializer,
            **SALE_ERRORS,
            **PROOF_ERRORS,
            409: problem(
                "`duplicate-receipt`: this receipt number was already recorded at this store; "
                "`member-blocked`; `member-in-debt`; `request-in-progress`."
            ),
        },
        parameters=[IDEMPOTENCY_KEY, ACCEPT_LANGUAGE],
        tags=["sales"],
    )
    def post(self, request):
        serializer = SaleInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = sale_record(terminal=request.auth, data=serializer.to_sale_input())
        return Response(sale_payload(result), status=status.HTTP_201_CREATED)

    def handle_exception(self, exc):
        # The idempotency layer calls this once the handler's savepoint is rolled back, inside its
        # own transaction: the refusal is kept for staff with the stored response, and a replay
        # (which runs no handler) does not keep it twice.
        if isinstance(exc, LimitExceeded):
            limit_refusal_record(attempt=exc.attempt)
        return super().handle_exception(exc)


class SaleDetailApi(BoundedPathIds, APIView):
    @extend_schema(
        operation_id="sales_retrieve",
        summary="A recorded sale with its lines and refunds",
        responses={
            200: SaleDetailOutputSerializer,
            404: problem("`not-found`: no such sale at this brand."),
            **COMMON_ERRORS,
        },
        parameters=[ACCEPT_LANGUAGE],
        tags=["sales"],
    )
    def get(self, request, sale_id: int):
        sale = sale_get(terminal=request.auth, sale_id=sale_id)
        return Response(sale_detail_payload(sale))


class SaleRefundApi(BoundedPathIds, IdempotentAPIView):
    @extend_schema(
        operation_id="sales_refund",
        summary="Refund a sale, in full or some lines",
        description=(
            "Omit `lines` for a full refund of what is left. Reverses the points earned on the refunded share, "
            "gives back the redeemed points on that share, gives back the vouchers when the refund completes the "
            "sale and they have not expired, and lowers the qualifying spend. Points earned and already spent "
            "are taken back all the same: first from the member's unused vouchers bought with points (voided, "
            "the most recent first, only as many as needed: `vouchers_voided`), and what is still missing "
            "becomes a debt (a negative `points_balance`) that blocks spending points until it is repaid."
        ),
        request=RefundInputSerializer,
        responses={
            201: RefundOutputSerializer,
            400: problem("`validation-error`."),
            404: problem("`not-found`: no such sale at this brand."),
            422: problem("`refund-exceeds-sale`: more than was sold (or is left) of a line."),
            **COMMON_ERRORS,
        },
        parameters=[IDEMPOTENCY_KEY, ACCEPT_LANGUAGE],
        tags=["sales"],
    )
    def post(self, request, sale_id: int):
        serializer = RefundInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        refund, balance = sale_refund(
            terminal=request.auth,
            sale_id=sale_id,
            lines=serializer.validated_data.get("lines"),
            reason=serializer.validated_data["reason"],
        )
        return Response(refund_payload(refund, balance), status=status.HTTP_201_CREATED)


def sale_detail_payload(sale: Sale) -> dict:
    discounts = list(sale.discounts.all())
    return SaleDetailOutputSerializer(
        {
            "id": sale.pk,
            "receipt_number": sale.receipt_number,
            "occurred_at": sale.occurred_at,
            "member_id": sale.member_id,
            "status": sale.status,
            "subtotal": sale.subtotal,
            "discounts": [
                {"source": d.source, "code": d.code or None, "description": d.description, "amount": d.amount}
                for d in discounts
            ],
            "total": sale.total,
            "points_redeemed": sale.points_redeemed,
            "points_to_earn": sale.points_earned,
            "points_earned": sale.points_earned,
            "points_balance": sale.member.points_balance if sale.member_id else None,
            "store_credit_balance": sale.member.store_credit_balance if sale.member_id else None,
            "store_credit_redeemed": sale.store_credit_redeemed,
            "store_credit_earned": sale.store_credit_earned,
            "multiplier": sale.multiplier,
            "member_proof_required": False,
            "tier": _recorded_tier(sale.tier_after_code or sale.tier_code),
            "tier_changed": sale.tier_changed,
            "lines": list(sale.lines.all()),
            "refunds": [
                {
                    "id": r.pk,
                    "points_reversed": r.points_reversed,
                    "points_returned": r.points_returned,
                    "vouchers_returned": r.vouchers_returned,
                    "vouchers_voided": r.vouchers_voided,
                    "points_balance": None,
                    "amount": r.amount,
                    "paid_amount": r.paid_amount,
                    "store_credit_returned": r.store_credit_returned,
                    "store_credit_reversed": r.store_credit_reversed,
                    "store_credit_balance": None,
                }
                for r in sale.refunds.all()
            ],
        }
    ).data
