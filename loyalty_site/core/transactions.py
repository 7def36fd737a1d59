"""Services that run alone or inside their caller's transaction, without paying for savepoints.

A service owns its transaction (architecture.md). But the POS checkout records a sale, spends and
earns points and moves the tier in one transaction, and a savepoint per nested service costs two
database round trips each on the hottest path of the product, for nothing: a service that
refuses *before* its first write has nothing to undo. So such a service is written as

    with service_transaction():
        locked = ...            # locks and reads
        ...                     # refusals (domain errors) are raised here, before any write
        with writes():
            ...                 # the writes

- Alone, it runs in a transaction of its own, exactly as `transaction.atomic()` would.
- Inside a caller's transaction it opens no savepoint. A refusal leaves the caller's transaction
  as it was (the caller may catch it and go on); an error part-way through the writes marks the
  caller's transaction for rollback, so half a posting can never be committed.

Row locks: `row_locked(instance)` records that the caller locked the instance's row in the
current transaction, and `holds_row_lock(instance)` tells a service called later in the same
transaction that it need not lock (and re-read) the row again. The record names the outermost
atomic block and the savepoints open when the row was locked: once any of those is gone (the
transaction ended, or a savepoint was rolled back, which releases the locks taken after it),
the instance no longer counts as locked and the service simply locks the row itself."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import transaction
from django.db.models import Model

_LOCK_ATTRIBUTE = "_row_locked_in"


@contextlib.contextmanager
def service_transaction(using: str | None = None) -> Iterator[None]:
    """The caller's transaction if there is one (no savepoint), else a new one."""
    if transaction.get_connection(using).in_atomic_block:
        yield
    else:
        with transaction.atomic(using=using):
            yield


def writes(using: str | None = None) -> transaction.Atomic:
    """Where a service writes: an error in here rolls back the whole enclosing transaction."""
    return transaction.atomic(using=using, savepoint=False)


def _lock_token(using: str | None) -> tuple | None:
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        return None
    return connection.atomic_blocks[0], tuple(connection.savepoint_ids)


def row_locked(instance: Model, using: str | None = None) -> None:
    """Note on `instance` that its row was just locked (`select_for_update`) in this transaction."""
    setattr(instance, _LOCK_ATTRIBUTE, _lock_token(using))


def holds_row_lock(instance: Model, using: str | None = None) -> bool:
    """Whether `instance` was locked by `row_locked` in the transaction still running, with every
    savepoint that was open then still open."""
    token = getattr(instance, _LOCK_ATTRIBUTE, None)
    current = _lock_token(using)
    if token is None or current is None:
        return False
    outer, savepoints = token
    return current[0] is outer and current[1][: len(savepoints)] == savepoints
