"""The roles' data migration moved from pos to backoffice without breaking history: a database
that applied pos.0001_roles gets backoffice.0001_roles next, which brings the groups to what
ROLES says (a fresh database is covered by every test: the test database is migrated)."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from backoffice.roles import MARKETING, ROLES, STORE_MANAGER


def _migrate(target):
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    return MigrationExecutor(connection).loader.applied_migrations


@pytest.fixture
def migrated_back_to_the_latest():
    """The test leaves backoffice at 0001: migrate every app forward again afterwards, or the
    tests run after it on the same database would find backoffice's later tables missing."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("migrated_back_to_the_latest")
def test_a_database_that_applied_the_pos_roles_migration_is_synced_by_the_backoffice_one():
    # Given a database as the previous release left it: pos.0001_roles applied, no backoffice
    # migration, and a role whose permissions drifted.
    applied = _migrate([("backoffice", None)])
    assert ("pos", "0001_roles") in applied and ("backoffice", "0001_roles") not in applied
    assert not Group.objects.filter(name__in=list(ROLES)).exists()  # its reverse removes the roles
    stale = Group.objects.create(name=MARKETING)
    stale.permissions.set(Permission.objects.filter(codename__in=["delete_member", "add_terminal"]))

    # When it is migrated with this release
    applied = _migrate([("backoffice", "0001_roles")])

    # Then the roles are exactly what ROLES says, and the pos migration was not run again.
    assert ("backoffice", "0001_roles") in applied
    marketing = Group.objects.get(name=MARKETING)
    codenames = set(marketing.permissions.values_list("codename", flat=True))
    assert not codenames & {"delete_member", "add_terminal"}
    assert {"change_tier", "add_reward", "view_member", "resend_message"} <= codenames
    assert Group.objects.get(name=STORE_MANAGER).permissions.filter(codename="adjust_points").exists()
