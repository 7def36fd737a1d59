"""`check_ledger` also reports implausible balances: above `LEDGER_PLAUSIBLE_BALANCE_MAX` (or
`--ceiling`), even when the ledger agrees with itself, and then exits non-zero."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from members.selectors import balances_implausible, ledger_drift
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def test_a_consistent_balance_above_the_ceiling_fails_the_check(settings):
    settings.LEDGER_PLAUSIBLE_BALANCE_MAX = 1000
    honest = MemberFactory(points=1000)
    rich = MemberFactory(points=1001)
    assert ledger_drift() == []
    assert balances_implausible() == [(rich.pk, rich.code, 1001)]
    out = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("check_ledger", stdout=out)
    assert "1" in str(exc.value)
    assert rich.code in out.getvalue() and "1001" in out.getvalue()
    assert honest.code not in out.getvalue()


def test_the_ceiling_can_be_given_on_the_command_line():
    MemberFactory(points=500)
    call_command("check_ledger", stdout=StringIO())  # the default ceiling: 1,000,000 points
    with pytest.raises(CommandError):
        call_command("check_ledger", "--ceiling", "499", stdout=StringIO())
