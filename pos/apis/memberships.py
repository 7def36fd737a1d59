"""POS endpoints for paid membership (issue 17 item 4; a backwards-compatible addition to
pos-api.md version 1): sell or renew a plan at the till, cancel a period within its refund
window. The member summary shows the running membership (`pos.apis.members`)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from loyalty_site.core.api.fields import BoundedPathIds
from loyalty_site.core.api.idempotency import IdempotentAPIView
from loyalty_site.core.api.schema import ACCEPT_LANGUAGE, COMMON_ERRORS, IDEMPOTENCY_KEY, problem
from loyalty_site.core.money import MONEY_DECIMAL_PLACES
from members.models import Member
from members.selectors import member_get
from memberships.models import PaidMembership
from memberships.selectors import membership_standing
from memberships.services import membership_cancel, membership_refund_deadline, membership_sell, plan_for_sale


class MembershipStandingOutputSerializer(serializers.Serializer):
    plan = serializers.CharField(help_text="The plan's code, e.g. `CLUB`.")
    name = serializers.CharField()
    started_at = serializers.DateTimeField(help_text="When the current period started.")
    ends_at = serializers.DateTimeField(help_text="When the membership ends, renewals already bought included.")
    earn_multiplier = serializers.DecimalField(max_digits=5, decimal_places=2)


def membership_standing_for_pos(*, member: Member) -> dict[str, Any] | None:
    standing = membership_standing(member=member)
    if standing is None:
        return None
    return {
        "plan": standing.plan.code,
        "name": standing.plan.display_name,
        "started_at": standing.started_at,
        "ends_at": standing.ends_at,
        "earn_multiplier": standing.plan.earn_multiplier,
    }


class MembershipOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The period's id (to cancel it).")
    plan = serializers.CharField()
    status = serializers.ChoiceField(choices=PaidMembership.Status.choices)
    started_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    fee_paid = serializers.DecimalField(max_digits=24, decimal_places=MONEY_DECIMAL_PLACES)
    refund_amount = serializers.DecimalField(max_digits=24, decimal_places=MONEY_DECIMAL_PLACES)
    refundable_until = serializers.DateTimeField(help_text="A cancellation until then refunds the fee in full.")
    membership = MembershipStandingOutputSerializer(
        allow_null=True, help_text="The member's membership after this call (None when none is running)."
    )


def _output(membership: PaidMembership) -> dict[str, Any]:
    return {
        "id": membership.pk,
        "plan": membership.plan.code,
        "status": membership.status,
        "started_at": membership.started_at,
        "ends_at": membership.ends_at,
        "fee_paid": membership.fee_paid,
        "refund_amount": membership.refund_amount,
        "refundable_until": membership_refund_deadline(membership),
        "membership": membership_standing_for_pos(member=membership.member),
    }


class MembershipSellInputSerializer(serializers.Serializer):
    plan = serializers.CharField(max_length=30, help_text="The plan's code, e.g. `CLUB`.")


class MembershipSellApi(BoundedPathIds, IdempotentAPIView):
    @extend_schema(
        operation_id="members_memberships_create",
        summary="Sell or renew a paid membership",
        description=(
            "Records that the member paid the plan's fee at this terminal: a new period starts now, or, when a "
            "period is running, where the member's last period ends (a renewal). Requires an Idempotency-Key: a "
            "retry replays and never adds a second period."
        ),
        parameters=[IDEMPOTENCY_KEY, ACCEPT_LANGUAGE],
        request=MembershipSellInputSerializer,
        responses={
            201: MembershipOutputSerializer,
            400: problem("`validation-error` (no `plan`) or `idempotency-key-required`."),
            404: problem("`member-not-found`, or `plan-not-found`: no plan on sale with this code at this brand."),
            409: problem(
                "`membership-active`: a period is running and the plan cannot be renewed before it ends; "
                "`member-blocked`, `member-merged`; `request-in-progress`."
            ),
            422: problem("`idempotency-key-reused`."),
            **COMMON_ERRORS,
        },
        tags=["members"],
    )
    def post(self, request: Request, member_id: int) -> Response:
        member = member_get(member_id=member_id)
        serializer = MembershipSellInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        terminal = request.auth
        plan = plan_for_sale(code=serializer.validated_data["plan"], store=terminal.store)
        membership = membership_sell(member=member, plan=plan, store=terminal.store, terminal=terminal)
        return Response(MembershipOutputSerializer(_output(membership)).data, status=status.HTTP_201_CREATED)


class MembershipCancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class MembershipCancelApi(BoundedPathIds, IdempotentAPIView):
    @extend_schema(
        operation_id="members_memberships_cancel",
        summary="Cancel a paid membership period",
        description=(
            "Within the plan's refund window (days after the sale) the period is cancelled and its fee refunded in "
            "full (`refund_amount`: give it back to the member); its benefits stop now. After the window: refused, "
            "the period runs to its end. Requires an Idempotency-Key."
        ),
        parameters=[IDEMPOTENCY_KEY, ACCEPT_LANGUAGE],
        request=MembershipCancelInputSerializer,
        responses={
            200: MembershipOutputSerializer,
            400: problem("`validation-error` or `idempotency-key-required`."),
            404: problem("`member-not-found`; `membership-not-found`: not this member's, already cancelled or ended."),
            409: problem("`request-in-progress`."),
            422: problem(
                "`membership-not-cancellable`: the refund window has passed (with `refund_deadline`); or "
                "`idempotency-key-reused`."
            ),
            **COMMON_ERRORS,
        },
        tags=["members"],
    )
    def post(self, request: Request, member_id: int, membership_id: int) -> Response:
        member = member_get(member_id=member_id)
        serializer = MembershipCancelInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = membership_cancel(
            member=member, membership_id=membership_id, reason=serializer.validated_data["reason"]
        )
        return Response(MembershipOutputSerializer(_output(membership)).data, status=status.HTTP_200_OK)
