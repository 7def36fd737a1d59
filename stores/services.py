from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from loyalty_site.core.api_keys import api_key_generate
from loyalty_site.core.errors import ConflictError, clean_or_refuse
from stores.models import Store, Terminal

# Recording every request's time would turn each read into a write; a minute is precise enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def terminal_create(
    *, store: Store, name: str, created_by=None, kind: str = Terminal.Kind.TILL
) -> tuple[Terminal, str]:
    """Create a terminal (a till, or an online shop's key: `kind`) and return it with its API key,
    which is never retrievable again."""
    name = (name or "").strip()
    terminal = Terminal(store=store, name=name, created_by=created_by, kind=kind)
    key, terminal.key_prefix, terminal.key_hash = api_key_generate()
    clean_or_refuse(terminal)
    with transaction.atomic():
        terminal.save()
    return terminal, key


def terminal_revoke(*, terminal: Terminal, revoked_by=None) -> Terminal:
    """Revoke a terminal's key; requests with it are refused from the next one on."""
    if terminal.revoked_at is not None:
        raise ConflictError(detail=str(terminal) + ": already revoked")
    with transaction.atomic():
        updated = Terminal.objects.filter(pk=terminal.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=revoked_by
        )
    terminal.refresh_from_db()
    if not updated:
        raise ConflictError(detail=str(terminal) + ": already revoked")
    return terminal


def terminal_mark_used(*, terminal: Terminal) -> None:
    """Record the terminal's last use, at most one write per minute."""
    now = timezone.now()
    if terminal.last_used_at and now - terminal.last_used_at < LAST_USED_RESOLUTION:
        return
    Terminal.objects.filter(pk=terminal.pk).update(last_used_at=now)
    terminal.last_used_at = now
