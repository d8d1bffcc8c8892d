from django.db import migrations, models

import ringtrail.accounts.models


def fill_public_keys(apps, schema_editor):  # type: ignore[no-untyped-def]
    Account = apps.get_model("accounts", "Account")
    for account in Account.objects.filter(public_key__isnull=True):
        account.public_key = ringtrail.accounts.models.new_public_key()
        account.save(update_fields=["public_key"])


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [
        migrations.AddField("account", "public_key", models.CharField(max_length=40, null=True)),
        migrations.RunPython(fill_public_keys, migrations.RunPython.noop),
        migrations.AlterField(
            "account",
            "public_key",
            models.CharField(default=ringtrail.accounts.models.new_public_key, max_length=40, unique=True),
        ),
        migrations.AddField("account", "allowed_origins", models.TextField(blank=True)),
        migrations.AddField("account", "cookie_window_days", models.PositiveSmallIntegerField(default=30)),
    ]
