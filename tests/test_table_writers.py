"""One writer per table (architecture.md): no app writes to another app's tables.

The scanner reads the project's own source (not tests, migrations or bench) with the AST and
finds the writes it can attribute to a model:
- ORM calls on a manager or queryset: `Member.objects.create/bulk_create/bulk_update/update/
  delete/get_or_create/update_or_create(...)`, also at the end of a chain
  (`Member.objects.filter(...).update(...)`);
- `.save()` and `.delete()` on an instance whose model is known: built here (`Member(...)`),
  read here (`Member.objects.get(...)`, a `for` over a queryset), or annotated (`member: Member`,
  `queryset: QuerySet[Member]`);
- raw SQL in string literals and f-strings: `INSERT INTO`, `UPDATE`, `DELETE FROM`, `COPY`
  followed by a table name, or by a placeholder holding `Model._meta.db_table` (directly, quoted,
  or through a local variable or `.format()` keyword);
- calls to a function that writes a model it takes as a parameter (`rows_insert(Voucher, ...)`,
  a module's own `_insert(model, ...)`): the write belongs to the caller, with the model it passes.
Django's app registry maps model names and db_table names (m2m tables included) to their app;
the module's app is the app whose package holds the file. Third-party models (auth, celery-beat)
are not checked. What it cannot see: writes through related managers (`member.cards.create`),
on instances or querysets of unknown type, and SQL built outside string literals."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_PARTS = {"tests", "bench", "migrations", ".venv", "venv", "locale", "node_modules", ".git"}

# Writes another helper is moving into the owning app right now (issue 12, "One writer per
# table"). Each entry must still be found: once its fix lands the test fails until the entry goes.
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()  # none left: keep it that way

# Tables of the libraries' apps have no owner among ours; each has its one designated writer.
LIBRARY_TABLE_WRITERS: dict[str, set[str]] = {
    "auth": {"backoffice"},  # the staff roles (backoffice/roles.py), synced after every migrate
    "otp_totp": {"backoffice"},  # staff authenticator devices (backoffice/signin.py)
    # periodic tasks declared in code (core/schedules.py) and each campaign's own schedule
    "django_celery_beat": {"core", "campaigns"},
}

MANAGER_WRITES = {"create", "bulk_create", "bulk_update", "update", "delete", "get_or_create", "update_or_create"}
INSTANCE_WRITES = {"save", "delete"}
PASS_THROUGH_ATTRS = {"objects", "_default_manager", "_base_manager", "_meta", "db_table", "model"}
QUERYSET_METHODS = {
    "all", "filter", "exclude", "get", "first", "last", "latest", "earliest", "select_for_update",
    "select_related", "prefetch_related", "order_by", "only", "defer", "annotate", "distinct", "using",
    "create", "get_or_create", "update_or_create", "none", "alias", "reverse",
}  # fmt: skip
QUOTE_FUNCTIONS = {"quote", "quote_name"}
SQL_WRITE = re.compile(r"\b(?:INSERT INTO|UPDATE|DELETE FROM|COPY)\s+(\"?[A-Za-z_]\w*\"?|\x00\d+\x00)")


@dataclass(frozen=True)
class Param:
    """A model the function takes as its parameter `name` (position `index`)."""

    name: str
    index: int | None


@dataclass(frozen=True)
class Write:
    path: str
    line: int
    model: str  # "app_label.ModelName", or "?" when a raw SQL write names no table we can tell
    how: str


def project_models() -> tuple[dict[str, type], dict[str, type]]:
    """The project's models by class name and by db_table (auto-created m2m tables included)."""
    by_name, by_table = {}, {}
    for model in apps.get_models(include_auto_created=True):
        if not Path(model._meta.app_config.path).resolve().is_relative_to(ROOT):
            continue
        by_table[model._meta.db_table] = model
        if not model._meta.auto_created:
            by_name[model.__name__] = model
    return by_name, by_table


def module_owner(path: str) -> str | None:
    """The label of the project app whose package holds `path` (relative to the root)."""
    file = (ROOT / path).resolve()
    holders = [c for c in apps.get_app_configs() if file.is_relative_to(Path(c.path).resolve())]
    holders = [c for c in holders if Path(c.path).resolve().is_relative_to(ROOT)]
    return max(holders, key=lambda c: len(Path(c.path).resolve().parts)).label if holders else None


class _Scope:
    """A function (or the module): its parameters, annotations and local assignments."""

    def __init__(self, node: ast.AST | None, class_model: type | None):
        self.params: dict[str, Param] = {}
        self.annotations: dict[str, ast.expr] = {}
        self.assigned: dict[str, ast.expr] = {}
        self.iterated: dict[str, ast.expr] = {}
        self.class_model = class_model
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            positional = [*node.args.posonlyargs, *node.args.args]
            for index, arg in enumerate(positional):
                self.params[arg.arg] = Param(arg.arg, index)
            for arg in node.args.kwonlyargs:
                self.params[arg.arg] = Param(arg.arg, None)
            for arg in [*positional, *node.args.kwonlyargs]:
                if arg.annotation is not None:
                    self.annotations[arg.arg] = arg.annotation
        body = node.body if node is not None else []
        for child in _walk_local(body):
            if isinstance(child, ast.Assign | ast.AnnAssign):
                targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                if child.value is None:
                    continue
                for target in targets:
                    if isinstance(target, ast.Name):
                        self.assigned.setdefault(target.id, child.value)
                    elif isinstance(target, ast.Tuple) and target.elts and isinstance(target.elts[0], ast.Name):
                        # `obj, created = Model.objects.get_or_create(...)`
                        self.assigned.setdefault(target.elts[0].id, child.value)
            elif isinstance(child, ast.For) and isinstance(child.target, ast.Name):
                self.iterated.setdefault(child.target.id, child.iter)


def _walk_local(body: list[ast.stmt]):
    """Every node of a function body, not entering nested functions or classes."""
    stack = list(body)
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
                stack.append(child)


class Scanner:
    def __init__(self):
        self.by_name, self.by_table = project_models()
        self.writer_functions: dict[str, Param] = {"rows_insert": Param("model", 0)}

    # --- Resolution -----------------------------------------------------------------------

    def _imports(self, tree: ast.Module) -> dict[str, str]:
        names = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    names[alias.asname or alias.name.split(".")[0]] = alias.name
        return names

    def _model_named(self, name: str, imported: str | None, module: str) -> type | None:
        model = self.by_name.get(name)
        if model is None:
            return None
        app = model._meta.app_config.name
        if imported is not None:
            return model if imported.startswith(app + ".") or imported == app else None
        return model if model.__module__ == module else None  # defined in this very module

    def resolve(self, expr: ast.AST | None, scope: _Scope, ctx: dict, depth: int = 0):
        """The model `expr` refers to (class, instance, queryset, meta or table name), a `Param`
        when it is the function's parameter, or None."""
        if expr is None or depth > 12:
            return None
        again = lambda e: self.resolve(e, scope, ctx, depth + 1)  # noqa: E731
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):  # a string annotation
            try:
                return again(ast.parse(expr.value, mode="eval").body)
            except SyntaxError:
                return None
        if isinstance(expr, ast.Name):
            if expr.id == "self" and scope.class_model is not None:
                return scope.class_model
            if expr.id in scope.annotations:
                found = again(scope.annotations[expr.id])
                if found is not None:
                    return found
            if expr.id in scope.params:
                return scope.params[expr.id]
            if expr.id in scope.assigned:
                return again(scope.assigned[expr.id])
            if expr.id in scope.iterated:
                return again(scope.iterated[expr.id])
            return self._model_named(expr.id, ctx["imports"].get(expr.id), ctx["module"])
        if isinstance(expr, ast.Attribute):
            if expr.attr in PASS_THROUGH_ATTRS:
                return again(expr.value)
            if isinstance(expr.value, ast.Name) and expr.value.id in ctx["imports"]:  # models.Member
                return self._model_named(expr.attr, ctx["imports"][expr.value.id] + "." + expr.attr, ctx["module"])
            return None
        if isinstance(expr, ast.Call):
            func = expr.func
            if isinstance(func, ast.Attribute) and func.attr in QUERYSET_METHODS:
                return again(func.value)
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in QUOTE_FUNCTIONS and expr.args:
                return again(expr.args[0])
            found = again(func)  # Model(...)
            return found if isinstance(found, type) else None
        if isinstance(expr, ast.Subscript):  # QuerySet[Member], list[Member]
            return again(expr.slice)
        if isinstance(expr, ast.BinOp):  # Member | None
            return again(expr.left) or again(expr.right)
        return None

    # --- Scanning -------------------------------------------------------------------------

    def scan_source(self, source: str, path: str) -> tuple[list[Write], dict[str, Param]]:
        """The writes of one module, and the functions that write a model given as a parameter."""
        tree = ast.parse(source)
        module = path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
        ctx = {"imports": self._imports(tree), "module": module}
        writes: list[Write] = []
        delegating: dict[str, Param] = {}

        def visit(node: ast.AST, scope: _Scope, function: str | None) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                    visit(child, _Scope(child, scope.class_model), child.name)
                    continue
                if isinstance(child, ast.ClassDef):
                    model = self._model_named(child.name, None, module)
                    visit(child, _Scope(None, model), None)
                    continue
                if isinstance(child, ast.Expr) and isinstance(child.value, ast.Constant):
                    continue  # a docstring
                for target, how in self._writes_at(child, scope, ctx):
                    if isinstance(target, Param):
                        if function is not None and function not in MANAGER_WRITES | INSTANCE_WRITES:
                            delegating[f"{module}.{function}" if function.startswith("_") else function] = target
                    elif target is not None:
                        writes.append(Write(path, child.lineno, target, how))
                visit(child, scope, function)

        visit(tree, _Scope(tree, None), None)
        return writes, delegating

    def _writes_at(self, node: ast.AST, scope: _Scope, ctx: dict):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            if method in MANAGER_WRITES | INSTANCE_WRITES:
                target = self.resolve(node.func.value, scope, ctx)
                if target is not None:
                    yield self._label(target), f".{method}()"
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            # A private helper (`_insert`) is the module's own; a public one is found by its name.
            key = f"{ctx['module']}.{name}" if name and name.startswith("_") else name
            param = self.writer_functions.get(key)
            if param is not None:
                arg = next((k.value for k in node.keywords if k.arg == param.name), None)
                if arg is None and param.index is not None and len(node.args) > param.index:
                    arg = node.args[param.index]
                target = self.resolve(arg, scope, ctx)
                if target is not None:
                    yield self._label(target), f"{name}()"
        yield from self._sql_writes(node, scope, ctx)

    def _sql_writes(self, node: ast.AST, scope: _Scope, ctx: dict):
        holes: list[ast.expr | None] = []
        if isinstance(node, ast.JoinedStr):
            text = ""
            for part in node.values:
                if isinstance(part, ast.Constant):
                    text += str(part.value)
                else:
                    text += f"\x00{len(holes)}\x00"
                    holes.append(part.value)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"
            and isinstance(node.func.value, ast.Constant)
            and isinstance(node.func.value.value, str)
        ):
            keywords = {k.arg: k.value for k in node.keywords}

            def hole(match: re.Match) -> str:
                holes.append(keywords.get(match.group(1)))
                return f"\x00{len(holes) - 1}\x00"

            text = re.sub(r"\{(\w*)\}", hole, node.func.value.value)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        else:
            return
        for match in SQL_WRITE.finditer(text):
            token = match.group(1)
            if token.startswith("\x00"):
                target = self.resolve(holes[int(token.strip("\x00"))], scope, ctx)
                yield (target if isinstance(target, Param) else self._label(target) if target else "?"), "raw SQL"
            else:
                model = self.by_table.get(token.strip('"'))
                if model is not None:
                    yield self._label(model), "raw SQL"

    @staticmethod
    def _label(target) -> str | Param:
        if isinstance(target, Param):
            return target
        return f"{target._meta.app_label}.{target.__name__}"


def project_sources() -> dict[str, str]:
    sources = {}
    for file in sorted(ROOT.rglob("*.py")):
        relative = file.relative_to(ROOT)
        if SKIPPED_PARTS & set(relative.parts) or relative.parts[0].startswith("."):
            continue
        sources[relative.as_posix()] = file.read_text(encoding="utf-8")
    return sources


def find_writes(sources: dict[str, str]) -> list[Write]:
    """Every write found, with the functions that write a model they are given followed: a
    helper's writes are the caller's, until no new such helper turns up."""
    scanner = Scanner()
    while True:
        writes, known = [], dict(scanner.writer_functions)
        for path, source in sources.items():
            found, delegating = scanner.scan_source(source, path)
            writes += found
            scanner.writer_functions.update(delegating)
        if scanner.writer_functions == known:
            return writes


def violations(writes: list[Write]) -> dict[tuple[str, str], list[Write]]:
    found: dict[tuple[str, str], list[Write]] = {}
    for write in writes:
        app, owner = write.model.split(".")[0], module_owner(write.path)
        if owner in LIBRARY_TABLE_WRITERS.get(app, ()):
            continue
        if write.model == "?" or app != owner:
            found.setdefault((write.path, write.model), []).append(write)
    return found


@pytest.fixture(scope="module")
def project_writes() -> list[Write]:
    return find_writes(project_sources())


def test_no_app_writes_another_apps_tables(project_writes):
    found = violations(project_writes)
    new = {key: found[key] for key in sorted(set(found) - KNOWN_VIOLATIONS)}
    assert not new, "writes to another app's tables (call the owning app's service instead):\n" + "\n".join(
        f"  {w.path}:{w.line} {w.how} writes {w.model}" for ws in new.values() for w in ws
    )
    stale = sorted(KNOWN_VIOLATIONS - set(found))
    assert not stale, f"fixed: remove from KNOWN_VIOLATIONS: {stale}"


def test_the_scanner_sees_the_writes_of_each_app(project_writes):
    """The scan reaches the code that writes: each app's own services are found writing."""
    writers = {w.model.split(".")[0] for w in project_writes if module_owner(w.path) == w.model.split(".")[0]}
    assert {"members", "notifications", "tiers", "vouchers", "campaigns", "pos", "stores", "core"} <= writers
    hows = {w.how for w in project_writes}
    assert {".create()", ".update()", ".save()", "raw SQL", "rows_insert()"} <= hows


PLANTED = """
from django.db import connection
from loyalty_site.core.rows import rows_insert
from members.models import LedgerEntry, Member
from tiers.models import TierStatus
from vouchers.models import Reward, Voucher


def own_rows(*, reward: Reward) -> None:
    Reward.objects.filter(pk=reward.pk).update(stock=1)   # vouchers' own table: fine
    reward.save()


def bad_manager():
    Member.objects.create(name="x")


def bad_chain():
    TierStatus.objects.select_for_update().filter(member_id=1).update(qualifying_spend=0)


def bad_instance(*, entry: LedgerEntry) -> None:
    entry.save()


def bad_built():
    member = Member(name="y")
    member.save()


def bad_raw_sql():
    with connection.cursor() as cursor:
        cursor.execute("UPDATE members_member SET name = %s", ["z"])


def bad_meta_sql():
    table = connection.ops.quote_name(TierStatus._meta.db_table)
    return f"DELETE FROM {table} WHERE id = %s"


def _insert(model, rows):
    model.objects.bulk_create([model(**row) for row in rows])


def bad_helpers():
    rows_insert(LedgerEntry, [], now=None)
    _insert(Member, [])
    _insert(Voucher, [])   # vouchers' own table through the helper: fine
"""


def test_the_scanner_catches_planted_violations():
    writes = find_writes({"vouchers/services/planted.py": PLANTED})
    found = {(key[1], w.line, w.how) for key, ws in violations(writes).items() for w in ws}
    assert found == {
        ("members.Member", 15, ".create()"),
        ("tiers.TierStatus", 19, ".update()"),
        ("members.LedgerEntry", 23, ".save()"),
        ("members.Member", 28, ".save()"),
        ("members.Member", 33, "raw SQL"),
        ("tiers.TierStatus", 38, "raw SQL"),
        ("members.LedgerEntry", 46, "rows_insert()"),
        ("members.Member", 47, "_insert()"),
    }
    assert {w.model for w in writes if w.line in (10, 11, 48)} == {"vouchers.Reward", "vouchers.Voucher"}
