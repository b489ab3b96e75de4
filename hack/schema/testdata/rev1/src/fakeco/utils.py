from typing import Type

from django.db import models


def make_payload_field(name) -> Type[models.JSONField]:
    return type(name, (models.JSONField,), {})
