"""Staff roles, as Django groups. Defined here, on the top layer, because a role spans every
app below. `roles_sync` is run by a data migration and again after every `migrate`, so models
added later get their permissions without anyone editing the groups by hand."""

from __future__ import annotations

from django.utils.translation import gettext_noop

PROGRAMME_LEAD = gettext_noop("Programme lead")
MARKETING = gettext_noop("Marketing")
STORE_MANAGER = gettext_noop("Store manager")
# The one role whose users see and handle members of some stores and brands only (their staff
# profile, backoffice/scoping.py); every other role works across all brands.
SCOPED_ROLES = (STORE_MANAGER,)

_CRUD = ("add", "change", "delete", "view")
_VIEW = ("view",)
# The configuration Marketing owns also goes out to Excel and, from a test installation, back in
# (`export_<model>` / `import_<model>` where the model has them: see each app's resources.py).
_CONFIG = (*_CRUD, "export", "import")

# Per role: app label -> the default actions on every model of the app, and per-model
# overrides "app.model" -> actions (including custom permission codenames).
ROLES: dict[str, dict[str, tuple[str, ...]]] = {
    # Runs the programme: its settings, tiers, rewards and promotions, and approves the point
    # adjustments above the limits (never their own). Reads members of every brand.
    PROGRAMME_LEAD: {
        "members": _VIEW,
        "members.programmesettings": ("view", "change"),
        # Store credit is money: only the lead adjusts it (no approval step, unlike points).
        "members.member": ("view", "change", "adjust_points", "adjust_store_credit", "export_members"),
        "members.pointsadjustment": ("view", "approve_pointsadjustment"),
        "tiers": _CONFIG,
        "vouchers": _CONFIG,
        "campaigns": _CONFIG,
        "notifications": _VIEW,
        # The Zalo OA tokens: entering a refresh token, renewing now, the failure banner.
        "notifications.zaloconnection": ("view", "add", "change"),
        "stores": _VIEW,
        "stores.terminal": _VIEW,
        "pos": _VIEW,
        # The limits on tills (risk.md): the programme's values and each store's own.
        "pos.salelimits": ("view", "change"),
        "pos.storesalelimits": _CRUD,
        "core": _VIEW,
        "reports.dailysales": ("view_reports",),
        # Paid membership: the plans, and selling or cancelling a member's period in the admin.
        "memberships": _VIEW,
        "memberships.paidplan": _CRUD,
        "memberships.paidmembership": ("view", "add", "change"),
    },
    MARKETING: {
        # Customer lists from Excel go into groups through the member import (its upload page
        # needs `import_members`; the group choice needs `change_customergroup`, in _CONFIG).
        "tiers": _CONFIG,
        "vouchers": _CONFIG,
        "campaigns": _CONFIG,
        "notifications": _CRUD,
        # The outbox is a record, not configuration: read it, and resend what failed.
        "notifications.message": ("view", "resend_message"),
        "notifications.zaloconnection": (),  # the Programme lead's
        # The programme settings (point value, rounding, expiry, back-dating, limits) are the
        # lead's alone: Marketing only reads members.programmesettings and has no pos rights.
        "members": _VIEW,
        # Issue 16: uploads Excel lists (e.g. the birthday list) into customer groups.
        "members.member": ("view", "import_members"),
        "stores": _VIEW,
        "stores.terminal": (),
        "reports.dailysales": ("view_reports",),
        "memberships": _VIEW,
    },
    STORE_MANAGER: {
        "members": _VIEW,
        "members.member": ("view", "add", "change", "import_members", "export_members", "adjust_points"),
        "members.pointsadjustment": _VIEW,  # their own requests and what became of them
        "members.card": ("view", "add", "change"),  # issue and replace lost cards at the counter
        "tiers": _VIEW,
        "vouchers": _VIEW,
        "campaigns": _VIEW,
        "notifications": _VIEW,
        "notifications.zaloconnection": (),
        "stores": _VIEW,
        "stores.terminal": _VIEW,  # the terminals of their own stores (scoped)
        "pos": _VIEW,
        # The reports of their own stores only (reports/views.py scopes them).
        "reports.dailysales": ("view_reports",),
        # Sell or cancel a paid membership at the counter (their own stores' members).
        "memberships": _VIEW,
        "memberships.paidmembership": ("view", "add", "change"),
    },
}
# Ledgers and audit trails are never edited by anyone, whatever the app default says.
READ_ONLY_MODELS = {
    "members.ledgerentry",
    "members.storecreditentry",
    "members.pointlot",
    "members.historicalmember",
    "members.historicalpointsadjustment",
    "tiers.tierchange",
    "core.idempotencyrecord",
    # Who changed which setting, and when (loyalty_site.core.models.settings_history).
    "members.historicalprogrammesettings",
    "tiers.historicaltiersettings",
    "pos.historicalsalelimits",
    "pos.historicalstoresalelimits",
}


def _wanted_codenames(spec: dict[str, tuple[str, ...]], app_label: str, model: str) -> set[str]:
    actions = spec.get(f"{app_label}.{model}", spec.get(app_label, ()))
    if f"{app_label}.{model}" in READ_ONLY_MODELS:
        actions = tuple(a for a in actions if a == "view")
    return {a if "_" in a else f"{a}_{model}" for a in actions}


def roles_sync(group_model, permission_model) -> None:
    """Create the role groups and set their permissions to exactly what ROLES says."""
    permissions = list(permission_model.objects.select_related("content_type"))
    for name, spec in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=name)
        wanted = [
            p
            for p in permissions
            if p.codename in _wanted_codenames(spec, p.content_type.app_label, p.content_type.model)
        ]
        group.permissions.set(wanted)
