"""Store and brand scoping of what staff see (the hook `loyalty_site.core.scoping` calls).

Who is scoped: an active, non-superuser member of a scoped role (the store manager), whatever
other role they also hold. They manage the stores named on their staff profile plus every store
of the brands named there; with no profile they manage nothing and see no member.

Which member is theirs: a member whose home store is one of their stores, or who has at least
one sale in one of their stores. A member is the programme's, not a store's: a customer of two
brands is visible to the managers of both, and one who never bought and has no home store is
visible only to staff of every brand. Rows about a member (cards, ledger entries, lots,
vouchers, tier status, messages, adjustments, history) follow the member; sales and terminals
follow their store; a refund its sale's store."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from backoffice.roles import SCOPED_ROLES
from members.models import Member
from pos.models import Sale
from stores.models import Store

MEMBER, STORE, BRAND, OWNER = "member", "store", "brand", "owner"

# model label -> (what it follows, the path from the model to it). A model with a foreign key to
# a member or a store must be listed here or in UNSCOPED (tests/backoffice/test_scoping.py).
SCOPE_PATHS: dict[str, tuple[str, str]] = {
    "members.member": (MEMBER, "pk"),
    "members.card": (MEMBER, "member"),
    "members.ledgerentry": (MEMBER, "member"),
    "members.storecreditentry": (MEMBER, "member"),
    "members.pointlot": (MEMBER, "member"),
    "members.membermerge": (MEMBER, "survivor"),
    "members.pointsadjustment": (MEMBER, "member"),
    "members.historicalmember": (MEMBER, "id"),
    "members.historicalpointsadjustment": (MEMBER, "member"),
    "notifications.memberpreference": (MEMBER, "member"),
    "notifications.message": (MEMBER, "member"),
    "tiers.tierstatus": (MEMBER, "member"),
    "tiers.tierspend": (MEMBER, "member"),
    "tiers.tierchange": (MEMBER, "member"),
    "vouchers.voucher": (MEMBER, "member"),
    "campaigns.groupmembership": (MEMBER, "member"),
    "campaigns.segmentmembership": (MEMBER, "member"),
    "vouchers.sharedcodeuse": (MEMBER, "member"),
    "vouchers.batchcode": (MEMBER, "member"),
    "campaigns.promotionapplication": (MEMBER, "member"),
    "campaigns.campaigndelivery": (MEMBER, "member"),
    "campaigns.stamp": (MEMBER, "member"),
    "campaigns.stampprogress": (MEMBER, "member"),
    "members.presencekey": (MEMBER, "member"),
    "members.presencetokenuse": (MEMBER, "member"),
    "members.presencecode": (MEMBER, "member"),
    "members.consentchange": (MEMBER, "member"),
    "notifications.pushsubscription": (MEMBER, "member"),
    "memberships.paidmembership": (MEMBER, "member"),
    "memberships.membershipvoucher": (MEMBER, "member"),
    "pos.sale": (STORE, "store"),
    "pos.refund": (STORE, "sale__store"),
    "pos.storesalelimits": (STORE, "store"),
    "pos.historicalstoresalelimits": (STORE, "store"),
    "pos.terminalday": (STORE, "terminal__store"),
    "pos.limitrefusal": (STORE, "store"),
    "stores.terminal": (STORE, "store"),
    "stores.store": (STORE, "pk"),
    "stores.brand": (BRAND, "pk"),
    # Their own import runs only (a list uploaded by another manager names other people).
    "campaigns.memberimport": (OWNER, "created_by"),
}
# Links to a member or a store that do not make a row belong to one.
UNSCOPED: set[str] = {
    "members.member.referred_by",
    "members.member.merged_into",
    "campaigns.stampcard.brand",  # configuration of a brand's stamp card, like a promotion's brands
}


def _user_cache(user) -> dict:
    # Per request: the admin's `request.user` is a fresh instance each request.
    if not hasattr(user, "_staff_scope"):
        user._staff_scope = {}
    return user._staff_scope


def user_is_scoped(user) -> bool:
    cache = _user_cache(user)
    if "scoped" not in cache:
        cache["scoped"] = bool(
            user.is_authenticated and not user.is_superuser and user.groups.filter(name__in=SCOPED_ROLES).exists()
        )
    return cache["scoped"]


def user_store_ids(user) -> list[int]:
    """The stores `user` manages: those named on the profile and those of the brands named."""
    cache = _user_cache(user)
    if "stores" not in cache:
        cache["stores"] = list(
            Store.objects.filter(Q(staff_profiles__user=user) | Q(brand__staff_profiles__user=user))
            .values_list("pk", flat=True)
            .distinct()
        )
    return cache["stores"]


def members_visible(user) -> QuerySet[Member]:
    """The members of `user`'s stores: home store there, or any sale there."""
    stores = user_store_ids(user)
    return Member.objects.filter(
        Q(home_store_id__in=stores) | Exists(Sale.objects.filter(member_id=OuterRef("pk"), store_id__in=stores))
    )


def queryset_scoped(user, queryset: QuerySet) -> QuerySet:
    if user is None or not user_is_scoped(user):
        return queryset
    follows = SCOPE_PATHS.get(queryset.model._meta.label_lower)
    if follows is None:
        return queryset
    kind, path = follows
    if kind == MEMBER:
        if queryset.model is Member:
            return queryset.filter(pk__in=members_visible(user).values("pk"))
        return queryset.filter(**{f"{path}__in": members_visible(user).values("pk")})
    if kind == STORE:
        return queryset.filter(**{f"{path}__in": user_store_ids(user)})
    if kind == BRAND:
        return queryset.filter(**{f"{path}__in": Store.objects.filter(pk__in=user_store_ids(user)).values("brand")})
    return queryset.filter(**{path: user})
