from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from loyalty_site.core.errors import DomainError
from stores.models import Store, Terminal
from stores.services import terminal_create


class Command(BaseCommand):
    help = "Create a POS terminal for a store and print its API key (alone, on the last line)."

    def add_arguments(self, parser):
        parser.add_argument("store_code")
        parser.add_argument("name")
        parser.add_argument(
            "--online",
            action="store_true",
            help="An online shop's key: it records online orders (pos-api.md 1.2), not sales.",
        )

    def handle(self, *args, store_code, name, online=False, **options):
        try:
            store = Store.objects.get(code=store_code.strip().upper())
        except Store.DoesNotExist:
            raise CommandError(_("No store with code %(code)s.") % {"code": store_code}) from None
        try:
            terminal, key = terminal_create(
                store=store, name=name, kind=Terminal.Kind.ONLINE if online else Terminal.Kind.TILL
            )
        except DomainError as exc:
            messages = [m for field_messages in exc.errors.values() for m in field_messages]
            raise CommandError(" ".join([str(exc.detail), *map(str, messages)])) from None
        self.stdout.write(
            _("Terminal %(terminal)s created. Its API key, shown only this once:") % {"terminal": terminal}
        )
        self.stdout.write(key)
