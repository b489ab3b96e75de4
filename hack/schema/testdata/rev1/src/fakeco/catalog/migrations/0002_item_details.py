import fakeco.fields
from django.db import migrations, models


def fill_prices(apps, schema_editor):
    apps.get_model("catalog", "Item").objects.filter(price=None).update(price=0)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="item",
            name="description",
            field=fakeco.fields.SealedTextField(null=True),
        ),
        migrations.AddField(
            model_name="item",
            name="payload",
            field=fakeco.fields.PayloadField(default=dict),
        ),
        migrations.RemoveField(model_name="vendor", name="rank"),
        migrations.RunPython(fill_prices, migrations.RunPython.noop),
        migrations.AlterField(model_name="item", name="price", field=models.IntegerField(default=0)),
        migrations.AlterField(model_name="item", name="sku", field=models.CharField(max_length=64, null=True)),
        migrations.RenameField(model_name="vendor", old_name="created", new_name="created_at"),
    ]
