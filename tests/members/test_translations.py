"""Every message the members app and its POS views show has a Vietnamese translation, either
already merged into locale/vi.json or waiting in locale/pending/*.json (one file per helper)."""

import ast
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
GETTEXT = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext"}
PLACEHOLDER = re.compile(r"%\(\w+\)[-+ #0]*\w")


def _msgids() -> set[str]:
    sources = [p for p in (ROOT / "members").rglob("*.py") if "migrations" not in p.parts]
    sources.append(ROOT / "pos/apis/members.py")
    found = set()
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
                if name in GETTEXT and isinstance(node.args[0].value, str):
                    found.add(node.args[0].value)
    for template in (ROOT / "members/templates").rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        found.update(m.group(2) for m in re.finditer(r"""{%\s*translate\s+(['"])(.*?)\1""", text))
        for block in re.finditer(r"{%\s*blocktranslate[^%]*%}(.*?){%\s*endblocktranslate\s*%}", text, re.S):
            found.add(re.sub(r"{{\s*(\w+)\s*}}", r"%(\1)s", block.group(1)))
    return found


def _translations() -> dict[str, str]:
    known = {}
    for path in [ROOT / "locale/vi.json", *sorted((ROOT / "locale/pending").glob("*.json"))]:
        if path.exists():
            known.update(json.loads(path.read_text(encoding="utf-8")))
    return known


def test_every_members_message_has_a_vietnamese_translation_with_the_same_placeholders():
    known = _translations()
    ids = _msgids()
    assert len(ids) > 150
    missing = sorted(i for i in ids if not known.get(i))
    assert not missing, f"add to locale/pending/members.json: {missing}"
    for msgid in ids:
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(known[msgid])), msgid
