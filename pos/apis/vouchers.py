"""POS endpoints for rewards and vouchers (`pos-api.md`, "Rewards and redemption"): the
catalogue at this till, exchanging points for a voucher, and looking a voucher up by its code."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.audiences.membership import reward_open_to_member_audience, rewards_open_to_member
from loyalty_site.core.api.fields import BoundedPathIds, IdField
from loyalty_site.core.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from loyalty_site.core.api.idempotency import IdempotentAPIView
from loyalty_site.core.api.schema import ACCEPT_LANGUAGE, COMMON_ERRORS, IDEMPOTENCY_KEY, problem
from loyalty_site.core.money import MONEY_DECIMAL_PLACES
from members.selectors import member_get, member_resolve, member_spendable_points
from members.services import PresenceProof
from vouchers.errors import RewardUnavailable
from vouchers.models import Reward, Voucher
from vouchers.selectors import reward_usable_at_store, rewards_catalogue, rewards_points_cost, voucher_get
from vouchers.services import reward_redeem

KIND_HELP = (
    "`cash` (an amount off), `percent` (a percentage off, capped), `free_item` (one matching item free) or "
    "`buy_x_get_y` (e.g. of every 3 coffees the cheapest is free)."
)
REASON_HELP = (
    "Why the reward cannot be had: `unknown` (no such reward, or hidden), `hidden`, `not-active`, "
    "`other-brand`, `other-tier` (kept for other tiers), `out-of-stock` or `member-limit`."
)

RewardUnavailableProblem = inline_serializer(
    name="RewardUnavailableProblem",
    fields={
        "type": serializers.CharField(
            help_text="`/problems/reward-unavailable` (or `/problems/idempotency-key-reused`)."
        ),
        "title": serializers.CharField(),
        "status": serializers.IntegerField(),
        "detail": serializers.CharField(),
        "reason": serializers.CharField(required=False, help_text=REASON_HELP),
    },
)
InsufficientPointsProblem = inline_serializer(
    name="InsufficientPointsProblem",
    fields={
        "type": serializers.CharField(
            help_text="`/problems/insufficient-points`, `/problems/member-blocked`, `/problems/member-in-debt` or "
            "`/problems/request-in-progress`."
        ),
        "title": serializers.CharField(),
        "status": serializers.IntegerField(),
        "detail": serializers.CharField(),
        "points_available": serializers.IntegerField(required=False, help_text="insufficient-points only."),
        "points_requested": serializers.IntegerField(required=False, help_text="insufficient-points only."),
        "points_debt": serializers.IntegerField(required=False, help_text="member-in-debt only."),
    },
)


# --- The catalogue ----------------------------------------------------------------------------


class RewardListInputSerializer(serializers.Serializer):
    member = IdField(required=False)


class RewardOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField(help_text="In the request's language (Vietnamese by default).")
    kind = serializers.ChoiceField(choices=Reward.Kind.values, help_text=KIND_HELP)
    points_cost = serializers.IntegerField(help_text="Points to exchange, after the member's tier discount.")
    affordable = serializers.BooleanField(
        required=False, help_text="Only when `member` is given: the member has enough spendable points."
    )
    terms = serializers.CharField(allow_blank=True)
    min_invoice = serializers.DecimalField(
        max_digits=24,
        decimal_places=MONEY_DECIMAL_PLACES,
        help_text="The voucher applies to invoices of at least this subtotal (VND).",
    )
    stock_left = serializers.IntegerField(allow_null=True, help_text="null: unlimited.")


class RewardListApi(APIView):
    @extend_schema(
        operation_id="rewards_list",
        summary="The reward catalogue at this till",
        description=(
            "Rewards a member can exchange points for at this terminal's brand: visible in the catalogue, "
            "within their issuing window, not sold out, and open to the member's tier and customer groups or "
            "segments (without `member`: the rewards kept for some tiers, groups or segments are left out). With "
            "`member`, `points_cost` is reduced by the member's tier benefit and `affordable` tells whether the "
            "member's spendable points cover it."
        ),
        parameters=[
            OpenApiParameter(
                "member", OpenApiTypes.INT, OpenApiParameter.QUERY, required=False, description="A member id."
            ),
            ACCEPT_LANGUAGE,
        ],
        responses={
            200: RewardOutputSerializer(many=True),
            400: problem("`validation-error`: `member` is not a positive integer."),
            404: problem("`member-not-found`: no member has this id."),
            **COMMON_ERRORS,
        },
        tags=["rewards"],
    )
    def get(self, request: Request) -> Response:
        params = RewardListInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        member_id = params.validated_data.get("member")
        member = member_get(member_id=member_id) if member_id is not None else None
        # A reward kept for some customer groups or segments is listed to their members only.
        rewards = rewards_open_to_member(
            rewards=rewards_catalogue(store=request.auth.store, member=member),
            member_id=member.pk if member is not None else None,
        )
        costs = rewards_points_cost(rewards=rewards, member=member)
        spendable = member_spendable_points(member=member) if member is not None else None
        rows: list[dict[str, Any]] = []
        for reward in rewards:
            row = {
                "code": reward.code,
                "name": reward.display_name,
                "kind": reward.kind,
                "points_cost": costs[reward.pk],
                "terms": reward.display_terms,
                "min_invoice": reward.min_invoice,
                "stock_left": reward.stock_left,
            }
            if spendable is not None:
                row["affordable"] = costs[reward.pk] <= spendable
            rows.append(row)
        return Response(RewardOutputSerializer(rows, many=True).data)


# --- Redemption -------------------------------------------------------------------------------


class MemberRedemptionInputSerializer(serializers.Serializer):
    reward = serializers.CharField(max_length=20, help_text="The reward's code, e.g. `CASH50K`.")
    member_token = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=64,
        help_text="Proof that the member is present (the card page's QR token); needed above the free limit.",
    )
    otp = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=12,
        help_text="Proof that the member is present: the code sent by `POST members/{id}/otp`.",
    )


class VoucherSummaryOutputSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="e.g. `K7QM-4XRT`; the till may accept it in any case, without the dash.")
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Reward.Kind.values, help_text=KIND_HELP)
    expires_at = serializers.DateTimeField(help_text="The first moment it can no longer be used (ISO 8601).")


class MemberRedemptionOutputSerializer(serializers.Serializer):
    voucher = VoucherSummaryOutputSerializer()
    points_spent = serializers.IntegerField()
    points_balance = serializers.IntegerField(help_text="The member's balance after the exchange.")


class MemberRedemptionApi(BoundedPathIds, IdempotentAPIView):
    @extend_schema(
        operation_id="members_redemptions_create",
        summary="Exchange points for a voucher",
        description=(
            "Spends the member's points (the reward's cost less the tier discount) and issues a voucher, in one "
            "transaction. Requires an Idempotency-Key: a retry returns the same voucher."
        ),
        parameters=[IDEMPOTENCY_KEY, ACCEPT_LANGUAGE],
        request=MemberRedemptionInputSerializer,
        responses={
            201: MemberRedemptionOutputSerializer,
            **COMMON_ERRORS,
            400: problem("`validation-error` (`reward` missing) or `idempotency-key-required`."),
            403: problem(
                "`member-proof-required`: the cost is above the free limit and neither `member_token` nor `otp` "
                "was sent; `member-proof-invalid`: wrong, expired or already used (no points spent, no voucher "
                "issued); or `permission-denied` (revoked key)."
            ),
            404: problem("`member-not-found`: no member has this id."),
            409: OpenApiResponse(
                response=InsufficientPointsProblem,
                description=(
                    "`insufficient-points`: the member's spendable points do not cover the cost (with "
                    "`points_available` and `points_requested`); `member-blocked`: the member is blocked; "
                    "`member-in-debt`: the member owes points from a refund (with `points_debt`); "
                    "`request-in-progress`: a request with the same key is still running."
                ),
            ),
            422: OpenApiResponse(
                response=RewardUnavailableProblem,
                description=(
                    "`reward-unavailable`: unknown or hidden reward, not valid now, out of stock, over the member's "
                    "limit or not for this brand (`reason` says which); or `idempotency-key-reused`."
                ),
            ),
        },
        tags=["rewards"],
    )
    def post(self, request: Request, member_id: int) -> Response:
        member = member_get(member_id=member_id)
        serializer = MemberRedemptionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        code = serializer.validated_data["reward"].strip().upper()
        reward = Reward.objects.filter(code=code).first()
        # A reward kept for customer groups or segments the member is not in does not exist for
        # them: the same refusal as an unknown code, so a till cannot learn it is there.
        if reward is None or not reward_open_to_member_audience(reward=reward, member_id=member.pk):
            raise RewardUnavailable(_("No reward has the code %(code)s.") % {"code": code}, extra={"reason": "unknown"})
        terminal = request.auth
        voucher = reward_redeem(
            member=member,
            reward=reward,
            store=terminal.store,
            reference=f"pos:{terminal.pk}:{request.headers.get(IDEMPOTENCY_HEADER, '')}",
            proof=PresenceProof(
                member_token=serializer.validated_data["member_token"], otp=serializer.validated_data["otp"]
            ),
        )
        body = {
            "voucher": {
                "code": voucher.code,
                "name": voucher.reward.display_name,
                "kind": voucher.reward.kind,
                "expires_at": voucher.expires_at,
            },
            "points_spent": voucher.points_spent,
            "points_balance": member.points_balance,
        }
        return Response(MemberRedemptionOutputSerializer(body).data, status=status.HTTP_201_CREATED)


# --- A voucher by its code --------------------------------------------------------------------


class VoucherDetailOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Reward.Kind.values, help_text=KIND_HELP)
    status = serializers.ChoiceField(
        choices=Voucher.Status.values,
        help_text="`issued` (usable), `used`, `expired` (also when past its expiry before the nightly job) or `void`.",
    )
    member_id = serializers.IntegerField(help_text="The member who owns it.")
    expires_at = serializers.DateTimeField()
    reward = serializers.CharField(help_text="The reward's code.")
    issued_at = serializers.DateTimeField()
    used_at = serializers.DateTimeField(allow_null=True)
    usable_here = serializers.BooleanField(help_text="Issued, not expired, and valid at this terminal's store.")


class VoucherDetailApi(APIView):
    @extend_schema(
        operation_id="vouchers_retrieve",
        summary="Look a voucher up by its code",
        description="The code may be typed in any case, with or without the dash.",
        parameters=[ACCEPT_LANGUAGE],
        responses={
            200: VoucherDetailOutputSerializer,
            404: problem("`voucher-not-found`: no voucher has this code."),
            **COMMON_ERRORS,
        },
        tags=["vouchers"],
    )
    def get(self, request: Request, code: str) -> Response:
        voucher = voucher_get(code=code)
        store = request.auth.store
        voucher_status = voucher.status_at(timezone.now())
        body = {
            "code": voucher.code,
            "name": voucher.reward.display_name,
            "kind": voucher.reward.kind,
            "status": voucher_status,
            "member_id": member_resolve(voucher.member).pk,
            "expires_at": voucher.expires_at,
            "reward": voucher.reward.code,
            "issued_at": voucher.issued_at,
            "used_at": voucher.used_at,
            "usable_here": voucher_status == Voucher.Status.ISSUED
            and reward_usable_at_store(reward=voucher.reward, store=store),
        }
        return Response(VoucherDetailOutputSerializer(body).data)
