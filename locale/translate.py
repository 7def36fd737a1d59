"""Maintainer tool: refresh the Vietnamese catalogue and compile it.

1. `manage.py makemessages -l vi` collects every msgid from the code and templates;
2. translations are filled from `locale/vi.json` ({msgid: msgstr}), the reviewed source of truth
   kept in the repository, so a refresh never loses them;
3. the `.mo` file is written with polib (no GNU gettext needed to compile).

Run: `make messages`. The test suite fails if any msgid lacks a translation or the `.mo` file is
out of date."""

import json
import os
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale/vi/LC_MESSAGES/django.po"
MO = PO.with_suffix(".mo")
TRANSLATIONS = ROOT / "locale/vi.json"


def main() -> int:
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "-l",
            "vi",
            "--no-obsolete",
            "--no-location",
            "--ignore=.venv",
            "--ignore=bench",
            "--ignore=tests",
            "--ignore=locale",
        ],
        cwd=ROOT,
        # manage.py defaults to production settings (which need SECRET_KEY): collecting strings is development.
        env={"DJANGO_SETTINGS_MODULE": "loyalty_site.settings.local", **os.environ},
        check=True,
    )
    known = json.loads(TRANSLATIONS.read_text(encoding="utf-8")) if TRANSLATIONS.exists() else {}
    for pending in sorted((ROOT / "locale/pending").glob("*.json")):
        known.update(json.loads(pending.read_text(encoding="utf-8")))
        # Kept: a helper may still be adding to it; delete once merged and committed.
    po = polib.pofile(str(PO))
    po.metadata["Plural-Forms"] = "nplurals=1; plural=0;"
    po.metadata["Language"] = "vi"
    po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    missing = []
    for entry in po:
        # The JSON files are the only source of translations: msgmerge's "fuzzy" guesses from
        # similar messages are wrong more often than not (and may carry other placeholders).
        text = known.get(entry.msgid, "")
        entry.flags = [flag for flag in entry.flags if flag != "fuzzy"]
        entry.previous_msgid = entry.previous_msgid_plural = None
        if entry.msgid_plural:
            entry.msgstr_plural = {0: text}
        else:
            entry.msgstr = text
        if not text:
            missing.append(entry.msgid)
    used = {e.msgid for e in po}
    TRANSLATIONS.write_text(
        json.dumps({k: v for k, v in sorted(known.items()) if k in used}, ensure_ascii=False, indent=1) + "\n",
        encoding="utf-8",
    )
    po.save(str(PO))
    po.save_as_mofile(str(MO))
    for msgid in missing:
        print(f"missing Vietnamese translation: {msgid!r}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
