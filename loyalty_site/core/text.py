"""Free text from tills, imports and forms, made safe to keep and to write out.

A till can send any character; a barcode scanner or a keyboard wedge sometimes sends control
characters (NUL, ESC, the separators 0x1C-0x1F, DEL, the C1 range). They are invisible, they
make two spellings of one name, and the XML inside an xlsx file cannot hold most of them, so one
such name used to break every member export. The decision: they are *stripped*, not refused.
A cashier cannot see or fix an invisible character, and refusing would stop the enrolment at
the counter; a name made of nothing else ends up blank and is refused as a missing name.

- `single_line` is for names and other one-line text: every control character counts as white
  space, and white space collapses to single spaces.
- `unwritable_strip` is the exporter's last defence, for data stored before the rule (or by a
  path that forgot it): it drops what a spreadsheet file cannot hold, and nothing else, so tab,
  line feed and carriage return survive (the formula escape deals with them at a cell's start).
"""

from __future__ import annotations

import re

# Unicode category Cc (C0, DEL, C1) and the lone surrogates that a JSON "\ud800" escape can
# produce (PostgreSQL refuses to store them).
_CONTROL_OR_SURROGATE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# What XML 1.0 (and so openpyxl) cannot hold: C0 controls but tab, LF and CR; lone surrogates;
# the two non-characters U+FFFE and U+FFFF.
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def single_line(value: object) -> str:
    """One line of text: control characters read as white space, runs of white space become
    one space, none at either end."""
    return " ".join(_CONTROL_OR_SURROGATE.sub(" ", str(value or "")).split())


def unwritable_strip(value: str) -> str:
    """`value` without the characters an xlsx (XML) cell cannot hold."""
    return _UNWRITABLE.sub("", value)
