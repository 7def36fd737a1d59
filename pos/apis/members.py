"""POS endpoints for members: look a member up, enrol a new one (`pos-api.md`, "Members")."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty_site.core.api.fields import StrictBooleanField, StrictDateField
from loyalty_site.core.api.idempotency import IdempotentAPIView
from loyalty_site.core.api.schema import ACCEPT_LANGUAGE, COMMON_ERRORS, IDEMPOTENCY_KEY, problem
from loyalty_site.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from members.errors import MemberNotFound
from members.models import ConsentChange, Member, validate_birthday
from members.phones import phone_normalise
from members.selectors import member_get, member_lookup, member_summary
from members.services import member_enrol
from notifications.services import presence_code_send
from pos.apis.memberships import MembershipStandingOutputSerializer, membership_standing_for_pos
from pos.checkout.orders import member_points_pending
from stores.models import Store
from tiers.errors import TiersNotConfigured
from tiers.selectors import member_tier
from vouchers.selectors import member_usable_vouchers

# --- Output ---------------------------------------------------------------------------------


class TierOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class MemberVoucherOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)


class MemberSummaryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField(help_text="The member code printed for the member.")
    name = serializers.CharField()
    phone_masked = serializers.CharField(help_text='e.g. "091****678".')
    status = serializers.ChoiceField(
        choices=[Member.Status.ACTIVE, Member.Status.BLOCKED],
        help_text="A blocked member can neither earn nor spend points.",
    )
    tier = TierOutputSerializer()
    points_balance = serializers.IntegerField(help_text="Below zero while the member owes points (`points_debt`).")
    points_debt = serializers.IntegerField(
        help_text=(
            "Points a refund took back that the member had already spent: repaid first by new points; until then "
            "no points can be spent and no reward redeemed (`member-in-debt`)."
        )
    )
    points_available = serializers.IntegerField(
        help_text="Points that can be spent now: the balance less points still pending or already expired."
    )
    points_pending = serializers.IntegerField(
        help_text=(
            "Points of the member's pending online orders (pos-api.md 1.2): earned when the order is completed, "
            "not part of `points_balance` and not spendable until then."
        )
    )
    points_value = serializers.DecimalField(
        max_digits=24,
        decimal_places=MONEY_DECIMAL_PLACES,
        help_text="What the balance is worth, in VND (balance x point value).",
    )
    birthday_today = serializers.BooleanField(help_text="Today is the member's birthday, in the store's time zone.")
    vouchers = MemberVoucherOutputSerializer(many=True, help_text="Usable vouchers only.")
    store_credit_balance = serializers.DecimalField(
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        help_text="Store credit (cash-back) the member can pay with, in VND (`store_credit_to_redeem`).",
    )
    membership = MembershipStandingOutputSerializer(
        allow_null=True, help_text="The paid membership running now (null: none), with its end date."
    )


def member_summary_for_pos(*, member: Member, store: Store) -> dict[str, Any]:
    """The member summary of the contract: what `members` knows, plus the member's tier (from
    `tiers`) and the vouchers usable at this store (from `vouchers`)."""
    summary = member_summary(member=member, store=store)
    try:
        tier = {"code": (t := member_tier(member=member)).code, "name": t.display_name}
    except TiersNotConfigured:  # a programme still being set up: the entry tier's placeholder
        tier = {"code": summary.tier.code, "name": summary.tier.name}
    vouchers = member_usable_vouchers(member=member, store=store)
    return {
        "id": summary.id,
        "code": summary.code,
        "name": summary.name,
        "phone_masked": summary.phone_masked,
        "status": summary.status,
        "tier": tier,
        "points_balance": summary.points_balance,
        "points_debt": summary.points_debt,
        "points_available": summary.points_available,
        "points_pending": member_points_pending(member_id=summary.id),
        "points_value": summary.points_value,
        "birthday_today": summary.birthday_today,
        "store_credit_balance": summary.store_credit_balance,
        "vouchers": [
            {"code": v.code, "name": v.reward.display_name, "kind": v.reward.kind, "expires_at": v.expires_at}
            for v in vouchers
        ],
        "membership": membership_standing_for_pos(member=member),
    }


# --- Lookup ---------------------------------------------------------------------------------


class MemberLookupInputSerializer(serializers.Serializer):
    q = serializers.CharField(max_length=100, trim_whitespace=True)


class MemberLookupApi(APIView):
    @extend_schema(
        operation_id="members_lookup",
        summary="Find a member",
        description=(
            "By phone number in any common Vietnamese form (`0912345678`, `912345678`, `+84912345678`, "
            "`84 912 345 678`), by card number, by member code, or by the member token shown as a QR on the "
            "member's card page (while it is valid, 120 s)."
        ),
        parameters=[
            OpenApiParameter(
                "q",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                required=True,
                description="Phone, card number, member code or member token.",
            ),
            ACCEPT_LANGUAGE,
        ],
        responses={
            200: MemberSummaryOutputSerializer,
            400: problem("`validation-error`: `q` is missing."),
            404: problem("`member-not-found`."),
            **COMMON_ERRORS,
        },
        tags=["members"],
    )
    def get(self, request: Request) -> Response:
        params = MemberLookupInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        member = member_lookup(query=params.validated_data["q"])
        if member is None:
            raise MemberNotFound(_("No member has this phone number, card number, member code or token."))
        data = member_summary_for_pos(member=member, store=request.auth.store)
        return Response(MemberSummaryOutputSerializer(data).data)


# --- Enrolment ------------------------------------------------------------------------------


CONSENT_HELP = (
    "The member agrees to marketing messages by %s (JSON true or false; default false, as the form at the "
    "till must show it unticked). Recorded with the time and source `till` (Decree 13/2023)."
)


class MemberEnrolInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    phone = serializers.CharField(max_length=40, help_text="Any common Vietnamese form, e.g. 0912345678.")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    birthday = StrictDateField(
        required=False, allow_null=True, default=None, input_formats=["%Y-%m-%d"], validators=[validate_birthday]
    )
    gender = serializers.ChoiceField(choices=Member.Gender.choices, required=False, allow_blank=True, default="")
    card_number = serializers.CharField(required=False, allow_blank=True, default="", max_length=40)
    referral_code = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=20, help_text="Another member's referral code."
    )
    consent_sms = StrictBooleanField(required=False, default=False, help_text=CONSENT_HELP % "SMS")
    consent_email = StrictBooleanField(required=False, default=False, help_text=CONSENT_HELP % "email")
    consent_zalo = StrictBooleanField(required=False, default=False, help_text=CONSENT_HELP % "Zalo")
    consent_push = StrictBooleanField(required=False, default=False, help_text=CONSENT_HELP % "push")

    def validate_phone(self, value: str) -> str:
        # Parsing only (the canonical form); whether the phone is free is the service's rule.
        return phone_normalise(value)


MemberExistsProblem = inline_serializer(
    name="MemberExistsProblem",
    fields={
        "type": serializers.CharField(help_text="`/problems/member-exists` (or `/problems/request-in-progress`)."),
        "title": serializers.CharField(),
        "status": serializers.IntegerField(),
        "detail": serializers.CharField(),
        "member_id": serializers.IntegerField(
            required=False, help_text="The member already enrolled with this phone (member-exists only)."
        ),
    },
)


class MemberEnrolApi(IdempotentAPIView):
    @extend_schema(
        operation_id="members_enrol",
        summary="Enrol a member",
        description=(
            "Enrols a member at this terminal's store (enrolment channel `api`). Requires an Idempotency-Key."
        ),
        parameters=[IDEMPOTENCY_KEY, ACCEPT_LANGUAGE],
        request=MemberEnrolInputSerializer,
        responses={
            201: MemberSummaryOutputSerializer,
            400: problem(
                "`validation-error` (invalid phone, email, future birthday, unknown referral code, card number in "
                "use; `errors` per field) or `idempotency-key-required`."
            ),
            409: OpenApiResponse(
                response=MemberExistsProblem,
                description=(
                    "`member-exists`: the phone is enrolled already; the body carries `member_id`. "
                    "Or `request-in-progress` for a concurrent request with the same key."
                ),
            ),
            422: problem("`idempotency-key-reused`: the key was used with a different body."),
            **COMMON_ERRORS,
        },
        tags=["members"],
    )
    def post(self, request: Request) -> Response:
        serializer = MemberEnrolInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        store = request.auth.store
        member = member_enrol(
            name=data["name"],
            phone=data["phone"],
            email=data["email"],
            birthday=data["birthday"],
            gender=data["gender"],
            card_number=data["card_number"],
            referral_code=data["referral_code"],
            home_store=store,
            channel=Member.Channel.API,
            consents={channel: data[f"consent_{channel}"] for channel in Member.CONSENT_CHANNELS},
            consent_source=ConsentChange.Source.TILL,
        )
        summary = member_summary_for_pos(member=member, store=store)
        return Response(MemberSummaryOutputSerializer(summary).data, status=status.HTTP_201_CREATED)


# --- One-time code (proof of presence, pos-api.md 1.1) ------------------------------------------


class MemberOtpOutputSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=["zalo", "sms"], help_text="Where the code was sent.")
    expires_at = serializers.DateTimeField(help_text="The code is valid until then (5 minutes).")


class MemberOtpApi(IdempotentAPIView):
    @extend_schema(
        operation_id="members_otp_create",
        summary="Send the member a one-time code",
        description=(
            "Sends a 6-digit code to the member by Zalo or SMS, to prove the member is present before points "
            "above the programme's free limit are spent: pass it as `otp` in the sale or redemption. Valid 5 "
            "minutes, once; 5 wrong tries void it; at most 3 codes a member per 10 minutes. Not held back by "
            "the quiet hours. Requires an Idempotency-Key (a retry sends nothing new). No body."
        ),
        parameters=[IDEMPOTENCY_KEY, ACCEPT_LANGUAGE],
        request=None,
        responses={
            201: MemberOtpOutputSerializer,
            **COMMON_ERRORS,
            400: problem("`idempotency-key-required`."),
            404: problem("`member-not-found`: no member has this id."),
            409: problem("`request-in-progress`: a request with the same key is still running."),
            422: problem("`otp-not-sent`: neither Zalo nor SMS can reach the member; or `idempotency-key-reused`."),
            429: problem(
                "`throttled`: 3 codes were sent to this member in the last 10 minutes (or the terminal's rate); "
                "see `Retry-After`."
            ),
        },
        tags=["members"],
    )
    def post(self, request: Request, member_id: int) -> Response:
        member = member_get(member_id=member_id)
        sent = presence_code_send(member=member, store=request.auth.store)
        body = {"channel": sent.channel, "expires_at": sent.expires_at}
        return Response(MemberOtpOutputSerializer(body).data, status=status.HTTP_201_CREATED)
