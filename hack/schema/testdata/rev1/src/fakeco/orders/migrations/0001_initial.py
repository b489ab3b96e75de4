import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("catalog", "__first__"),
    ]

    operations = [
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("note", models.TextField(default="")),
                ("vendor", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, to="catalog.vendor")),
            ],
        ),
    ]
