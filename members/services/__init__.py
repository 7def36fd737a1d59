"""Every write of the members app. Import from here: `from members.services import points_earn`."""

from members.services.ledger import (
    ExpiryResult,
    ledger_move,
    lot_expires_at,
    member_points_expire,
    members_lock,
    points_adjust,
    points_earn,
    points_expire_due,
    points_reverse,
    points_spend,
)
from members.services.members import (
    card_deactivate,
    card_issue,
    card_number_normalise,
    card_replace,
    member_block,
    member_consent_set,
    member_enrol,
    member_merge,
    member_review_clear,
    member_unblock,
    member_update,
)
from members.services.programme import programme_settings_update

__all__ = [
    "ExpiryResult",
    "card_deactivate",
    "card_issue",
    "card_number_normalise",
    "card_replace",
    "ledger_move",
    "lot_expires_at",
    "member_block",
    "member_consent_set",
    "member_enrol",
    "member_merge",
    "member_points_expire",
    "member_review_clear",
    "member_unblock",
    "member_update",
    "members_lock",
    "points_adjust",
    "points_earn",
    "points_expire_due",
    "points_reverse",
    "points_spend",
    "programme_settings_update",
]
