"""Every admin page is registered once, in the app that can see everything it shows: no
unregister-and-re-register, and where a lower app's admin is composed on a higher floor, the
composed class is the one the site serves. The project's source is scanned for registrations,
and the scan is checked against the live admin site so that it cannot go blind."""

from __future__ import annotations

import ast
import importlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib import admin
from django.urls import reverse

from backoffice.admin import (
    CampaignWithResultAdmin,
    MemberWithProgrammeAdmin,
    RefundAdmin,
    RewardWithAudiencesAdmin,
    SaleAdmin,
    TerminalWithSalesAdmin,
)
from campaigns.runs.admin import CampaignAdmin
from campaigns.runs.models import Campaign
from members.admin import MemberAdmin
from members.models import Member
from pos.models import Refund, Sale
from stores.admin import TerminalAdmin
from stores.models import Terminal
from vouchers.admin import RewardAdmin
from vouchers.models import Reward

ROOT = Path(__file__).resolve().parents[2]
NOT_PROJECT_CODE = {".venv", "tests", "bench", "locale", "templates", "migrations", "__pycache__"}
OUR_APPS = {
    "core", "stores", "members", "notifications", "tiers", "vouchers", "memberships", "campaigns", "pos", "backoffice",
    "webhooks",
}  # fmt: skip


@dataclass(frozen=True)
class Registration:
    module: str
    target: ast.expr
    where: str


def _is_site(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id.endswith("site")) or (
        isinstance(node, ast.Attribute) and node.attr == "site"
    )


def _models_registered(call: ast.Call) -> list[ast.expr]:
    """The model expressions a call registers: `@admin.register(A, B)` / `@register(A)` name
    models only; `admin.site.register(A, AdminClass)` names one model (or a list of them)."""
    func = call.func
    if (isinstance(func, ast.Name) and func.id == "register") or (
        isinstance(func, ast.Attribute) and func.attr == "register" and getattr(func.value, "id", "") == "admin"
    ):
        return list(call.args)
    if isinstance(func, ast.Attribute) and func.attr == "register" and _is_site(func.value) and call.args:
        first = call.args[0]
        return list(first.elts) if isinstance(first, ast.List | ast.Tuple) else [first]
    return []


def scan(root: Path) -> tuple[list[Registration], list[str]]:
    """The admin registrations (one per model named) and the `unregister` uses in the source."""
    registrations, unregisters = [], []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if NOT_PROJECT_CODE & set(relative.parts):
            continue
        module = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if (isinstance(node, ast.Attribute) and node.attr == "unregister") or (
                isinstance(node, ast.Name) and node.id == "unregister"
            ):
                unregisters.append(f"{relative}:{node.lineno}")
            if isinstance(node, ast.Call):
                where = f"{relative}:{node.lineno}"
                registrations += [Registration(module, target, where) for target in _models_registered(node)]
    return registrations, unregisters


def _resolve(registration: Registration):
    """The model class a registration names, looked up in its (imported) module."""
    names = []
    target = registration.target
    while isinstance(target, ast.Attribute):
        names.insert(0, target.attr)
        target = target.value
    assert isinstance(target, ast.Name), f"cannot read the model at {registration.where}"
    obj = importlib.import_module(registration.module)
    for name in [target.id, *names]:
        obj = getattr(obj, name)
    return obj


def _ours(model) -> bool:
    return model._meta.app_label in OUR_APPS


def test_the_scan_sees_duplicates_and_unregisters(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "admin.py").write_text(
        "from django.contrib import admin\n"
        "from django.contrib.admin import register\n"
        "@admin.register(Member, Card)\nclass A(admin.ModelAdmin): ...\n"
        "admin.site.unregister(Member)\n"
        "admin.site.register(Member, A)\n"
        "admin.site.register([Voucher, Reward], A)\n"
        "@register(Store)\nclass B(admin.ModelAdmin): ...\n"
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("admin.site.unregister(Member)\n")
    registrations, unregisters = scan(tmp_path)
    named = Counter(ast.unparse(r.target) for r in registrations)
    assert named == {"Member": 2, "Card": 1, "Store": 1, "Voucher": 1, "Reward": 1}
    assert {r.module for r in registrations} == {"app.admin"}
    assert unregisters == ["app/admin.py:5"]


def test_no_module_unregisters_an_admin():
    _, unregisters = scan(ROOT)
    assert unregisters == []


def test_each_model_is_registered_once_and_the_scan_matches_the_site():
    registrations, _ = scan(ROOT)
    counts = Counter(_resolve(r)._meta.label for r in registrations)
    assert [label for label, count in counts.items() if count > 1] == []
    registered = {model._meta.label for model in admin.site._registry if _ours(model)}
    # The scan finds what the site serves, no more and no less: it is not blind to a way of registering.
    assert set(counts) == registered
    assert {"members.Member", "stores.Terminal", "pos.Sale", "pos.Refund"} <= registered


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def test_the_site_serves_the_composed_admin_wherever_one_exists():
    # A registered admin class that the project extends elsewhere means the extension is not served.
    extended = {
        model._meta.label: sorted(f"{s.__module__}.{s.__qualname__}" for s in _subclasses(type(model_admin))
                                  if s.__module__.split(".")[0] in OUR_APPS | {"loyalty_site"})
        for model, model_admin in admin.site._registry.items()
        if _ours(model)
    }  # fmt: skip
    assert {label: subs for label, subs in extended.items() if subs} == {}


@pytest.mark.parametrize(
    ("model", "served", "base"),
    [
        (Member, MemberWithProgrammeAdmin, MemberAdmin),
        (Terminal, TerminalWithSalesAdmin, TerminalAdmin),
        (Sale, SaleAdmin, admin.ModelAdmin),
        (Refund, RefundAdmin, admin.ModelAdmin),
        (Campaign, CampaignWithResultAdmin, CampaignAdmin),
        (Reward, RewardWithAudiencesAdmin, RewardAdmin),
    ],
)
def test_the_pages_that_need_every_floor_are_registered_by_backoffice(model, served, base):
    model_admin = admin.site._registry[model]
    assert type(model_admin) is served and isinstance(model_admin, base)
    assert type(model_admin).__module__ == "backoffice.admin"


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("admin:members_member_changelist", []),
        ("admin:members_member_change", [1]),
        ("admin:members_member_adjust_points", [1]),
        ("admin:stores_terminal_changelist", []),
        ("admin:stores_terminal_add", []),
        ("admin:pos_sale_changelist", []),
        ("admin:pos_sale_change", [1]),
        ("admin:pos_refund_changelist", []),
    ],
)
def test_the_admin_url_names_stay_where_they_were(name, args):
    expected = {
        "admin:members_member_changelist": "/admin/members/member/",
        "admin:members_member_change": "/admin/members/member/1/change/",
        "admin:members_member_adjust_points": "/admin/members/member/1/adjust-points/",
        "admin:stores_terminal_changelist": "/admin/stores/terminal/",
        "admin:stores_terminal_add": "/admin/stores/terminal/add/",
        "admin:pos_sale_changelist": "/admin/pos/sale/",
        "admin:pos_sale_change": "/admin/pos/sale/1/change/",
        "admin:pos_refund_changelist": "/admin/pos/refund/",
    }
    assert reverse(name, args=args) == expected[name]
