"""Control characters in free text (issue 13): a till could enrol "Lan<0x01>" and every member
export then failed, because the XML inside an xlsx file cannot hold it. Names are cleaned on the
way in (stripped, not refused: `loyalty_site/core/text.py` says why), and the exporters drop
what a spreadsheet cannot hold, so text stored before the rule cannot break an export either."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest
from django.core.management import call_command

from loyalty_site.core.importexport.escape import neutralise
from loyalty_site.core.text import single_line, unwritable_strip
from members.models import Member
from members.services import member_update
from tests.factories import MemberFactory
from tests.members.helpers import written_state

ENROL = "/api/pos/v1/members"
# NUL is refused by DRF itself (400, tested below); these pass its validators.
DIRTY_NAME = "Nguyễn\x01Văn\x1b\x7f An\x85\x0b"


def enrol(client, body, key="enrol-cc"):
    return client.post(ENROL, data=json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


def test_single_line_reads_every_control_character_as_white_space():
    assert single_line(DIRTY_NAME) == "Nguyễn Văn An"
    assert single_line("  Trần\tThị\r\nHoa ") == "Trần Thị Hoa"
    assert single_line("\x00\x1f\x7f\x9f") == ""
    assert single_line("Lan\ud800") == "Lan"  # a lone surrogate (JSON "\ud800") cannot be stored
    assert single_line(None) == ""


def test_unwritable_strip_keeps_tab_and_line_breaks_and_vietnamese():
    assert unwritable_strip("a\x00b\x08c\x0bd\x0ce\x1ff\ufffe") == "abcdef"
    assert unwritable_strip("Lê\tHồng\nPhúc\r") == "Lê\tHồng\nPhúc\r"


def test_neutralise_strips_first_then_escapes_what_would_become_a_formula():
    assert neutralise("\x01=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert neutralise("An\x02") == "An"
    assert neutralise(7) == 7


@pytest.mark.django_db
def test_a_till_enrolling_a_name_with_control_characters_keeps_the_clean_name(pos_client):
    response = enrol(pos_client, {"name": DIRTY_NAME, "phone": "0912345678"})

    assert response.status_code == 201, response.content
    assert Member.objects.get().name == "Nguyễn Văn An"
    assert response.json()["name"] == "Nguyễn Văn An"


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["\x01\x02\x1b", "\x00Lan"])
def test_a_name_of_nothing_but_control_characters_or_with_nul_is_refused_and_writes_nothing(pos_client, name):
    before = written_state()

    response = enrol(pos_client, {"name": name, "phone": "0912345678"})

    assert response.status_code == 400, response.content
    assert "name" in response.json()["errors"]
    assert written_state() == before


@pytest.mark.django_db
def test_a_rename_is_cleaned_the_same_way():
    member = MemberFactory(name="Lan")

    member_update(member=member, data={"name": "Lan\x07 Anh"})

    member.refresh_from_db()
    assert member.name == "Lan Anh"


@pytest.fixture
def stored_before_the_rule(db):
    """Rows written before names were cleaned: straight into the table, past every service."""
    member = MemberFactory(name="Lan", phone="0912000801", email="lan@example.vn")
    Member.objects.filter(pk=member.pk).update(
        name="Lan\x01\x1b Anh\x08", email="lan\x0c@example.vn"
    )  # no NUL: PostgreSQL refuses it
    return member


def test_the_xlsx_member_export_does_not_break_on_stored_control_characters(stored_before_the_rule, tmp_path):
    path = tmp_path / "members.xlsx"

    call_command("export_members", str(path))

    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert rows[1][2:4] == ("Lan Anh", "lan@example.vn")


def test_the_csv_member_export_drops_them_too(stored_before_the_rule, tmp_path):
    path = tmp_path / "members.csv"

    call_command("export_members", str(path))

    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
    assert rows[1][2:4] == ["Lan Anh", "lan@example.vn"]
