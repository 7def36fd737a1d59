"""Services that run alone or inside their caller's transaction, without paying for savepoints,
and the explicit handles a lock function passes to them. Django's public API only: `atomic`,
`get_connection().in_atomic_block`.

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

Lock handoff (conventions.md #14). A lock function (`members.services.member_lock`,
`tiers.services.tier_status_lock`) is a context manager: it locks the row, in the caller's
transaction or in one of its own, and yields a small frozen handle carrying the locked row and
what the caller vouches for (e.g. references new in this transaction). A service given the
handle neither locks nor reads the row again. The handle is safe by construction:
- its lifetime is the lock function's `with` block (`lock_scope`), which is nested inside the
  transaction that holds the lock, so the transaction cannot end while the handle is usable;
  a service given a handle after that block raises `LockReleased`;
- a savepoint rolled back inside that block does not release the lock: PostgreSQL releases only
  the locks taken after the savepoint, and keeps a lock taken before it even when the savepoint
  updated the row (tests/core/test_transactions.py proves both with a second connection);
- what a rolled-back savepoint (or a write through another instance) does leave wrong is the
  handle's copy of the row in memory. The services write that copy back with a guarded UPDATE
  (`WHERE` the values they read still hold) in the statement they issue anyway, and raise
  `StaleLock` when it matches no row: inside `writes()`, the whole transaction rolls back, so a
  stale handle can fail a request but never commit a wrong balance or counter."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import transaction


class LockReleased(RuntimeError):
    """A lock handle used after the `with` block of the lock function that returned it."""


class StaleLock(RuntimeError):
    """A lock handle whose copy of the row no longer matches the row (a savepoint rolled back
    the writes made through it, or the row was written through another instance)."""


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


class LockScope:
    """Whether the lock function's `with` block that issued a handle is still running."""

    __slots__ = ("_open",)

    def __init__(self) -> None:
        self._open = True

    @property
    def open(self) -> bool:
        return self._open

    def close(self) -> None:
        self._open = False

    def require_open(self) -> None:
        if not self._open:
            raise LockReleased("the lock handle was used after the with block of its lock function")


@contextlib.contextmanager
def lock_scope(using: str | None = None) -> Iterator[LockScope]:
    """The transaction a lock function locks in (the caller's, without a savepoint, or a new
    one) and the scope its handle lives in, closed when the block ends however it ends."""
    with service_transaction(using):
        scope = LockScope()
        try:
            yield scope
        finally:
            scope.close()
