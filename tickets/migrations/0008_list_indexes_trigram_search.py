"""Indexes for the lists, queues and search at 100,000 tickets (docs/performance.md).

On PostgreSQL every index is built CONCURRENTLY, so filing and transitions go on while a large
table is indexed (hence `atomic = False`), and the search gets pg_trgm and a GIN trigram index on
UPPER(address), the expression `address__icontains` compares. Elsewhere (SQLite for `make run`)
the B-tree indexes are built plainly and the extension and the GIN index are skipped: the search
scans, which a local database's size allows.

pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it. Where the
application's role may not, a superuser runs `CREATE EXTENSION pg_trgm;` once beforehand.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, TrigramExtension
from django.db import migrations, models

OPEN = ['awaiting_confirmation', 'new', 'triage', 'with_state_it', 'with_vendor']

# Not in AffectedAddress.Meta: a GinIndex there needs django.contrib.postgres in INSTALLED_APPS
# (also for OpClass to render) and cannot be built on SQLite. The model's state does not know
# it, so no later autodetected migration touches it. UPPER(address), the left-hand side of
# `address__icontains` on PostgreSQL, so the planner matches the lookup to the index.
ADDRESS_SEARCH_ADD = (
    'CREATE INDEX CONCURRENTLY IF NOT EXISTS "address_search_trgm" '
    'ON "tickets_affectedaddress" USING gin (UPPER("address") gin_trgm_ops)'
)
ADDRESS_SEARCH_REMOVE = 'DROP INDEX CONCURRENTLY IF EXISTS "address_search_trgm"'


class AddIndexOnline(AddIndexConcurrently):
    """AddIndex, built CONCURRENTLY on PostgreSQL and plainly on other databases."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == 'postgresql':
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_forwards(
                self, app_label, schema_editor, from_state, to_state
            )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == 'postgresql':
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_backwards(
                self, app_label, schema_editor, from_state, to_state
            )


def address_search_add(apps, schema_editor):
    if schema_editor.connection.vendor != 'postgresql':
        return
    schema_editor.execute(ADDRESS_SEARCH_ADD)
    # Statistics of the new expression now, not at the next auto-analyze (which a table this
    # size may not see for weeks): without them the planner takes every search to be rare and
    # sorts all of a common domain's tickets instead of reading the newest until a page is full.
    schema_editor.execute('ANALYZE "tickets_affectedaddress"')


def address_search_remove(apps, schema_editor):
    if schema_editor.connection.vendor != 'postgresql':
        return
    schema_editor.execute(ADDRESS_SEARCH_REMOVE)


class Migration(migrations.Migration):

    atomic = False  # CREATE INDEX CONCURRENTLY refuses to run in a transaction

    dependencies = [
        ('tickets', '0007_filing_token_run_heartbeat'),
    ]

    operations = [
        AddIndexOnline(
            model_name='ticket',
            index=models.Index(fields=['created_at', 'id'], name='ticket_list_idx'),
        ),
        AddIndexOnline(
            model_name='ticket',
            index=models.Index(fields=['state', 'created_at', 'id'], name='ticket_state_list_idx'),
        ),
        AddIndexOnline(
            model_name='ticket',
            index=models.Index(fields=['status', 'created_at', 'id'], name='ticket_status_list_idx'),
        ),
        AddIndexOnline(
            model_name='ticket',
            index=models.Index(condition=models.Q(('status__in', OPEN)), fields=['status_changed_at', 'id'], name='ticket_open_wait_idx'),
        ),
        AddIndexOnline(
            model_name='ticket',
            index=models.Index(condition=models.Q(('status__in', OPEN)), fields=['state', 'status_changed_at', 'id'], name='ticket_state_open_wait_idx'),
        ),
        # A no-op on other databases.
        TrigramExtension(),
        migrations.RunPython(address_search_add, address_search_remove, elidable=False),
    ]
