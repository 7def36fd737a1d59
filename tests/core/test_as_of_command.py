"""AsOfCommand: the `--as-of` day parsed once for every scheduled job, refusals as command errors."""

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from loyalty_site.core.errors import ConflictError, ValidationFailed
from loyalty_site.core.management.base import AsOfCommand, as_of_date, command_error


class _Job(AsOfCommand):
    def __init__(self, refusal=None):
        super().__init__(stdout=StringIO())
        self.refusal = refusal
        self.calls = []

    def handle_as_of(self, as_of, **options):
        if self.refusal is not None:
            raise self.refusal
        self.calls.append(as_of)
        self.stdout.write(f"ran for {as_of}")


def test_the_day_is_parsed_and_given_to_the_job():
    job = _Job()
    call_command(job, "--as-of", "2025-02-28")
    assert job.calls == [datetime.date(2025, 2, 28)]


def test_without_as_of_the_job_gets_none_and_the_service_picks_today():
    job = _Job()
    call_command(job)
    assert job.calls == [None]


@pytest.mark.parametrize("value", ["28/02/2025", "2025-02-30", "tomorrow", ""])
def test_a_day_not_written_yyyy_mm_dd_is_refused_before_the_job_runs(value):
    job = _Job()
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command(job, "--as-of", value)
    assert job.calls == []


def test_as_of_date_reads_an_iso_date():
    assert as_of_date("2024-02-29") == datetime.date(2024, 2, 29)


def test_a_refusal_ends_the_command_with_its_field_messages():
    job = _Job(ValidationFailed(errors={"as_of": ["The expiry cannot be run for a future day."]}))
    with pytest.raises(CommandError) as refused:
        call_command(job, "--as-of", "2999-01-01")
    assert str(refused.value) == "The expiry cannot be run for a future day."
    assert refused.value.__cause__ is None and refused.value.__suppress_context__


def test_a_refusal_without_field_messages_ends_the_command_with_its_detail():
    assert str(command_error(ConflictError("Already running."))) == "Already running."


def test_other_errors_are_not_disguised_as_refusals():
    job = _Job(RuntimeError("a bug"))
    with pytest.raises(RuntimeError):
        call_command(job)


def test_every_scheduled_job_command_is_an_as_of_command():
    from django.core.management import load_command_class

    for app, name in [
        ("members", "expire_points"),
        ("tiers", "evaluate_tiers"),
        ("vouchers", "expire_vouchers"),
        ("notifications", "send_expiry_reminders"),
        ("campaigns", "run_campaign"),
    ]:
        assert isinstance(load_command_class(app, name), AsOfCommand), name
