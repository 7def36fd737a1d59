"""The base of the scheduled jobs' commands: `--as-of YYYY-MM-DD` to run (or run again) a past
day by hand, and a service's refusal reported as a command error."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from loyalty_site.core.errors import DomainError


def as_of_date(value: str) -> datetime.date:
    """The `--as-of` argument: a date written YYYY-MM-DD."""
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(_("Give the date as YYYY-MM-DD, e.g. 2025-01-31.")) from None


def command_error(exc: DomainError) -> CommandError:
    """A refusal as a command error: its messages per field, or its detail when it has none."""
    messages = [str(m) for field_messages in exc.errors.values() for m in field_messages]
    return CommandError(" ".join(messages) or str(exc.detail))


class AsOfCommand(BaseCommand):
    """A job run for a day: `--as-of` (default: today in the programme's time zone, which the
    service decides) is parsed here, the work is `handle_as_of`, and a refusal from a service
    ends the command with its message and a non-zero exit status."""

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of", type=as_of_date, default=None, help="YYYY-MM-DD; default: today in the programme's time zone."
        )

    def handle(self, *args: Any, as_of: datetime.date | None = None, **options: Any) -> None:
        try:
            self.handle_as_of(as_of, **options)
        except DomainError as exc:
            raise command_error(exc) from None

    def handle_as_of(self, as_of: datetime.date | None, **options: Any) -> None:
        raise NotImplementedError("an AsOfCommand implements handle_as_of(as_of, **options)")
