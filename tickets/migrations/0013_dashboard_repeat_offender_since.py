from django.db import migrations, models
from django.db.models import Min


def backfill_since(apps, schema_editor):
    """Domains marked before the date was kept: the first recurrence seen on one of its addresses."""
    MailDomain = apps.get_model("tickets", "MailDomain")
    AffectedAddress = apps.get_model("tickets", "AffectedAddress")
    for domain in MailDomain.objects.filter(repeat_offender=True, repeat_offender_since=None):
        first = AffectedAddress.objects.filter(
            domain=domain.domain, recurred_at__isnull=False
        ).aggregate(first=Min("recurred_at"))["first"]
        if first is not None:
            MailDomain.objects.filter(pk=domain.pk).update(repeat_offender_since=first)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0012_desk_ownership_notes_lists_admin"),
    ]

    operations = [
        migrations.AddField(
            model_name="maildomain",
            name="repeat_offender_since",
            field=models.DateTimeField(
                blank=True, help_text="When the recurrence watch first marked it.", null=True
            ),
        ),
        migrations.RunPython(backfill_since, migrations.RunPython.noop),
    ]
