from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE ledger_entry MODIFY amount bigint NOT NULL",
            "ALTER TABLE ledger_entry MODIFY amount int NOT NULL",
        ),
    ]
