import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
        ("catalog", "0002_item_details"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="item",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, to="catalog.item"),
        ),
        migrations.AddField(model_name="order", name="total", field=models.IntegerField(null=True)),
        migrations.RenameField(model_name="order", old_name="note", new_name="comment"),
        migrations.AlterUniqueTogether(name="order", unique_together={("vendor", "item")}),
    ]
