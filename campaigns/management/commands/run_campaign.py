import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from campaigns.runs.models import Campaign, CampaignRun
from campaigns.runs.services import campaign_run
from loyalty_site.core.errors import DomainError


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(_("Give the date as YYYY-MM-DD, e.g. 2025-01-31.")) from None


class Command(BaseCommand):
    help = (
        "Run one campaign by hand, for today or for a given day. Safe to run again for the same "
        "period: nobody gets anything twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="The campaign's code, e.g. BIRTHDAY-MONTHLY.")
        parser.add_argument(
            "--as-of", type=_date, default=None, help="YYYY-MM-DD; default: today in the programme's time zone."
        )

    def handle(self, *args, code, as_of=None, **options):
        campaign = Campaign.objects.filter(code=code.strip().upper()).first()
        if campaign is None:
            raise CommandError(_("No campaign has the code %(code)s.") % {"code": code})
        try:
            run = campaign_run(campaign=campaign, as_of=as_of, trigger=CampaignRun.Trigger.MANUAL)
        except DomainError as exc:
            messages = [str(m) for field_messages in exc.errors.values() for m in field_messages]
            raise CommandError(" ".join(messages) or str(exc.detail)) from None
        self.stdout.write(
            _(
                "Campaign %(code)s, period %(period)s: %(reached)d members reached out of an audience of "
                "%(audience)d, %(vouchers)d vouchers issued, %(points)d points given, %(messages)d messages queued."
            )
            % {
                "code": campaign.code,
                "period": run.period_key,
                "reached": run.members_reached,
                "audience": run.audience_count,
                "vouchers": run.vouchers_issued,
                "points": run.points_given,
                "messages": run.messages_queued,
            }
        )
        if run.note:
            self.stdout.write(run.note)
        if run.status == CampaignRun.Status.FAILED:
            raise CommandError(_("The run failed: %(note)s") % {"note": run.note})
