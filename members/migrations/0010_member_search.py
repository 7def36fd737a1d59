"""Search the way staff search (issue 18, members/search.py): the folded name column, filled for
the members already enrolled, and on PostgreSQL the indexes that serve each kind of search: a
trigram index (pg_trgm, GIN) on the folded name for `LIKE '%...%'`, a prefix index on the phone
(`0912 345...`) and one on the reversed phone for its last digits. SQLite (tests, development)
gets the column only and scans, the plain fallback.

On PostgreSQL the existing names are folded in one UPDATE with `unaccent` (the same result as
`members.search.name_fold` for Vietnamese: tests/members/test_search.py compares them). Both
extensions are trusted since PostgreSQL 13: the database's owner may create them."""

from django.contrib.postgres.operations import TrigramExtension, UnaccentExtension
from django.db import migrations, models

# The start of a phone is served by the `varchar_pattern_ops` index Django keeps on every unique
# CharField (`members_member_phone_..._like`).
INDEXES = [
    ("members_member_name_trgm", "USING gin (name_folded gin_trgm_ops)"),
    ("members_member_phone_suffix", "(reverse(phone) text_pattern_ops)"),
    ("members_member_email", "(email) WHERE email <> ''"),
]


def fold_and_index(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        # The indexes first, then the UPDATE: an index built over the rows an UPDATE of the same
        # transaction just rewrote is unusable (pg_index.indcheckxmin) until every transaction
        # older than this one has ended, on the whole server; built first, it is usable at once.
        for name, definition in INDEXES:
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON members_member {definition}")
        schema_editor.execute(
            "UPDATE members_member SET name_folded = btrim(regexp_replace(lower(unaccent(name)), '\\s+', ' ', 'g'))"
        )
        schema_editor.execute("ANALYZE members_member")  # statistics for the new column and expressions
        return
    from members.search import name_fold

    Member = apps.get_model("members", "Member")
    for pk, name in Member.objects.values_list("pk", "name").iterator():
        Member.objects.filter(pk=pk).update(name_folded=name_fold(name))


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, _definition in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0009_settings_history_redeem_limits"),
    ]

    operations = [
        TrigramExtension(),
        UnaccentExtension(),
        migrations.AddField(
            model_name="member",
            name="name_folded",
            field=models.CharField(blank=True, editable=False, max_length=200, verbose_name="name without accents"),
        ),
        migrations.RunPython(fold_and_index, drop_indexes),
    ]
